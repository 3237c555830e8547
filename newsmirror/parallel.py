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

import gc
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from . import extraction, headstart
from .extraction import ExtractFailed, extract_chunk, fork_workers
from .headstart import HeadStart
from .items import Article, Page
from .report import PageFailed

IN_FLIGHT_PER_JOB = 2  # chunks queued per worker: enough to hide the hand-over, little memory


def page_failed(error: BaseException | None) -> BaseException | None:
    """A worker's :class:`ExtractFailed` as the run's :class:`PageFailed` (a Scrapy DropItem,
    which the workers do not import); any other error as it is."""
    if isinstance(error, ExtractFailed):
        failed = PageFailed(str(error), blame=error.blame)
        failed.__cause__ = error.__cause__
        return failed
    return error


def extract_article(page: Page, label: str | None, fingerprint: str | None = None) -> Article:
    """:func:`extraction.extract_article` in this process (one job): a refusal is a PageFailed."""
    try:
        return extraction.extract_article(page, label, fingerprint)
    except ExtractFailed as exc:
        raise page_failed(exc) from exc.__cause__


def clean_article(article: Article) -> Article:
    """:func:`extraction.clean_article` in this process (the clean pipeline)."""
    try:
        return extraction.clean_article(article)
    except ExtractFailed as exc:
        raise page_failed(exc) from exc.__cause__


Done = Callable[[Article | None, BaseException | None], None]


class ExtractPool:
    """A process pool whose results are delivered in submission order on the caller's thread.

    ``deliver`` hands a call to the owner's thread (under Scrapy, the reactor's
    ``callFromThread``) and ``call_later(seconds, f)`` schedules one there (``callLater``).
    Each submitted page gets ``on_done(article, error)`` called exactly once, in submission order.

    Pages travel in chunks of up to ``CHUNK`` (or what ``CHUNK_WAIT`` collects): one hand-over
    to the executor per page cost ~1 ms of the main process (a wake-up write and the GIL passing
    between its threads), as much as the rest of its work on the page.  The wait only runs while
    a worker would otherwise wait (fewer chunks out than workers, plus one queued): with every
    worker busy a chunk goes when it is full, so a reprocess, which has its pages at once, sends
    chunks of ~8, not the ~4 pages a 2 ms wait collected between two handed-back chunks.
    Pages that name a bare file (no bytes: the worker reads it) go ``CHUNK_FILES`` at a time:
    each chunk costs the main process ~1 ms however small, and 16 such pages hold no memory.

    At its first page the pool adopts a reprocess's :mod:`~newsmirror.headstart` (workers
    forked before Scrapy was imported, the first files sent to them) if it was made for this
    pool's options; a page sent ahead as it is then takes its early result, in its place in the
    submission order.
    """

    CHUNK = 8
    CHUNK_FILES = 16  # pages naming a bare file carry no bytes: a bigger chunk costs no memory
    CHUNK_WAIT = 0.002

    def __init__(self, jobs: int, label: str | None, deliver: Callable[..., Any],
                 call_later: Callable[..., Any], body_format: str | None = None,
                 fingerprint: str | None = None) -> None:
        self.jobs = jobs
        self.label = label
        self.fingerprint = fingerprint  # keys the bare files the workers read (newsmirror.inputs)
        self.body_format = body_format  # the workers render the post too (writer.post_bytes)
        self.deliver = deliver
        self.call_later = call_later
        self._executor: ProcessPoolExecutor | None = None
        self._queued: list[tuple[Page, Done]] = []  # not yet sent
        self._pending: deque[tuple[Future[list[Any]], list[Done]]] = deque()
        self._pending_pages = 0
        self._timer: Any = None
        self._waiting_room: list[Callable[[], None]] = []
        self._waiting_empty: list[Callable[[], None]] = []
        self._chunk = self.CHUNK  # CHUNK_FILES while the pages are bare files (no bytes)
        self.limit = max(2, jobs * IN_FLIGHT_PER_JOB) * self.CHUNK
        self._head: HeadStart | None = None  # workers forked and files sent before Scrapy started
        self._adopted = False
        self.taken_early = 0  # pages whose result the head start made (a Scrapy stat, see pipelines)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:  # lazily: a run that sees no page starts no process
            # fork_workers freezes what is alive now (Scrapy, Twisted, lxml, the crawler: ~50 000
            # objects; commands.entry_point froze the imports, this adds the crawler's set-up)
            # (in a crawl the pool starts at the first page: reference cycles alive then are
            # never collected, once per pool)
            self._executor = fork_workers(self.jobs)
        return self._executor

    @property
    def in_flight(self) -> int:
        return len(self._queued) + self._pending_pages

    def submit(self, page: Page, on_done: Done) -> None:
        if not self._adopted:  # the first page: the head start's workers are ours, if its terms are
            self._adopted = True
            self._head = headstart.adopt(
                headstart.Terms(self.jobs, self.label, self.body_format, self.fingerprint)
            )
            if self._head is not None:  # its workers are this pool's
                gc.freeze()  # what fork_workers freezes in _pool() (Scrapy, the crawler), likewise
                self._executor = self._head.executor
        early = self._head.take(page) if self._head is not None else None
        if early is not None:  # extracted while Scrapy started
            self.taken_early += 1
            self._send()  # what was queued before it goes first: results keep submission order
            self._pending.append((early, [on_done]))
            self._pending_pages += 1
            early.add_done_callback(lambda _f: self.deliver(self._drain))
            return
        if self._head is not None and not self._head.lists(page):
            self._head.forget()  # the spider is past the files sent ahead: their results go
            self._head = None
        self._queued.append((page, on_done))
        chunk = self.CHUNK_FILES if page.unread_file else self.CHUNK
        if chunk != self._chunk:
            self._chunk = chunk
            self.limit = max(2, self.jobs * IN_FLIGHT_PER_JOB) * chunk
        if len(self._queued) >= chunk:
            self._send()
        else:
            self._wait_if_a_worker_waits()

    def _wait_if_a_worker_waits(self) -> None:
        if self._timer is None and self._queued and self._a_worker_waits():
            self._timer = self.call_later(self.CHUNK_WAIT, self._send)

    def _a_worker_waits(self) -> bool:
        """Fewer chunks are sent and not finished than there are workers, plus one queued for
        the first worker that finishes (it then starts at once, without a round trip here)."""
        return sum(1 for future, _ in self._pending if not future.done()) <= self.jobs

    def _send(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if not self._queued:
            return
        chunk, self._queued = self._queued, []
        try:
            pages = [page for page, _ in chunk]
            future = self._pool().submit(extract_chunk, pages, self.label, self.body_format, self.fingerprint)
        except Exception as exc:  # noqa: BLE001 - a broken pool: every page of the chunk fails
            future = Future()
            future.set_exception(exc)
        self._pending.append((future, [done for _, done in chunk]))
        self._pending_pages += len(chunk)
        future.add_done_callback(lambda _f: self.deliver(self._drain))

    def _drain(self) -> None:
        """On the owner's thread: hand back every finished result at the head of the queue."""
        while self._pending and self._pending[0][0].done():
            future, callbacks = self._pending.popleft()
            self._pending_pages -= len(callbacks)
            if future.cancelled():  # the run was stopped with the chunk still queued
                error: BaseException | None = PageFailed("not extracted: the run was stopped")
            else:
                error = future.exception()
            results = [(None, error)] * len(callbacks) if error else future.result()
            for on_done, (article, failure) in zip(callbacks, results, strict=True):
                on_done(article, page_failed(failure))
        self._wait_if_a_worker_waits()  # a chunk came back: a worker may be free
        while self._waiting_room and self.in_flight < self.limit:
            self._waiting_room.pop(0)()
        while self._waiting_empty and not self.in_flight:
            self._waiting_empty.pop(0)()

    def when_room(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the owner's thread) once fewer than ``limit`` pages are in flight."""
        if self.in_flight < self.limit:
            callback()
        else:
            self._waiting_room.append(callback)

    def when_empty(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the owner's thread) once every page sent has been handed back."""
        if not self.in_flight:
            callback()
        else:
            self._send()
            self._waiting_empty.append(callback)

    def close(self) -> None:
        self._send()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._drain()
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
    from scrapy.utils.asyncio import is_asyncio_available
    from scrapy.utils.defer import maybe_deferred_to_future
    from twisted.internet.defer import Deferred

    if is_asyncio_available():  # an asyncio future, awaited as it is (no Deferred to adapt)
        import asyncio

        future = asyncio.get_running_loop().create_future()
        when(lambda: future.set_result(None) if not future.done() else None)
        await future
        return

    waiting: Deferred[None] = Deferred()
    when(lambda: waiting.callback(None) if not waiting.called else None)
    await maybe_deferred_to_future(waiting)
