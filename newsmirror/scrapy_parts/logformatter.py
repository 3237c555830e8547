"""Scrapy log formatter: newsmirror reports dropped and failed pages itself, one line each."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.logformatter import LogFormatter


class QuietDropLogFormatter(LogFormatter):
    """Log dropped items and pipeline errors at DEBUG; the run report already printed the reason.

    Scrapy's own "Error processing {item}" line (with its traceback) shows only at ``-vvv``, and
    the items' short ``__repr__`` keeps page bytes out of it."""

    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Any) -> Any:
        entry = super().dropped(item, exception, response, spider)
        entry["level"] = logging.DEBUG
        return entry

    def item_error(self, item: Any, exception: BaseException, response: Any, spider: Any) -> Any:
        entry = super().item_error(item, exception, response, spider)
        entry["level"] = logging.DEBUG
        return entry
