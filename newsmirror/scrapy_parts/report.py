"""Scrapy extension feeding the crawler's run report from signals."""

from __future__ import annotations

import re
from typing import Any

from scrapy import signals

from ..health import EMPTY, PARSE
from ..items import Article, Page
from ..report import OUTCOMES, PageFailed, PageSkipped, PageUnchanged, RunReport
from ..runtime import Runtime

_TAG = re.compile(r"<[^>]*>")


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
            self.report.done(outcome, item.url, item.post_path, getattr(item, "date_source", ""))
            if isinstance(item, Article) and item.source:
                self._health(item, outcome)

    def item_dropped(self, item: Any, response: Any, exception: Exception, spider: Any) -> None:
        url = getattr(item, "origin", "") or getattr(item, "url", "?")
        source = getattr(item, "source", "")
        if isinstance(exception, PageUnchanged):
            self.report.done("unchanged", exception.url, exception.post_path)
            self.report.health.parsed(source, "unchanged")
        elif isinstance(exception, PageSkipped):
            self.report.skip(url, str(exception))
        else:
            self.report.fail(url, str(exception), source, _blame(item, exception))

    def spider_error(self, failure: Any, response: Any, spider: Any) -> None:
        self.report.fail(getattr(response, "url", "?"), f"{failure.type.__name__}: {failure.value}")

    def _health(self, item: Article, outcome: str) -> None:
        health = self.report.health
        health.parsed(item.source, outcome)
        text = _TAG.sub("", item.body_html)  # only its length matters: no parse needed
        health.fields(item.source, item.origin or item.url, item.title, item.published is not None,
                      text, item.lead_figure is not None)


def _blame(item: Any, exception: Exception) -> str:
    """Whose fault a dropped item is: the page's (parse/empty) or ours (anything with an OSError)."""
    if not isinstance(exception, PageFailed) or isinstance(exception.__cause__, OSError):
        return ""
    if isinstance(item, Page):
        return PARSE
    if isinstance(item, Article) and "empty" in str(exception):
        return EMPTY
    return ""
