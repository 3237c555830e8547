"""Keep a distributed worker alive while the shared queue is empty, up to an idle timeout.

Scrapy closes a spider as soon as it is idle; a worker fed through Redis must instead wait for
other processes to push requests.  This extension vetoes the close (``DontCloseSpider``) until
the spider has been idle for ``NEWSMIRROR_IDLE_TIMEOUT`` seconds in a row.
"""

from __future__ import annotations

import time
from typing import Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured


class IdleTimeout:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.idle_since: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> IdleTimeout:
        timeout = crawler.settings.getfloat("NEWSMIRROR_IDLE_TIMEOUT")
        if timeout <= 0:
            raise NotConfigured
        ext = cls(timeout)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.busy, signal=signals.request_scheduled)
        crawler.signals.connect(ext.busy, signal=signals.response_received)
        return ext

    def busy(self, *args: Any, **kwargs: Any) -> None:
        self.idle_since = None

    def spider_idle(self, spider: Any) -> None:
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        if now - self.idle_since < self.timeout:
            raise DontCloseSpider
