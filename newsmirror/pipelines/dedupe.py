"""Decide which file an article goes to, so the same article always lands in the same post.

The seen-store maps (site, article id) to the post path written before: a title edit, a changed
publication time or a different URL form never makes a second post.  Within one run, a second
copy of an article already handled (e.g. found in two feeds) is skipped.  The articles handled
in this run are kept in a private temporary SQLite database (:class:`HandledThisRun`), not in a
dict: a run of a million pages keeps a bounded page cache in memory, not a million keys.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..archive import ARCHIVE_DIR, POSTS_DIR
from ..dates import parse_datetime, to_ms, utc_iso_ms
from ..items import Article
from ..report import PageSkipped
from ..runtime import Runtime
from ..state import SeenRecord, SeenStore
from ..writer import post_filename, slug_for

# A live fetch is timed when its callback runs; the HTTP cache and WARC writer stamp the same
# response a little earlier.  Times this close are one capture, not an older one.
SAME_CAPTURE = timedelta(seconds=60)
_DATED_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-(?P<slug>.+)\.md$")


_SEEN = "_newsmirror_seen"  # an instance attribute, not a field: feed exports never show it


def taken_record(article: Article) -> SeenRecord | None | bool:
    """The seen-store row dedupe read for this article just before (``None``: none), taken off
    it; ``False`` when dedupe did not pass it on (the caller reads the store itself).  Nothing
    writes the store between the two stages: both are plain calls of one item's chain."""
    kept = article.__dict__.pop(_SEEN, None)
    if kept is None or kept[0] != (article.site, article.article_id):
        return False
    return kept[1]


HANDLED_CACHE_KIB = 1024  # page cache of the run's own table; the rest waits in its temp file


class HandledThisRun:
    """``(site, article_id) -> (origin, fetched_at)`` of the articles this run handled.

    SQLite's empty file name is a private temporary database: it lives in a page cache of
    ``HANDLED_CACHE_KIB`` and spills to an anonymous file past it, which SQLite deletes when the
    connection closes (on Unix at once: a crash leaves nothing).  Never synced: it dies with the
    run.  A primary-key lookup and an insert cost a few microseconds per article."""

    def __init__(self) -> None:
        self._conn = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA cache_size = -{HANDLED_CACHE_KIB}")
        self._conn.execute("PRAGMA journal_mode = OFF")
        self._conn.execute("PRAGMA synchronous = OFF")
        self._conn.execute(
            "CREATE TABLE handled (site TEXT, article_id TEXT, origin TEXT, fetched TEXT, "
            "PRIMARY KEY (site, article_id)) WITHOUT ROWID"
        )

    def get(self, key: tuple[str, str]) -> tuple[str, datetime | None] | None:
        row = self._conn.execute(
            "SELECT origin, fetched FROM handled WHERE site = ? AND article_id = ?", key
        ).fetchone()
        if row is None:
            return None
        return row[0], datetime.fromisoformat(row[1]) if row[1] else None

    def put(self, key: tuple[str, str], origin: str, fetched: datetime | None) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO handled (site, article_id, origin, fetched) VALUES (?, ?, ?, ?)",
            (*key, origin, fetched.isoformat() if fetched else None),
        )

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and len(key) == 2 and self.get(key) is not None

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM handled").fetchone()[0])

    def close(self) -> None:
        self._conn.close()


class DedupePipeline:
    def __init__(self, store: SeenStore, output: Path, filename_style: str = "id") -> None:
        self.store = store
        self.output = output
        self.filename_style = filename_style
        self.seen_this_run = HandledThisRun()
        self._by_slug: dict[str, str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> DedupePipeline:
        runtime = Runtime.of(crawler)
        return cls(runtime.store, runtime.output, runtime.filename_style)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, Article):
            return item
        key = (item.site, item.article_id)
        fetched = to_ms(item.fetched_at) if item.fetched_at else None
        handled = self.seen_this_run.get(key)
        if handled is not None:
            # e.g. two captures in one WARC: the newer one wins, whatever the reading order
            origin, earlier = handled
            if not (fetched and earlier and fetched > earlier):
                raise PageSkipped(f"same article as {origin} already handled in this run")
        record = self.store.get(*key)
        made_from = parse_datetime(record.fetched_at) if record and record.fetched_at else None
        if fetched and made_from and fetched < made_from - SAME_CAPTURE:
            raise PageSkipped(
                f"older capture ({utc_iso_ms(fetched)}) than the one {record.post_path} was made from "
                f"({record.fetched_at})"
            )
        self.seen_this_run.put(key, item.origin or item.url, fetched)
        item.post_path = record.post_path if record else self.new_path(item)
        item.__dict__[_SEEN] = (key, record)  # the write stage needs the same row: read it once
        return item

    def close_spider(self, spider: Any = None) -> None:
        self.seen_this_run.close()

    def new_path(self, article: Article) -> str:
        if self.filename_style == "id":
            # no seen-store row (a lost or new state file): an existing post of this article keeps
            # its file even if the publication date, and so the date prefix, has changed since
            existing = self.posts_by_slug().get(slug_for(article))
            if existing:
                return existing
        path = f"{POSTS_DIR}/{post_filename(article, self.filename_style)}"
        if self.filename_style == "title" and self._taken(path):
            # another article has this title on this day: keep both, disambiguated by id
            path = path[: -len(".md")] + f"-{article.article_id}.md"
        return path

    def posts_by_slug(self) -> dict[str, str]:
        """``cna-202309110310`` -> ``_posts/2023-09-11-cna-202309110310.md`` for the posts on disk
        (``_posts/`` and ``archived/*/``), read once per run."""
        if self._by_slug is None:
            self._by_slug = {}
            folders = [self.output / POSTS_DIR, *sorted((self.output / ARCHIVE_DIR).glob("*"))]
            for folder in folders:
                for path in sorted(folder.glob("*.md")) if folder.is_dir() else ():
                    m = _DATED_NAME.match(path.name)
                    if m:
                        self._by_slug.setdefault(m["slug"], path.relative_to(self.output).as_posix())
        return self._by_slug

    def _taken(self, path: str) -> bool:
        return (self.output / path).exists() or self.store.by_post_path(path) is not None
