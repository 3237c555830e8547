"""Skip an input that already made an intact post, before parsing it.

The key (see :meth:`Runtime.input_key`) covers the page bytes, its URL, label and encoding,
newsmirror's own code, the versions of the libraries that shape the output and the options.  The
seen-store keeps only the key of the input that made an article's current post, so a hit means
this post came from exactly this input and would come out the same.  The post file is still
checked against the recorded hash: a post edited or deleted by hand is rewritten.  This makes an
unchanged re-run over thousands of cached pages cost a hash and a lookup per page, not a parse.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..dates import utc_iso_ms
from ..items import Page
from ..report import PageUnchanged
from ..runtime import Runtime
from ..state import SeenRecord, SeenStore, StateError, iso_utc, latest

SETTLED_BATCH = 256  # trusted stat keys recorded per transaction


class SkipUnchangedPipeline:
    def __init__(
        self, store: SeenStore, output: Path, input_key: Callable[[Page], str], files: Any = None
    ) -> None:
        self.store = store
        self.output = output
        self.input_key = input_key
        self.files = files  # stat_keys(page), read_file(page) for bare files (the Runtime)
        self._settled: list[tuple[str, str, str]] = []  # trusted keys to record (flush_settled)

    @classmethod
    def from_crawler(cls, crawler: Any) -> SkipUnchangedPipeline:
        runtime = Runtime.of(crawler)
        return cls(runtime.store, runtime.output, runtime.input_key, runtime)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, Page):
            return item
        if item.unread_file:  # a bare file, read by the extraction (newsmirror.inputs)
            known = self._known_file(item)
        else:
            item.input_key = self.input_key(item)
            known = self.store.article_for_input(item.input_key)
        record = self.store.get(*known) if known else None
        if record is not None and self._intact(record.post_path, record.content_hash):
            self._remember_newer_times(record, item)
            raise PageUnchanged(record.url, record.post_path)
        return item

    def _known_file(self, page: Page) -> tuple[str, str] | None:
        """The article a bare file made, by its stat alone when the stat was trusted when it was
        read; by its bytes, read here, when the file had changed just before (a settling key)."""
        if self.files is None:
            return None
        trusted, settling = self.files.stat_keys(page)
        if not trusted:
            return None
        known = self.store.article_for_input(trusted)
        if known is None:
            candidate = self.store.article_for_input(settling)
            if candidate is not None:
                read = self.files.read_file(page)
                if read is not None and read.key and self.store.article_for_input(read.key) == candidate:
                    known = candidate
                    if read.settled:  # settled since: the next run needs only its stat
                        self._settled.append((read.file_key, *candidate))
                        if len(self._settled) >= SETTLED_BATCH:
                            self.flush_settled()
        return known

    def flush_settled(self) -> None:
        """Record the trusted stat keys of the settled files, in one transaction (losing them
        in a crash only costs the next run a read of those files).  A dry run writes nothing."""
        rows, self._settled = self._settled, []
        if rows and not getattr(self.files, "dry_run", False):
            with contextlib.suppress(StateError):
                self.store.add_inputs(rows)

    def close_spider(self, spider: Any = None) -> None:
        self.flush_settled()

    def _remember_newer_times(self, record: SeenRecord, page: Page) -> None:
        """The same bytes announced with a newer modification time (or fetched again): remember
        the times, or every later crawl would fetch the article again."""
        modified = latest(utc_iso_ms(page.hint_modified) if page.hint_modified else None, record.modified)
        fetched = latest(utc_iso_ms(page.fetched_at) if page.fetched_at else None, record.fetched_at)
        if (modified, fetched) != (record.modified, record.fetched_at):
            self.store.put(
                replace(record, modified=modified, fetched_at=fetched, updated_at=iso_utc()),
                input_key=page.input_key,
            )

    def _intact(self, post_path: str, content_hash: str) -> bool:
        try:
            data = (self.output / post_path).read_bytes()
        except OSError:
            return False
        return hashlib.sha256(data).hexdigest() == content_hash
