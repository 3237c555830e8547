"""Render the post and put it on disk atomically; then, and only then, record it as seen.

A post whose bytes did not change is not rewritten (its mtime stays), so re-running over the
same input is a no-op on disk.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import sys
import time
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_bytes
from ..dates import utc_iso_ms
from ..items import Article
from ..runtime import Runtime
from ..state import SeenRecord, SeenStore, iso_utc, latest
from ..writer import render_post

STALE_TEMP_S = 600  # a temp file untouched this long belongs to a dead process


class WritePipeline:
    def __init__(
        self,
        store: SeenStore,
        output: Path,
        body_format: str = "html",
        dry_run: bool = False,
        show_diff: bool = False,
        exclusive: bool = False,
    ) -> None:
        self.store = store
        self.output = output
        self.body_format = body_format
        self.dry_run = dry_run
        self.show_diff = show_diff
        self.exclusive = exclusive

    @classmethod
    def from_crawler(cls, crawler: Any) -> WritePipeline:
        rt = Runtime.of(crawler)
        return cls(rt.store, rt.output, rt.body_format, rt.dry_run, rt.show_diff, rt.exclusive)

    def open_spider(self, spider: Any = None) -> None:
        """Remove temp files a killed run left behind.  Only while holding the output's run lock,
        and only old ones: a distributed worker (which takes no lock) may have a write in flight."""
        posts = self.output / "_posts"
        if not (posts.is_dir() and self.exclusive and not self.dry_run):
            return
        cutoff = time.time() - STALE_TEMP_S
        for leftover in posts.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, Article):
            return item
        data = render_post(item, self.body_format).encode("utf-8")
        path = self.output / item.post_path
        old = path.read_bytes() if path.is_file() else None
        record = self.store.get(item.site, item.article_id)
        if old == data:
            item.outcome = "unchanged"
        else:
            item.outcome = "updated" if old is not None or record is not None else "new"
            if self.show_diff:
                self._print_diff(item.post_path, old, data)
            if not self.dry_run:
                atomic_write_bytes(path, data)
        if not self.dry_run:
            self._remember(item, data, record)
        return item

    def _remember(self, item: Article, data: bytes, record: SeenRecord | None) -> None:
        digest = hashlib.sha256(data).hexdigest()
        iso = [utc_iso_ms(t) if t else None for t in (item.modified, item.hint_modified, item.fetched_at)]
        # never go back in time: the newest modification known (the page's own, one a feed or
        # sitemap announced, or the record's), so the next crawl refetches only for a newer one;
        # and the newest capture this post was made from
        modified = latest(iso[0], iso[1], record.modified if record else None)
        fetched = latest(iso[2], record.fetched_at if record else None)
        same = (record.content_hash, record.post_path, record.modified, record.fetched_at) if record else None
        if same == (digest, item.post_path, modified, fetched) and (
            not item.input_key or self.store.article_for_input(item.input_key)
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
            input_key=item.input_key or None,
        )

    @staticmethod
    def _print_diff(name: str, old: bytes | None, new: bytes) -> None:
        before = old.decode("utf-8", "replace").splitlines(keepends=True) if old else []
        after = new.decode("utf-8").splitlines(keepends=True)
        sys.stdout.writelines(difflib.unified_diff(before, after, f"a/{name}", f"b/{name}"))
        sys.stdout.flush()
