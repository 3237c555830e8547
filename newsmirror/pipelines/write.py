"""Render the post and put it on disk atomically; then, and only then, record it as seen.

A post whose bytes did not change is not rewritten (its mtime stays), so re-running over the
same input is a no-op on disk.
"""

from __future__ import annotations

import difflib
import hashlib
import sys
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_bytes, describe_os_error, remove_orphan_temp_files
from ..dates import utc_iso_ms
from ..items import Article
from ..report import PageFailed
from ..runtime import Runtime
from ..state import SeenRecord, SeenStore, StateError, iso_utc, latest
from ..writer import render_post

__all__ = ["WritePipeline"]


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
        """Remove temp files a killed run left behind.  Only while holding the output's run lock;
        a temp file whose owner (host + pid in its name) is still alive stays, so a distributed
        worker (which takes no lock) keeps its write in flight."""
        if self.exclusive and not self.dry_run:
            for folder in ("_posts", ".newsmirror/runs"):
                remove_orphan_temp_files(self.output / folder)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        """Write the post, then remember it.  A write the disk refuses (full, read-only, the path
        a folder) is a failed page with one line naming the post; the seen-store is not advanced."""
        if not isinstance(item, Article):
            return item
        data = render_post(item, self.body_format).encode("utf-8")
        path = self.output / item.post_path
        try:
            old = path.read_bytes() if path.is_file() else None
        except OSError as exc:
            reason = f"cannot read {item.post_path}: {describe_os_error(exc)}"
            raise PageFailed(reason, item.post_path) from exc
        try:
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
                    atomic_write_bytes(path, data)
                except OSError as exc:
                    raise PageFailed(
                        f"cannot write {item.post_path}: {describe_os_error(exc)}", item.post_path
                    ) from exc
        if not self.dry_run:
            try:
                self._remember(item, data, record)
            except StateError as exc:
                # the post is on disk (the next run finds it by name), but not remembered
                reason = f"wrote {item.post_path} but could not record it: {exc}"
                raise PageFailed(reason, item.post_path) from exc
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
            ),
            input_key=item.input_key or None,
        )

    @staticmethod
    def _print_diff(name: str, old: bytes | None, new: bytes) -> None:
        before = old.decode("utf-8", "replace").splitlines(keepends=True) if old else []
        after = new.decode("utf-8").splitlines(keepends=True)
        sys.stdout.writelines(difflib.unified_diff(before, after, f"a/{name}", f"b/{name}"))
        sys.stdout.flush()
