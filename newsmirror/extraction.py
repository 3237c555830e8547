"""What an extraction worker does with a page: read, parse, clean, render -- and nothing of Scrapy.

Everything here is pure CPU on bytes (plus the read of a bare file), runs in the worker processes
of :mod:`newsmirror.parallel` (and in the main process with ``--jobs 1``), and imports no Scrapy
or Twisted: the workers can be forked before the main process has imported them
(:mod:`newsmirror.headstart`), and a worker never pays for them.  A page's refusal is an
:class:`ExtractFailed`; the main process turns it into the run's
:class:`~newsmirror.report.PageFailed` (a Scrapy ``DropItem``) where the result arrives.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone

from .clean import clean_body, lead_figure
from .health import EMPTY, PARSE
from .inputs import FILE_KEY, read_file
from .items import Article, Page
from .sites import NotAnArticle, extract
from .writer import prerender


class ExtractFailed(Exception):
    """A page that cannot become a post, with the one-line reason; ``blame`` as for
    :class:`~newsmirror.report.PageFailed` (set only where the page itself is judged)."""

    def __init__(self, message: str, blame: str = "") -> None:
        super().__init__(message)
        self.blame = blame

    def __reduce__(self) -> tuple[type[ExtractFailed], tuple[str, str]]:
        return type(self), (str(self), self.blame)  # the blame survives the trip back from a worker


def read_input_file(page: Page, fingerprint: str | None) -> str:
    """Fill ``page.body`` from ``page.file``, and make ``fetched_at`` and ``input_key`` those of
    the bytes read; return the stat key to record beside it (``""``: none, the file changed
    while it was read, or no ``fingerprint``: no keys at all).  See :mod:`newsmirror.inputs`."""
    try:
        read = read_file(fingerprint, page)
    except OSError as exc:
        raise ExtractFailed(f"cannot read file: {exc.strerror or exc}") from exc
    page.body = read.body
    page.fetched_at = datetime.fromtimestamp(read.mtime, tz=timezone.utc)
    page.input_key = read.key
    return read.file_key


def extract_article(page: Page, label: str | None, fingerprint: str | None = None) -> Article:
    """Page -> Article, the extract stage: a parser's refusal is a failed page.  A bare file's
    bytes are read here (``page.file``), keyed with ``fingerprint`` (:mod:`newsmirror.inputs`)."""
    file_key = read_input_file(page, fingerprint) if page.unread_file else ""
    try:
        article = extract(page, default_label=label)
    except NotAnArticle as exc:
        raise ExtractFailed(str(exc), blame=PARSE) from exc
    article.source = page.source
    if file_key:  # recorded beside the bytes' key (pipelines/write.py), kept by pickle
        article.__dict__[FILE_KEY] = file_key
    return article


CLEANED = "_newsmirror_cleaned"  # an instance attribute, not a field: feed exports never show it


def clean_article(article: Article) -> Article:
    """The clean stage: sanitize the body and read its lead figure (once per Article: a worker
    process cleans what it extracts, and the clean pipeline then passes it on)."""
    if getattr(article, CLEANED, False):
        return article
    article.body_html = clean_body(article.body_html, article.url)
    if not article.body_html:
        raise ExtractFailed("article body is empty after cleaning", blame=EMPTY)
    article.lead_figure = lead_figure(article.body_html)
    setattr(article, CLEANED, True)  # kept by pickle (the instance __dict__)
    return article


def extract_and_clean(page: Page, label: str | None, fingerprint: str | None = None) -> Article:
    """What a worker process does with one page: extract, then clean (both pure CPU)."""
    return clean_article(extract_article(page, label, fingerprint))


def extract_chunk(
    pages: list[Page], label: str | None, body_format: str | None = None, fingerprint: str | None = None
) -> list[tuple[Article | None, BaseException | None]]:
    """What a worker process does with a few pages: extract, clean and (with a ``body_format``)
    render the post, all pure CPU; a page's error is its result, not the chunk's."""
    out: list[tuple[Article | None, BaseException | None]] = []
    for page in pages:
        try:
            article = extract_and_clean(page, label, fingerprint)
            if body_format is not None:
                prerender(article, body_format)
            out.append((article, None))
        except Exception as exc:  # noqa: BLE001 - handed back to the page's own pipeline chain
            out.append((None, exc))
    return out


def default_jobs() -> int:
    """The CPUs this process may run on (not the machine's count, under a CPU affinity mask)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def fork_workers(jobs: int, log_level: str | None = None) -> ProcessPoolExecutor:
    """``jobs`` extraction worker processes (:func:`init_worker`, ``log_level`` for it).  Forked:
    they start in milliseconds with everything imported, and only parse.  What is alive now is
    frozen first: it lives to the end of the run, so no collection in this process or a worker
    walks it again, and a worker's collections do not write to (and so copy) the pages it shares
    with this process (the gc module's advice for fork)."""
    import multiprocessing

    gc.freeze()
    context = multiprocessing.get_context("fork")
    return ProcessPoolExecutor(jobs, mp_context=context, initializer=init_worker, initargs=(log_level,))


# Scrapy's LOG_FORMAT and LOG_DATEFORMAT (newsmirror's settings keep them): what its root handler writes
_LOG_FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"
_LOG_DATEFORMAT = "%Y-%m-%d %H:%M:%S"


def init_worker(log_level: str | None = None) -> None:
    """Ctrl-C is the main process's to handle (it stops the pool); a worker whose parent died
    (kill -9) exits instead of waiting forever on the task queue.  With ``log_level`` (a worker
    forked before Scrapy set up logging: newsmirror.headstart) the worker logs to stderr as
    Scrapy's root handler would (a library's warnings, trafilatura's say), else as its parent."""
    if log_level is not None:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_LOG_FORMAT, _LOG_DATEFORMAT))
        handler.setLevel(log_level)
        logging.root.addHandler(handler)
        logging.root.setLevel(logging.NOTSET)
        logging.captureWarnings(True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the task queue's EOF ends the worker
        pass
