"""Keep a distributed crawl's process alive while there is shared work, up to an idle timeout.

Scrapy closes a spider as soon as its own engine is idle.  In a distributed crawl that is too
early: a worker must wait for requests other processes push, and the coordinator must wait for
the results of the requests it queued.  This extension vetoes the close (``DontCloseSpider``)
while the shared queue holds requests, leases or results (``crawler.newsmirror_shared``), and
then for ``NEWSMIRROR_IDLE_TIMEOUT`` more seconds of quiet.  ``NEWSMIRROR_IDLE_FOREVER`` (a
worker with ``--idle-timeout 0``) never lets it close: a service stops on SIGTERM.
"""

from __future__ import annotations

import time
from typing import Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider


class IdleTimeout:
    def __init__(self, crawler: Any, timeout: float, forever: bool = False) -> None:
        self.crawler = crawler
        self.timeout = timeout
        self.forever = forever
        self.idle_since: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> IdleTimeout:
        timeout = crawler.settings.getfloat("NEWSMIRROR_IDLE_TIMEOUT")
        ext = cls(crawler, timeout, crawler.settings.getbool("NEWSMIRROR_IDLE_FOREVER"))
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.busy, signal=signals.request_scheduled)
        crawler.signals.connect(ext.busy, signal=signals.response_received)
        return ext

    def busy(self, *args: Any, **kwargs: Any) -> None:
        self.idle_since = None

    def pending(self) -> bool:
        shared = getattr(self.crawler, "newsmirror_shared", None)
        return shared is not None and shared.busy()

    def spider_idle(self, spider: Any) -> None:
        if self.forever:
            raise DontCloseSpider
        if self.pending():
            self.idle_since = None
            raise DontCloseSpider
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        if now - self.idle_since < self.timeout:
            raise DontCloseSpider
