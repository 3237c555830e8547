"""Render the post and put it on disk atomically; then, and only then, record it as seen.

A post whose bytes did not change is not rewritten (its mtime stays), so re-running over the
same input is a no-op on disk.

Under Scrapy, posts are made durable in batches (up to ``NEWSMIRROR_WRITE_BATCH`` posts or
``BATCH_SECONDS``): each post goes to its temp file at once; at the end of a batch one
``syncfs`` makes all their bytes durable, the temp files are renamed over the posts, the folder
is synced, and only then is the batch's seen-store transaction committed.  The seen-store so
never names a post that is not durably on disk: a crash (kill -9, power loss) before the commit
costs a re-fetch of the batch; its posts are either whole or not there (a hidden temp file the
next run removes), and a re-run finds a post that is there by its name, so none is duplicated.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import logging
import os
import stat
import sys
from pathlib import Path
from typing import Any

from ..atomic import (
    atomic_write_bytes,
    describe_os_error,
    fsync_dir,
    remove_orphan_temp_files,
    stage_bytes,
    sync_files,
)
from ..dates import utc_iso_ms
from ..inputs import FILE_KEY
from ..items import Article
from ..report import PageFailed
from ..runtime import Runtime
from ..state import SeenRecord, SeenStore, StateError, iso_utc, latest
from ..writer import post_bytes
from .dedupe import taken_record

__all__ = ["WritePipeline"]

logger = logging.getLogger(__name__)
BATCH_POSTS = 64  # posts per durable batch under Scrapy (NEWSMIRROR_WRITE_BATCH; 1: one by one)
BATCH_SECONDS = 0.5  # a batch never waits longer (and never holds the store's write lock longer)


class WritePipeline:
    def __init__(
        self,
        store: SeenStore,
        output: Path,
        body_format: str = "html",
        dry_run: bool = False,
        show_diff: bool = False,
        exclusive: bool = False,
        batch: int = 1,
    ) -> None:
        self.store = store
        self.output = output
        self.body_format = body_format
        self.dry_run = dry_run
        self.show_diff = show_diff
        self.exclusive = exclusive
        self.batch = 1 if dry_run else max(1, batch)  # > 1 needs close_spider() (or flush()) at the end
        self._root = os.fspath(output)
        self._staged: list[tuple[Path, str]] = []  # (temp file, post) not yet renamed
        self._staged_data: dict[str, bytes] = {}
        self._transaction: Any = None  # the open seen-store batch (store.bulk())
        self._timer: Any = None
        self._in_batch = 0  # posts handled since the batch began

    @classmethod
    def from_crawler(cls, crawler: Any, one_by_one: bool = False) -> WritePipeline:
        """``one_by_one``: for a caller that acknowledges each post once written (the distributed
        coordinator), which a batch would make too early."""
        rt = Runtime.of(crawler)
        batch = crawler.settings.getint("NEWSMIRROR_WRITE_BATCH", BATCH_POSTS)
        if one_by_one or crawler.settings.get("JOBDIR"):
            # a resumed crawl does not fetch again what its queue already handed out: a post still
            # in an unsynced batch when the run was killed would be lost, so write one by one
            batch = 1
        return cls(rt.store, rt.output, rt.body_format, rt.dry_run, rt.show_diff, rt.exclusive, batch)

    def open_spider(self, spider: Any = None) -> None:
        """Remove temp files a killed run left behind.  Only while holding the output's run lock;
        a temp file whose owner (host + pid in its name) is still alive stays, so a distributed
        worker (which takes no lock) keeps its write in flight."""
        if self.exclusive and not self.dry_run:
            for folder in ("_posts", ".newsmirror/runs"):
                remove_orphan_temp_files(self.output / folder)

    def close_spider(self, spider: Any = None) -> None:
        self.flush()

    def process_item(self, item: Any, spider: Any = None) -> Any:
        """Write the post, then remember it.  A write the disk refuses (full, read-only, the path
        a folder) is a failed page with one line naming the post; the seen-store is not advanced."""
        if not isinstance(item, Article):
            return item
        data, digest = post_bytes(item, self.body_format)  # often rendered by an extraction worker
        # plain strings, not pathlib: this runs once per page on the reactor thread
        path = os.path.join(self._root, item.post_path)
        try:
            old = self._staged_data.get(path)  # written earlier in this batch, not renamed yet
            if old is None:
                old = _read_if_file(path)
            no_folder_there = old is not _FOLDER  # the stat just made (or the staged post) says so
            if not no_folder_there:
                old = None  # stage_bytes says "Is a directory", as atomic_write_bytes does
        except OSError as exc:
            reason = f"cannot read {item.post_path}: {describe_os_error(exc)}"
            raise PageFailed(reason, item.post_path) from exc
        try:
            record = taken_record(item)  # the row dedupe just read, if it did
            if record is False:
                record = self.store.get(item.site, item.article_id)
        except StateError as exc:
            raise PageFailed(str(exc), item.post_path) from exc
        if old == data:
            item.outcome = "unchanged"
        else:
            item.outcome = "updated" if old is not None or record is not None else "new"
            if self.show_diff:
                self._print_diff(item.post_path, old, data)
            if not self.dry_run:
                try:
                    if self.batch > 1:
                        self._staged.append((stage_bytes(path, data, no_folder_there), path))
                        self._staged_data[path] = data
                    else:
                        atomic_write_bytes(Path(path), data)
                except OSError as exc:
                    raise PageFailed(
                        f"cannot write {item.post_path}: {describe_os_error(exc)}", item.post_path
                    ) from exc
        if not self.dry_run:
            try:
                self._begin_batch()
                self._remember(item, digest, record)
            except StateError as exc:
                # the post is on disk (the next run finds it by name), but not remembered
                reason = f"wrote {item.post_path} but could not record it: {exc}"
                raise PageFailed(reason, item.post_path) from exc
            self._in_batch += 1
            if self._in_batch >= self.batch:
                self.flush()
        return item

    def _begin_batch(self) -> None:
        if self.batch <= 1 or self._transaction is not None:
            return
        self._transaction = self.store.bulk()
        self._transaction.__enter__()
        from twisted.internet import reactor

        if reactor.running:
            self._timer = reactor.callLater(BATCH_SECONDS, self.flush)

    def flush(self) -> None:
        """Make the staged posts durable and visible, then commit their seen-store rows."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        staged, self._staged, self._staged_data = self._staged, [], {}
        self._in_batch = 0
        transaction, self._transaction = self._transaction, None
        try:
            sync_files([tmp for tmp, _ in staged])
            for tmp, path in staged:
                os.replace(tmp, path)
            for folder in {os.path.dirname(path) for _, path in staged}:
                fsync_dir(Path(folder))
        except OSError as exc:
            for tmp, path in staged:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                logger.error("cannot write %s: %s", path, describe_os_error(exc))
            if transaction is not None:  # the store must not claim posts that may not be there
                with contextlib.suppress(Exception):
                    transaction.__exit__(type(exc), exc, exc.__traceback__)
            return
        if transaction is not None:
            transaction.__exit__(None, None, None)

    def _remember(self, item: Article, digest: str, record: SeenRecord | None) -> None:
        iso = [utc_iso_ms(t) if t else None for t in (item.modified, item.hint_modified, item.fetched_at)]
        # never go back in time: the newest modification known (the page's own, one a feed or
        # sitemap announced, or the record's), so the next crawl refetches only for a newer one;
        # and the newest capture this post was made from
        modified = latest(iso[0], iso[1], record.modified if record else None)
        fetched = latest(iso[2], record.fetched_at if record else None)
        same = (record.content_hash, record.post_path, record.modified, record.fetched_at) if record else None
        # the bytes' key, and a bare file's stat key beside it (newsmirror.inputs)
        keys = [key for key in (item.input_key, item.__dict__.get(FILE_KEY, "")) if key]
        if same == (digest, item.post_path, modified, fetched) and all(
            self.store.article_for_input(key) for key in keys
        ):
            return  # nothing new to remember
        self.store.put(
            SeenRecord(
                site=item.site,
                article_id=item.article_id,
                url=item.url,
                post_path=item.post_path,
                title=item.title,
                published=utc_iso_ms(item.published),
                modified=modified,
                content_hash=digest,
                updated_at=iso_utc(),
                fetched_at=fetched,
                date_source=item.date_source or None,
            ),
            input_key=keys or None,
        )

    @staticmethod
    def _print_diff(name: str, old: bytes | None, new: bytes) -> None:
        before = old.decode("utf-8", "replace").splitlines(keepends=True) if old else []
        after = new.decode("utf-8").splitlines(keepends=True)
        sys.stdout.writelines(difflib.unified_diff(before, after, f"a/{name}", f"b/{name}"))
        sys.stdout.flush()


_NOT_THERE = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)  # as Path.is_file() treats them
_FOLDER = b"<a folder>"  # _read_if_file's answer for a folder (compared by identity, never bytes)


def _read_if_file(path: str) -> bytes | None:
    """``path.read_bytes() if path.is_file() else None``, without pathlib: a missing file (the
    usual case: a new post) or a special file is ``None``, a folder :data:`_FOLDER` (so that
    stage_bytes need not stat the path again); other errors raise."""
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            return _FOLDER if stat.S_ISDIR(mode) else None
    except OSError as exc:
        if exc.errno in _NOT_THERE:
            return None
        raise
    with open(path, "rb") as fh:
        return fh.read()
