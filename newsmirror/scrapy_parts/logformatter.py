"""Scrapy log formatter: newsmirror reports dropped pages itself, one line each."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.logformatter import LogFormatter


class QuietDropLogFormatter(LogFormatter):
    """Log dropped items at DEBUG; the run report already printed the reason."""

    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Any) -> Any:
        entry = super().dropped(item, exception, response, spider)
        entry["level"] = logging.DEBUG
        return entry
