"""Scrapy log formatter: newsmirror reports dropped and failed pages itself, one line each."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.logformatter import LogFormatter


class QuietDropLogFormatter(LogFormatter):
    """Log dropped items and pipeline errors at DEBUG; the run report already printed the reason.

    Scrapy's own "Error processing {item}" line (with its traceback) shows only at ``-vvv``, and
    the items' short ``__repr__`` keeps page bytes out of it."""

    def __init__(self, debug: bool = True) -> None:
        super().__init__()
        self.debug = debug  # the log shows DEBUG lines: else no per-item record is built at all

    @classmethod
    def from_crawler(cls, crawler: Any) -> QuietDropLogFormatter:
        level = crawler.settings.get("LOG_LEVEL", "DEBUG")
        numeric = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
        return cls(debug=not isinstance(numeric, int) or numeric <= logging.DEBUG)

    def scraped(self, item: Any, response: Any, spider: Any) -> Any:
        return super().scraped(item, response, spider) if self.debug else None

    def crawled(self, request: Any, response: Any, spider: Any) -> Any:
        return super().crawled(request, response, spider) if self.debug else None

    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Any) -> Any:
        if not self.debug:
            return None
        entry = super().dropped(item, exception, response, spider)
        entry["level"] = logging.DEBUG
        return entry

    def item_error(self, item: Any, exception: BaseException, response: Any, spider: Any) -> Any:
        entry = super().item_error(item, exception, response, spider)
        entry["level"] = logging.DEBUG
        return entry
