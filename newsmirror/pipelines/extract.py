"""Page -> Article: pick the site parser from the page itself and read the fields.

With ``--jobs N`` (N > 1, the default on a machine with several cores) the pages go to N worker
processes (:mod:`newsmirror.parallel`), which also clean the body: extraction is pure CPU, and
processes are what uses a second core.  Results come back in submission order to the reactor
thread, where the skip, dedupe and write stages (all SQLite use) stay single-writer.

With one job, under Scrapy the parse runs in a worker thread (lxml releases the GIL while it
parses), so a 20 MB page does not freeze the event loop and time out the downloads in flight.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..extraction import default_jobs
from ..items import Article, Page
from ..parallel import ExtractPool, extract_article, register
from ..runtime import Runtime

PARSE_THREADS = 2  # the machines this runs on are small; more threads only fight over the GIL


class ExtractPipeline:
    def __init__(self, label: str | None = None, threaded: bool = False, jobs: int = 1,
                 body_format: str | None = None, fingerprint: str | None = None) -> None:
        self.label = label
        self._fingerprint = fingerprint  # keys the bare files read at extraction (newsmirror.inputs)
        self._runtime: Runtime | None = None
        self.body_format = body_format  # given: the pool's workers render the post too
        self.threaded = threaded
        self.jobs = jobs
        self._pool: Any = None
        self._processes: ExtractPool | None = None
        self._crawler: Any = None
        self._asyncio = False  # the asyncio reactor runs: results come as asyncio futures

    @classmethod
    def from_crawler(cls, crawler: Any) -> ExtractPipeline:
        threaded = crawler.settings.getbool("NEWSMIRROR_PARSE_IN_THREAD", True)
        jobs = crawler.settings.getint("NEWSMIRROR_JOBS", 0) or default_jobs()
        runtime = Runtime.of(crawler)
        pipe = cls(runtime.label, threaded=threaded, jobs=jobs, body_format=runtime.body_format)
        pipe._crawler = crawler
        pipe._runtime = runtime
        return pipe

    @property
    def fingerprint(self) -> str | None:
        """The run's code and options fingerprint, asked of the Runtime at the first page (it
        hashes newsmirror's files: ~8 ms a run that sees no page need not spend)."""
        if self._fingerprint is None and self._runtime is not None:
            self._fingerprint = self._runtime.fingerprint
        return self._fingerprint

    def open_spider(self, spider: Any = None) -> None:
        if self.jobs > 1:
            from scrapy.utils.asyncio import is_asyncio_available
            from twisted.internet import reactor

            self._asyncio = is_asyncio_available()

            self._processes = ExtractPool(
                self.jobs, self.label, reactor.callFromThread, reactor.callLater, self.body_format
            )
            if self._crawler is not None:
                register(self._crawler, self._processes)
        elif self.threaded:
            from twisted.python.threadpool import ThreadPool

            self._pool = ThreadPool(minthreads=0, maxthreads=PARSE_THREADS, name="newsmirror-parse")
            self._pool.start()

    def close_spider(self, spider: Any = None) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool = None
        if self._processes is not None:
            self._processes.close()
            early = self._processes.taken_early  # extracted while Scrapy started (headstart)
            if self._crawler is not None and early:
                self._crawler.stats.set_value("newsmirror/extracted_during_startup", early)
            self._processes = None

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, Page):
            return item
        if self._processes is not None:
            return self._in_process_pool(item)
        if self._pool is None:
            return self.parse(item)
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet import reactor
        from twisted.internet.threads import deferToThreadPool

        return maybe_deferred_to_future(deferToThreadPool(reactor, self._pool, self.parse, item))

    def _in_process_pool(self, item: Page) -> Any:
        assert self._processes is not None
        if self._processes.fingerprint is None:
            self._processes.fingerprint = self.fingerprint
        if self._asyncio:  # Scrapy awaits an asyncio future as it is: no Deferred to adapt
            future = asyncio.get_running_loop().create_future()

            def settle(article: Article | None, error: BaseException | None) -> None:
                if future.cancelled():
                    return
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(article)

            self._processes.submit(item, settle)
            return future
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet.defer import Deferred

        done: Deferred[Article] = Deferred()

        def on_done(article: Article | None, error: BaseException | None) -> None:
            if error is not None:
                done.errback(error)
            else:
                done.callback(article)

        self._processes.submit(item, on_done)
        return maybe_deferred_to_future(done)

    def parse(self, item: Page) -> Article:
        """In this process (one job); the pool's workers run the same function."""
        return extract_article(item, self.label, self.fingerprint)
