"""The worker's side: hand every outcome of a leased request back to the coordinator.

An Article leaves through :class:`ResultPipeline` (scrapy-redis's item pipeline, pushing to the
result list instead of writing a post); a failure or skip leaves through
:class:`ForwardingReport`, the worker's run report, which every errback and dropped item already
reaches.  Either way the result is pushed and the request's lease acknowledged in one
transaction.  The worker keeps counts for its own summary; the coordinator's report is the one
that says what became of each article.
"""

from __future__ import annotations

from typing import Any

from scrapy import signals
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy_redis.pipelines import RedisPipeline

from ..items import Article
from ..report import PageFailed, RunReport
from .codec import article_to_data
from .connection import RedisGone
from .results import Result


def shared(crawler: Any) -> Any:
    scheduler = getattr(crawler, "newsmirror_shared", None)
    if scheduler is None:
        raise RuntimeError("the distributed parts need SCHEDULER = SharedScheduler (newsmirror.distributed)")
    return scheduler


class ResultPipeline(RedisPipeline):
    """Last stage of a worker's ITEM_PIPELINES: the cleaned Article goes to the coordinator."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.sent = 0

    @classmethod
    def from_crawler(cls, crawler: Any) -> ResultPipeline:
        return cls(crawler)

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        """The push and the ack happen in a thread; Scrapy counts the item once they are done."""
        if not isinstance(item, Article):
            return item
        origin = item.origin or item.url
        result = Result("article", origin, article=article_to_data(item))
        hub = shared(self.crawler)
        try:
            await maybe_deferred_to_future(hub.finish_in_thread(origin, result))
        except RedisGone as exc:
            hub.stop_for(exc)
            raise PageFailed(f"not handed to the coordinator: Redis {exc}") from exc
        self.sent += 1
        report = getattr(self.crawler, "newsmirror_report", None)
        if isinstance(report, ForwardingReport):
            report.sent += 1
        return item


class ForwardingReport(RunReport):
    """A worker's report: failures and skips are printed here *and* sent to the coordinator."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.crawler: Any = None
        self.sent = 0

    def attach(self, crawler: Any) -> None:
        self.crawler = crawler
        crawler.signals.connect(self._spider_error, signal=signals.spider_error)

    def fail(
        self, url: str, reason: str, final_url: str = "", post: str = "", source: str = "", kind: str = ""
    ) -> None:
        super().fail(url, reason, final_url, post, source=source, kind=kind)
        reason = " ".join(str(reason).split()) or "unknown error"
        self._forward(Result("failed", url, reason, final=final_url, source=source, blame=kind))

    def skip(
        self, url: str, reason: str, final_url: str = "", post: str = "", source: str = "", kind: str = ""
    ) -> None:
        super().skip(url, reason, final_url, post, source=source, kind=kind)
        self._forward(Result("skipped", url, reason, final=final_url, source=source, blame=kind))

    def _forward(self, result: Result) -> None:
        hub = getattr(self.crawler, "newsmirror_shared", None) if self.crawler is not None else None
        if hub is not None and hub.gone is None:
            hub._guard(lambda: hub.finish(result.url, result, result.final), None)

    def _spider_error(self, failure: Any, response: Any, spider: Any) -> None:
        """The report names a crashed callback by the response URL; the lease is the origin's."""
        request = getattr(response, "request", None)
        origin = request.cb_kwargs.get("origin") if request is not None else None
        hub = shared(self.crawler)
        if origin and origin != getattr(response, "url", None) and hub.gone is None:
            hub._guard(lambda: hub.drop_lease(origin), None)

    def summary(self) -> str:
        c = self.counts
        parts = [f"{self.sent} sent to the coordinator"]
        if c["skipped"]:
            parts.append(f"{c['skipped']} skipped")
        parts.append(f"{c['failed']} failed")
        return f"{self.command}: {', '.join(parts)} in {self.elapsed():.1f}s"
