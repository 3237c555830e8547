"""Per-item DEBUG lines are built only when the log shows DEBUG (each cost the reactor thread)."""

from __future__ import annotations

import logging

from scrapy import Request, Spider
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from newsmirror.report import PageUnchanged
from newsmirror.scrapy_parts.logformatter import QuietDropLogFormatter


def entries(level: str) -> list[object]:
    crawler = get_crawler(Spider, settings_dict={"LOG_LEVEL": level})
    formatter = QuietDropLogFormatter.from_crawler(crawler)
    request = Request("https://www.example.com/a")
    response = HtmlResponse(request.url, body=b"<p>x</p>", request=request)
    item = {"url": request.url}
    spider = crawler._create_spider("x")
    return [formatter.crawled(request, response, spider), formatter.scraped(item, response, spider),
            formatter.dropped(item, PageUnchanged("u", "p"), response, spider)]


def test_no_per_item_entries_below_debug():
    assert entries("INFO") == [None, None, None]
    assert entries("WARNING") == [None, None, None]


def test_debug_keeps_scrapys_entries_and_drops_at_debug():
    crawled, scraped, dropped = entries("DEBUG")
    assert crawled["msg"].startswith("Crawled") and scraped["msg"].startswith("Scraped")
    assert dropped["level"] == logging.DEBUG
