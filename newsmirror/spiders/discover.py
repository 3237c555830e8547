"""Scheduled crawls: read sitemaps, feeds and list pages; fetch only new or updated articles.

Discovery documents are fetched on every run (``dont_filter``); an article page is fetched only
when the seen-store does not know its (site, article id) yet, or when the feed/sitemap announces
a modification newer than the one already mirrored.  Everything else -- scheduling, robots.txt,
AutoThrottle, retries, JOBDIR, the HTTP cache -- is Scrapy's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from ..dates import parse_datetime, to_ms
from ..discovery import (
    DiscoveryError,
    Entry,
    filter_since,
    parse_feed,
    parse_list_page,
    parse_since,
    parse_sitemap,
)
from ..runtime import Runtime
from ..sites import key_from_url
from ..sources import Source, load_sources
from .base import ROBOTS_REFUSAL, NewsSpider, describe_failure

KINDS = {"sitemap": parse_sitemap, "feed": parse_feed, "list": parse_list_page}


class DiscoverSpider(NewsSpider):
    name = "discover"

    def __init__(
        self,
        sources: Iterable[Source] | str | None = None,
        since: datetime | str | None = None,
        worker: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # `scrapy crawl discover [-a sources=FILE] [-a since=2h]` passes strings (or nothing)
        self.sources = load_sources(sources) if sources is None or isinstance(sources, str) else list(sources)
        self.since = parse_since(since, datetime.now(timezone.utc)) if isinstance(since, str) else since
        self.worker = worker  # a distributed worker only takes requests from the shared queue
        self.announced: set[str] = set()  # article URLs seen in any source this run
        self.decided: set[str] = set()  # ... of which fetched or found already mirrored
        self.pending_skips: dict[str, str] = {}  # url -> reason, reported at the end unless fetched

    async def start(self) -> AsyncIterator[Any]:
        if self.worker:
            return
        for source in self.sources:
            for kind, urls in (
                ("sitemap", source.sitemaps),
                ("feed", source.feeds),
                ("list", source.list_pages),
            ):
                for url in urls:
                    yield self.discovery_request(url, kind, source)

    def discovery_request(self, url: str, kind: str, source: Source) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_discovery,
            errback=self.request_failed,
            dont_filter=True,
            cb_kwargs={"origin": url, "kind": kind, "source": source.name},
            priority=10,
        )

    def source(self, name: str) -> Source:
        return next(s for s in self.sources if s.name == name)

    def parse_discovery(self, response: Response, origin: str, kind: str, source: str) -> Any:
        src = self.source(source)
        try:
            if kind == "sitemap":
                entries, children = parse_sitemap(response.body, response.url)
                for child in children:
                    yield self.discovery_request(child, "sitemap", src)
            else:
                entries = KINDS[kind](response.body, response.url)
        except DiscoveryError as exc:
            self.report_failure(origin, f"not a {kind}: {exc}")
            return
        for entry in entries:
            request = self.consider(entry, src)
            if request is not None:
                yield request

    def consider(self, entry: Entry, source: Source) -> scrapy.Request | None:
        """Decide whether an announced article needs fetching."""
        report = Runtime.of(self.crawler).report
        if entry.url in self.decided:  # listed by several sources: fetched (or known) once
            return None
        if entry.url not in self.announced:
            self.announced.add(entry.url)
            report.discovered += 1
        if not _allowed(entry.url, source.allow_domains):
            self._skip_once(entry.url, f"outside allow_domains of source {source.name!r}")
            return None
        if self.since and not filter_since([entry], self.since):
            self._skip_once(entry.url, "older than --since")
            return None
        self.decided.add(entry.url)
        runtime = Runtime.of(self.crawler)
        key = key_from_url(source.parser, entry.url)
        record = runtime.store.get(*key) if key else None
        refetch = False
        if record is not None:
            known = parse_datetime(record.modified or record.published)
            newer = bool(entry.modified and known and to_ms(entry.modified) > known)
            if not newer and (runtime.output / record.post_path).is_file():
                report.done("unchanged", entry.url, record.post_path)
                return None
            refetch = True  # the source announces a newer version, or the post file is gone
        return scrapy.Request(
            entry.url,
            callback=self.parse_article,
            errback=self.request_failed,
            dont_filter=refetch,
            cb_kwargs={
                "origin": entry.url,
                "label": self.label or source.label,  # a distributed worker uses the crawl's label
                "hint": entry.modified.isoformat() if entry.modified else None,
            },
        )

    def _skip_once(self, url: str, reason: str) -> None:
        # another source may still announce the article in a way that gets it fetched, and the
        # order in which sources answer must not change the report: decide at the end
        self.pending_skips.setdefault(url, reason)

    def closed(self, reason: str) -> None:
        for url, why in self.pending_skips.items():
            if url not in self.decided:
                self.report_skip(url, why)

    def request_failed(self, failure: Any) -> None:
        """A scheduled crawl counts robots.txt refusals as skipped, not failed: the site said no."""
        if describe_failure(failure) == ROBOTS_REFUSAL:
            request = failure.request
            self.report_skip(request.cb_kwargs.get("origin", request.url), ROBOTS_REFUSAL)
        else:
            super().request_failed(failure)

    def parse_article(self, response: Response, origin: str, label: str, hint: str | None) -> Any:
        page = self.page_from(response, origin, hint_modified=parse_datetime(hint))
        if page is not None:
            page.label = self.label or label
            yield page


def _allowed(url: str, domains: tuple[str, ...]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return not domains or any(host == d or host.endswith("." + d) for d in domains)
