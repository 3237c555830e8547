"""Page -> Article: pick the site parser from the page itself and read the fields.

Under Scrapy the parse runs in a worker thread (lxml releases the GIL while it parses), so a
20 MB page does not freeze the event loop and time out the downloads in flight.  Only parsing
moves: the skip, dedupe and write stages (all SQLite use) stay on the reactor thread.
"""

from __future__ import annotations

from typing import Any

from ..items import Article, Page
from ..report import PageFailed
from ..runtime import Runtime
from ..sites import NotAnArticle, extract

PARSE_THREADS = 2  # the machines this runs on are small; more threads only fight over the GIL


class ExtractPipeline:
    def __init__(self, label: str | None = None, threaded: bool = False) -> None:
        self.label = label
        self.threaded = threaded
        self._pool: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> ExtractPipeline:
        threaded = crawler.settings.getbool("NEWSMIRROR_PARSE_IN_THREAD", True)
        return cls(Runtime.of(crawler).label, threaded=threaded)

    def open_spider(self, spider: Any = None) -> None:
        if self.threaded:
            from twisted.python.threadpool import ThreadPool

            self._pool = ThreadPool(minthreads=0, maxthreads=PARSE_THREADS, name="newsmirror-parse")
            self._pool.start()

    def close_spider(self, spider: Any = None) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool = None

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, Page):
            return item
        if self._pool is None:
            return self.parse(item)
        from twisted.internet import reactor
        from twisted.internet.threads import deferToThreadPool

        return deferToThreadPool(reactor, self._pool, self.parse, item)

    def parse(self, item: Page) -> Article:
        try:
            return extract(item, default_label=self.label)
        except NotAnArticle as exc:
            raise PageFailed(str(exc)) from exc
