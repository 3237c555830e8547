"""Extraction on every core: Page bytes go to worker processes, cleaned Articles come back.

Extraction (decode, parse, site parser, clean) is pure CPU on bytes and holds the GIL for most
of its time, so threads cannot use a second core; processes can.  The pool only does that pure
step: skip, dedupe and write (all SQLite and file work) stay in the main process, one writer.

Results are handed back **in submission order** (a finished page waits for the pages sent
before it), so dedupe and write see pages in reading order, as with one process: which of two
copies of an article wins, and the order of the run report, do not depend on timing.

Pages sent are bounded (:meth:`ExtractPool.room`): a spider that yields stored pages without
asking the network (reprocess) waits for room instead of reading every file into memory.
"""

from __future__ import annotations

import os
import signal
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from .clean import clean_body, lead_figure
from .items import Article, Page
from .report import PageFailed
from .sites import NotAnArticle, extract

IN_FLIGHT_PER_JOB = 4  # pages queued per worker: enough to hide the hand-over, little memory


def default_jobs() -> int:
    """The CPUs this process may run on (not the machine's count, under a CPU affinity mask)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def extract_article(page: Page, label: str | None) -> Article:
    """Page -> Article, the extract stage: a parser's refusal is a failed page."""
    try:
        article = extract(page, default_label=label)
    except NotAnArticle as exc:
        raise PageFailed(str(exc)) from exc
    article.source = page.source
    return article


def clean_article(article: Article) -> Article:
    """The clean stage: sanitize the body and read its lead figure (once per Article)."""
    if article.cleaned:
        return article
    article.body_html = clean_body(article.body_html, article.url)
    if not article.body_html:
        raise PageFailed("article body is empty after cleaning")
    article.lead_figure = lead_figure(article.body_html)
    article.cleaned = True
    return article


def extract_and_clean(page: Page, label: str | None) -> Article:
    """What a worker process does with one page: extract, then clean (both pure CPU)."""
    return clean_article(extract_article(page, label))


def _init_worker() -> None:
    """Ctrl-C is the main process's to handle (it stops the pool); a worker whose parent died
    (kill -9) exits instead of waiting forever on the task queue."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the task queue's EOF ends the worker
        pass


class ExtractPool:
    """A process pool whose results are delivered in submission order on the caller's thread.

    ``deliver`` is how a result is handed back to the owner's thread (under Scrapy, the
    reactor's ``callFromThread``); each submitted page gets ``on_done(article, error)`` called
    exactly once, in submission order.
    """

    def __init__(self, jobs: int, label: str | None, deliver: Callable[..., Any]) -> None:
        self.jobs = jobs
        self.label = label
        self.deliver = deliver
        self._executor: ProcessPoolExecutor | None = None
        self._pending: deque[tuple[Future[Article], Callable[[Article | None, BaseException | None], None]]]
        self._pending = deque()
        self._waiting_room: list[Callable[[], None]] = []
        self._waiting_empty: list[Callable[[], None]] = []
        self.limit = max(2, jobs * IN_FLIGHT_PER_JOB)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:  # lazily: a run that sees no page starts no process
            import multiprocessing

            # fork: workers start in milliseconds with everything imported; they only parse
            context = multiprocessing.get_context("fork")
            self._executor = ProcessPoolExecutor(self.jobs, mp_context=context, initializer=_init_worker)
        return self._executor

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def submit(self, page: Page, on_done: Callable[[Article | None, BaseException | None], None]) -> None:
        future = self._pool().submit(extract_and_clean, page, self.label)
        self._pending.append((future, on_done))
        future.add_done_callback(lambda _f: self.deliver(self._drain))

    def _drain(self) -> None:
        """On the owner's thread: hand back every finished result at the head of the queue."""
        while self._pending and self._pending[0][0].done():
            future, on_done = self._pending.popleft()
            error = future.exception()
            on_done(None if error else future.result(), error)
        while self._waiting_room and self.in_flight < self.limit:
            self._waiting_room.pop(0)()
        while self._waiting_empty and not self._pending:
            self._waiting_empty.pop(0)()

    def when_room(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the owner's thread) once fewer than ``limit`` pages are in flight."""
        if self.in_flight < self.limit:
            callback()
        else:
            self._waiting_room.append(callback)

    def when_empty(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the owner's thread) once every page sent has been handed back."""
        if not self._pending:
            callback()
        else:
            self._waiting_empty.append(callback)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        for callback in [*self._waiting_room, *self._waiting_empty]:
            callback()
        self._waiting_room.clear()
        self._waiting_empty.clear()


_POOLS: weakref.WeakKeyDictionary[Any, ExtractPool] = weakref.WeakKeyDictionary()


def register(crawler: Any, pool: ExtractPool) -> None:
    _POOLS[crawler] = pool


async def room_for_pages(crawler: Any) -> None:
    """For spiders that yield pages without fetching (reprocess): wait while the crawler's
    extraction pool is full, so memory holds a few pages per core, not the whole input."""
    pool = _POOLS.get(crawler) if crawler is not None else None
    if pool is not None and pool.in_flight >= pool.limit:
        await _wait(pool.when_room)


async def pages_done(crawler: Any) -> None:
    """For the same spiders, at the end of their input: wait until the pool handed back every
    page (and a moment for the later stages to take it), so that the engine, which looks for
    an idle spider when ``start()`` ends, closes at once instead of at its next heartbeat."""
    pool = _POOLS.get(crawler) if crawler is not None else None
    if pool is None:
        return
    await _wait(pool.when_empty)
    from scrapy.utils.defer import maybe_deferred_to_future
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    for _ in range(2):
        await maybe_deferred_to_future(deferLater(reactor, 0.005, lambda: None))


async def _wait(when: Callable[[Callable[[], None]], None]) -> None:
    from scrapy.utils.defer import maybe_deferred_to_future
    from twisted.internet.defer import Deferred

    waiting: Deferred[None] = Deferred()
    when(lambda: waiting.callback(None) if not waiting.called else None)
    await maybe_deferred_to_future(waiting)
