"""A reprocess's first files are extracted while Scrapy starts, on the core that would be idle.

``newsmirror reprocess`` spends its first ~0.25 s on one core: importing Scrapy and Twisted and
starting the engine.  The extraction workers need none of that (:mod:`newsmirror.extraction`
imports neither), so the command forks them first, before it imports Scrapy, and sends them
the first files of its input, listed as the spider will list them.  When the run's
:class:`~newsmirror.parallel.ExtractPool` starts, it adopts the workers and what they made: a
page the spider hands it that *equals* one sent ahead (same file, URL, label, times... built by
the same :func:`~newsmirror.inputs.page_of`) takes that result instead of a second extraction,
if the file still has the stat signature it had when it was sent (device, inode, size, mtime
and ctime: any write since, even one that puts the mtime back, changes the ctime).

Nothing here decides anything.  Every page still goes through the skip stage first, and a page
it drops leaves its early result unused.  The early results are used only if everything a
worker's result depends on besides the page is the pool's too (:class:`Terms`: jobs, label,
body format, the code-and-options fingerprint), else they are all dropped, unseen.  What a
worker recorded of a file (its keys) is what it read, as always (:mod:`newsmirror.inputs`).
Files the seen-store already knows by their stat are not sent ahead, so an unchanged re-run
forks and extracts nothing early.
"""

from __future__ import annotations

import argparse
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .extraction import default_jobs, extract_chunk, fork_workers
from .inputs import file_signature, page_of, run_fingerprint, stat_keys
from .items import Page
from .state import default_state_path, known_inputs
from .stores import StoreError, iter_stored_pages

AHEAD = 256  # files sent ahead at most: start-up is ~0.25 s, one worker extracts ~100-150 in it
CHUNK = 8  # files per task (~13 ms): the last one sent ends soon after the run takes over


@dataclass(frozen=True)
class Terms:
    """What a worker's result depends on besides the page: its extraction options."""

    jobs: int
    label: str | None
    body_format: str | None
    fingerprint: str | None


class HeadStart:
    """Workers forked early, and the first files sent to them, one chunk at a time: one worker
    busy, the other core left to the main process's start-up (with both workers busy, three
    processes share two cores, and the start-up took twice as long)."""

    def __init__(self, terms: Terms, pages: list[Page], signatures: dict[str, bytes],
                 log_level: str | None = None) -> None:
        self.terms = terms
        self._chunks = [pages[start:start + CHUNK] for start in range(0, len(pages), CHUNK)]
        self._ahead = {page.file: (page, number, index)
                       for number, chunk in enumerate(self._chunks) for index, page in enumerate(chunk)}
        self._signatures = signatures  # file -> its stat signature when it was listed
        self._tasks: list[Future[list[Any]]] = []  # one per chunk sent, in order
        self._lock = threading.Lock()
        self._stopped = False
        self.executor = fork_workers(terms.jobs, log_level)  # no other thread runs yet: a clean fork
        self._send_next()

    def _send_next(self, _done: Future[list[Any]] | None = None) -> None:
        """Send the next chunk (the executor's thread calls this when one is done)."""
        with self._lock:
            if self._stopped or len(self._tasks) == len(self._chunks):
                return
            try:
                task = self.executor.submit(
                    extract_chunk, self._chunks[len(self._tasks)], self.terms.label,
                    self.terms.body_format, self.terms.fingerprint,
                )
            except RuntimeError:  # shut down or broken meanwhile
                self._stopped = True
                return
            self._tasks.append(task)
        task.add_done_callback(self._send_next)

    def stop(self) -> None:
        """Send no more: the run's pool takes over (what is sent stays to be taken)."""
        with self._lock:
            self._stopped = True

    @property
    def broken(self) -> bool:
        """A worker died (killed, out of memory): the executor can run nothing more."""
        return bool(getattr(self.executor, "_broken", False))

    def __len__(self) -> int:
        """Files sent ahead and not taken yet."""
        with self._lock:
            sent = len(self._tasks)
            return sum(1 for _, number, _ in self._ahead.values() if number < sent)

    def take(self, page: Page) -> Future[list[Any]] | None:
        """The early result for ``page`` as a future of ``[(article, error)]`` (what
        :func:`extract_chunk` gives for a chunk of one), if exactly this page was sent ahead
        and its file has not changed since."""
        if not page.unread_file:
            return None
        with self._lock:
            entry = self._ahead.pop(page.file, None)
            task = self._tasks[entry[1]] if entry is not None and entry[1] < len(self._tasks) else None
        if entry is None or task is None or entry[0] != page:
            return None
        if file_signature(page.file) != self._signatures.get(page.file):
            return None  # written (or gone) since it was listed: the result may be of other bytes
        index = entry[2]
        one: Future[list[Any]] = Future()

        def settle(done: Future[list[Any]]) -> None:
            if done.cancelled():  # the run stopped before the task began
                one.cancel()
            elif (error := done.exception()) is not None:  # a broken pool
                one.set_exception(error)
            else:
                one.set_result([done.result()[index]])

        task.add_done_callback(settle)
        return one

    def forget(self) -> None:
        """Drop what was not taken (the spider is past the files sent ahead): no result of
        them is held for the rest of the run."""
        with self._lock:
            self._ahead.clear()
            self._tasks = [task for task in self._tasks if not task.done()]  # running: let them end
            self._chunks = []

    def lists(self, page: Page) -> bool:
        """Whether the head start listed ``page``'s file (sent ahead or known to the store)."""
        return page.file in self._signatures

    def close(self) -> None:
        """Stop the workers: what was sent ahead and not begun is dropped."""
        self.stop()
        self.executor.shutdown(wait=False, cancel_futures=True)


_current: HeadStart | None = None


def begin(args: argparse.Namespace, log_level: str | None = None) -> HeadStart | None:
    """For ``newsmirror reprocess`` (its parsed arguments): fork the workers and send them the
    first bare files, if the run will use a pool and any file is new to the seen-store.  Call
    before anything imports Scrapy; a run that sets Scrapy options (``-s``) gets none.
    ``log_level`` is the run's (the workers log as Scrapy's root handler will)."""
    global _current
    if _current is not None or args.set:
        return _current
    jobs = args.jobs or default_jobs()
    if jobs < 2:
        return None
    try:
        _current = _begin(args, jobs, log_level)
    except Exception:  # noqa: BLE001 - only ever a head start: the run itself meets and says it
        _current = None
    return _current


def _begin(args: argparse.Namespace, jobs: int, log_level: str | None) -> HeadStart | None:
    label = args.label or None  # the Runtime's label (the pool's); the spider's Pages get args.label
    pages = first_files(args.paths, args.label, AHEAD)
    if not pages:
        return None
    fingerprint = run_fingerprint(label, args.filename, args.body, args.download_images)
    signatures = {page.file: file_signature(page.file) for page in pages}
    keys = {page.file: stat_keys(fingerprint, page, signatures[page.file]) for page in pages}
    state = Path(args.state) if args.state else default_state_path(Path(args.output))
    known = known_inputs(state, [key for pair in keys.values() for key in pair if key])
    new = [page for page in pages if signatures[page.file] and known.isdisjoint(keys[page.file])]
    if not new:
        return None
    return HeadStart(Terms(jobs, label, args.body, fingerprint), new, signatures, log_level)


def first_files(paths: list[str], label: str | None, limit: int) -> list[Page]:
    """The Pages of the first ``limit`` bare files among ``paths``, in the spider's order (up to
    the first page from an HTTP cache or a WARC: those carry their bytes from the main process),
    each file once."""
    folders: dict[str, str] = {}
    pages: dict[str, Page] = {}
    for path in paths:
        try:
            for record in iter_stored_pages(path, read_files=False):
                if isinstance(record, StoreError):
                    continue  # the spider reports it
                if not record.file:
                    return list(pages.values())
                pages.setdefault(record.file, page_of(record, label, folders))
                if len(pages) >= limit:
                    return list(pages.values())
        except (OSError, ValueError):  # the spider reports the path
            continue
    return list(pages.values())


def adopt(terms: Terms) -> HeadStart | None:
    """The head start, for the pool whose extraction options are ``terms``; None if there is
    none, it was made for other options or its workers died (then they are stopped)."""
    global _current
    head, _current = _current, None
    if head is not None:
        head.stop()
        if head.terms != terms or head.broken:
            head.close()
            return None
    return head


def discard() -> None:
    """At the end of the command: stop the workers of a head start no pool adopted."""
    global _current
    head, _current = _current, None
    if head is not None:
        head.close()
