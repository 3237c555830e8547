"""Scrapy extension feeding the crawler's run report from signals."""

from __future__ import annotations

from typing import Any

from scrapy import signals

from ..report import OUTCOMES, PageSkipped, PageUnchanged, RunReport
from ..runtime import Runtime


class ReportExtension:
    """Scrapy extension feeding the crawler's :class:`RunReport` from signals."""

    def __init__(self, report: RunReport) -> None:
        self.report = report

    @classmethod
    def from_crawler(cls, crawler: Any) -> ReportExtension:
        ext = cls(Runtime.of(crawler).report)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(ext.spider_error, signal=signals.spider_error)
        return ext

    def item_scraped(self, item: Any, response: Any, spider: Any) -> None:
        outcome = getattr(item, "outcome", "")
        if outcome in OUTCOMES:
            self.report.done(outcome, item.url, item.post_path)

    def item_dropped(self, item: Any, response: Any, exception: Exception, spider: Any) -> None:
        url = getattr(item, "origin", "") or getattr(item, "url", "?")
        if isinstance(exception, PageUnchanged):
            self.report.done("unchanged", exception.url, exception.post_path)
        elif isinstance(exception, PageSkipped):
            self.report.skip(url, str(exception))
        else:
            self.report.fail(url, str(exception))

    def spider_error(self, failure: Any, response: Any, spider: Any) -> None:
        self.report.fail(getattr(response, "url", "?"), f"{failure.type.__name__}: {failure.value}")
