"""The seen-store: which articles were mirrored, where their post lives, and what it looked like.

Articles are keyed by ``(site, article_id)`` -- never by URL or title -- because URLs and titles of
the same article change (mobile URLs, edited headlines) and the replaced system made duplicate posts
that way.  The store is a single SQLite file (stdlib :mod:`sqlite3`) in WAL mode: one process uses it
at a time (the run lock guarantees that), but Scrapy calls pipelines from the reactor thread, so the
connection is created with ``check_same_thread=False`` and guarded by a lock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from .dates import utc_iso_ms
from .health import SourceRun
from .urlnorm import identity_url

__all__ = [
    "SCHEMA_VERSION", "STATE_DIR", "SeenRecord", "SeenStore", "StateError", "default_state_path", "iso_utc",
    "known_inputs", "latest",
]

SCHEMA_VERSION = 2  # 2 added the inputs table (older stores are upgraded in place)
BUSY_TIMEOUT_MS = 10_000
STATE_DIR = ".newsmirror"  # under the output root: the store, the run lock, reports
CACHE_KIB = 2048  # SQLite's page cache for the store, per connection

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    site         TEXT NOT NULL,
    article_id   TEXT NOT NULL,
    url          TEXT NOT NULL,
    post_path    TEXT NOT NULL,
    title        TEXT NOT NULL,
    published    TEXT NOT NULL,
    modified     TEXT,
    content_hash TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    fetched_at   TEXT,
    date_source  TEXT,
    PRIMARY KEY (site, article_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_post_path ON seen (post_path);
CREATE INDEX IF NOT EXISTS seen_published ON seen (published);
CREATE TABLE IF NOT EXISTS inputs (
    input_key    TEXT PRIMARY KEY,
    site         TEXT NOT NULL,
    article_id   TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS inputs_article ON inputs (site, article_id);
CREATE TABLE IF NOT EXISTS source_runs (
    source       TEXT NOT NULL,
    run_at       TEXT NOT NULL,
    command      TEXT NOT NULL,
    counts       TEXT NOT NULL,
    PRIMARY KEY (source, run_at)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS aliases (
    url          TEXT PRIMARY KEY,
    site         TEXT NOT NULL,
    article_id   TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS aliases_article ON aliases (site, article_id);
"""
# ``aliases`` (added after schema 2, additive: older newsmirror versions ignore it) maps every URL
# under which an article was announced or fetched -- in its identity form (urlnorm.identity_url) --
# to the article, so a feed or sitemap that links to another host, adds tracking parameters or
# goes through Feedburner is still recognised before fetching.

_COLUMNS = (
    "site, article_id, url, post_path, title, published, modified, content_hash, updated_at, fetched_at, "
    "date_source"
)
# Module-level so the tests can EXPLAIN exactly the statements the store runs.
GET_SQL = f"SELECT {_COLUMNS} FROM seen WHERE site = ? AND article_id = ?"
BY_POST_PATH_SQL = f"SELECT {_COLUMNS} FROM seen WHERE post_path = ? ORDER BY updated_at DESC LIMIT 1"
PUT_SQL = f"INSERT OR REPLACE INTO seen ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
MOVE_SQL = "UPDATE seen SET post_path = ?, updated_at = ? WHERE site = ? AND article_id = ?"
ITER_SQL = f"SELECT {_COLUMNS} FROM seen ORDER BY site, article_id"
LIST_SITE_SQL = f"SELECT {_COLUMNS} FROM seen WHERE site = ? ORDER BY site, article_id"
LIST_SINCE_SQL = f"SELECT {_COLUMNS} FROM seen WHERE published >= ? ORDER BY published, site, article_id"
INPUT_SQL = "SELECT site, article_id FROM inputs WHERE input_key = ?"
DELETE_INPUTS_SQL = "DELETE FROM inputs WHERE site = ? AND article_id = ?"
PUT_INPUT_SQL = "INSERT OR REPLACE INTO inputs (input_key, site, article_id) VALUES (?, ?, ?)"
ALIAS_SQL = "SELECT site, article_id FROM aliases WHERE url = ?"
PUT_ALIAS_SQL = "INSERT OR REPLACE INTO aliases (url, site, article_id) VALUES (?, ?, ?)"


class StateError(Exception):
    """The seen-store file cannot be used (corrupt, not SQLite, or from a newer newsmirror)."""


def iso_utc(when: datetime | None = None) -> str:
    """Format *when* (default: now) like the posts do: ``2023-09-11T12:40:00.000Z``.

    Naive datetimes are rejected: guessing a zone is how the replaced system got dates wrong.
    """
    return utc_iso_ms(datetime.now(timezone.utc) if when is None else when)


def latest(*times: str | None) -> str | None:
    """The newest of some ISO UTC times as the store writes them (same format: strings compare)."""
    return max((t for t in times if t), default=None)


@dataclass
class SeenRecord:
    """One mirrored article, as last written."""

    site: str
    article_id: str
    url: str  # canonical article URL
    post_path: str  # relative to the output root: "_posts/..." or "archived/YYYY-MM-DD/..."
    title: str
    published: str  # ISO 8601 UTC, e.g. "2023-09-11T12:40:00.000Z"
    modified: str | None  # the page's modification time (ISO UTC), if known
    content_hash: str  # sha256 hex of the rendered post bytes
    updated_at: str  # when this row was written (ISO UTC)
    fetched_at: str | None = None  # when the page this post was made from was fetched (ISO UTC)
    date_source: str | None = None  # which page signal gave `published` (newsmirror.provenance)


# Only these mean the file itself is damaged; a full disk (SQLITE_FULL), an I/O error, a
# read-only or unopenable file are the machine's problem, and moving the store away would throw
# away the duplicate protection for nothing.
_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_DISK_CODES = {3, 8, 10, 13, 14}  # SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN


def is_corrupt(exc: sqlite3.Error) -> bool:
    """Whether an SQLite error says the database file is damaged (not merely unwritable)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _CORRUPT_CODES
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def _disk_hint(exc: sqlite3.Error) -> str:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in _DISK_CODES:
        return " (is the disk full or read-only? the store was left as it was)"
    return ""


class _Errors:
    """``with store._errors():`` -- a closed store refuses, and sqlite3 errors (e.g. a page
    corrupted later) become StateError.  A class, not a generator context manager: the store
    enters it a few times per page."""

    __slots__ = ("store",)

    def __init__(self, store: SeenStore) -> None:
        self.store = store

    def __enter__(self) -> None:
        if self.store._closed:
            raise StateError(f"seen-store {self.store.path} is closed")

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, sqlite3.Error):
            raise StateError(f"seen-store {self.store.path}: {exc}{_disk_hint(exc)}") from exc


def default_state_path(output: Path) -> Path:
    return output / STATE_DIR / "state.sqlite"


def known_inputs(path: str | Path, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` an existing store already knows, read without writing or waiting: for
    a guess made before the run holds its lock (:mod:`newsmirror.headstart`), so only a hint: rows
    not checkpointed out of the write-ahead log are not seen, and a missing, older or damaged
    store knows none; the run itself then opens it as ever."""
    if not Path(path).is_file():
        return set()
    try:
        # immutable: no lock taken, no -wal/-shm files made (a hint, read while a run may write)
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1", uri=True, timeout=0)
    except sqlite3.Error:
        return set()
    try:
        return {key for key in keys if conn.execute(INPUT_SQL, (key,)).fetchone()}
    except sqlite3.Error:
        return set()
    finally:
        conn.close()


class SeenStore:
    """SQLite-backed map ``(site, article_id) -> SeenRecord``.

    Every ``put``/``move`` commits on its own (a crash loses at most the article in flight) unless it
    runs inside :meth:`bulk`, which batches them into one transaction for imports and tests.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._guard = _Errors(self)
        self._bulk_depth = 0
        self._closed = False
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so bulk() really is one transaction.
            self._conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise StateError(f"cannot open seen-store {self.path}: {exc}") from exc
        try:
            self._init_schema()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            if not is_corrupt(exc):  # a full or read-only disk: the store is fine, keep it
                raise StateError(f"cannot use seen-store {self.path}: {exc}{_disk_hint(exc)}") from exc
            raise StateError(
                f"seen-store {self.path} is not a usable SQLite database ({exc}); "
                "move it away to start a fresh store"
            ) from exc
        except StateError:
            self._conn.close()
            raise

    @classmethod
    def memory(cls) -> SeenStore:
        """An in-memory store, for tests and one-off runs that must not remember anything."""
        return cls(":memory:")

    def _init_schema(self) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # a bounded page cache (SQLite's usual default, said here so no build changes it): a
        # store of a million articles costs a long run no more memory than one of a hundred
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        # Reading user_version touches the file header first, so a non-database fails here, before
        # anything is written to it.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StateError(
                f"seen-store {self.path} has schema version {version}, newer than this newsmirror "
                f"understands ({SCHEMA_VERSION}); upgrade newsmirror"
            )
        if self.path != ":memory:":
            # Where WAL is impossible (no shared memory, e.g. some network filesystems) SQLite just keeps
            # its rollback journal, which is slower but correct.
            conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a committed row survives a power cut too (NORMAL would keep the file consistent
            # but could lose the last commits, and with title file names a lost row could mean a
            # second post). Posts are committed in batches (pipelines/write.py), so the fsync per
            # commit is one per batch, not per post.
            conn.execute("PRAGMA synchronous = FULL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(seen)")}
            if "fetched_at" not in columns:  # a schema-1 store
                conn.execute("ALTER TABLE seen ADD COLUMN fetched_at TEXT")
            if "date_source" not in columns:  # additive: older newsmirrors ignore it
                conn.execute("ALTER TABLE seen ADD COLUMN date_source TEXT")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # -- reading -------------------------------------------------------------------------------

    def get(self, site: str, article_id: str) -> SeenRecord | None:
        """The record of one article, or ``None`` if it was never mirrored (primary-key lookup)."""
        with self._lock, self._errors():
            row = self._conn.execute(GET_SQL, (site, article_id)).fetchone()
        return SeenRecord(*row) if row else None

    def by_post_path(self, post_path: str) -> SeenRecord | None:
        """The article whose post lives at *post_path* (relative to the output root), if any.

        Paths are not declared unique (a writer bug must not abort a crawl); if two rows share one,
        the most recently written wins.
        """
        with self._lock, self._errors():
            row = self._conn.execute(BY_POST_PATH_SQL, (post_path,)).fetchone()
        return SeenRecord(*row) if row else None

    def article_for_input(self, input_key: str) -> tuple[str, str] | None:
        """(site, article id) last made from exactly this input (see ``Runtime.input_key``)."""
        with self._lock, self._errors():
            row = self._conn.execute(INPUT_SQL, (input_key,)).fetchone()
        return (row[0], row[1]) if row else None

    def add_inputs(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Remember more names (``input_key``, site, article id) of the input that made each
        article's current post (a bare file's trusted stat key, once it has settled)."""
        rows = list(rows)
        if rows:
            with self._write():
                self._conn.executemany(PUT_INPUT_SQL, rows)

    def article_for_url(self, url: str) -> tuple[str, str] | None:
        """(site, article id) announced or fetched under ``url`` or any form of it (tracking
        parameters, host case, trailing slash, AMP/mobile host), if one was mirrored."""
        with self._lock, self._errors():
            row = self._conn.execute(ALIAS_SQL, (identity_url(url),)).fetchone()
        return (row[0], row[1]) if row else None

    def add_aliases(self, site: str, article_id: str, urls: Iterable[str]) -> None:
        """Remember that the article was announced or fetched under these URLs."""
        keys = {identity_url(u) for u in urls if u and u.startswith(("http://", "https://"))}
        if not keys:
            return
        with self._write():
            self._conn.executemany(PUT_ALIAS_SQL, [(k, site, article_id) for k in sorted(keys)])

    def __len__(self) -> int:
        with self._lock, self._errors():
            return int(self._conn.execute("SELECT COUNT(*) FROM seen").fetchone()[0])

    def __contains__(self, key: object) -> bool:
        """``(site, article_id) in store``."""
        if not (isinstance(key, tuple) and len(key) == 2):
            return False
        return self.get(str(key[0]), str(key[1])) is not None

    def __iter__(self) -> Iterator[SeenRecord]:
        """All records, ordered by (site, article_id), fetched in chunks so 100k rows stay cheap."""
        return self.records()

    # -- writing -------------------------------------------------------------------------------

    def put(self, record: SeenRecord, input_key: str | Sequence[str] | None = None) -> None:
        """Insert or replace the row for ``(record.site, record.article_id)`` and commit.

        ``input_key`` (optional) records that this exact input produced this article, in the
        same transaction, so a later run can skip the input without parsing it.  Several keys
        may name one input (a bare file's bytes and its stat, newsmirror.inputs).
        """
        if not record.site or not record.article_id:
            raise ValueError(f"record needs a site and an article_id: {record!r}")
        # Explicit tuple, not dataclasses.astuple: that deep-copies every field and is 10x slower.
        values = (
            record.site,
            record.article_id,
            record.url,
            record.post_path,
            record.title,
            record.published,
            record.modified,
            record.content_hash,
            record.updated_at,
            record.fetched_at,
            record.date_source,
        )
        with self._lock:
            if self._bulk_depth:  # inside bulk(): no transaction of its own (the writer's batches)
                with self._guard:
                    self._put_rows(values, input_key)
                return
        with self._write():
            self._put_rows(values, input_key)

    def _put_rows(self, values: tuple[str | None, ...], input_key: str | Sequence[str] | None) -> None:
        execute = self._conn.execute
        execute(PUT_SQL, values)
        if input_key:
            # only the input that made the current post is kept: a hit then really means
            # "this post came from exactly these bytes", and the table stays one row per article
            # (or a few: the names of that one input)
            execute(DELETE_INPUTS_SQL, values[:2])
            for key in (input_key,) if isinstance(input_key, str) else input_key:
                execute(PUT_INPUT_SQL, (key, *values[:2]))

    def move(self, site: str, article_id: str, new_post_path: str) -> None:
        """Point an article at its post's new place (after archiving); the article stays known.

        Raises ``KeyError`` if the article is not in the store, since a silent no-op would hide
        a post the store does not know about.
        """
        with self._write():
            cursor = self._conn.execute(MOVE_SQL, (new_post_path, iso_utc(), site, article_id))
            if cursor.rowcount == 0:
                raise KeyError(f"article ({site!r}, {article_id!r}) is not in seen-store {self.path}")

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Run many ``put``/``move`` calls as one transaction (committed at the end, rolled back on error).

        Nesting is allowed; only the outermost block commits.
        """
        with self._lock, self._errors():
            if self._bulk_depth == 0:
                self._conn.execute("BEGIN IMMEDIATE")
            self._bulk_depth += 1
        ok = False
        try:
            yield
            ok = True
        finally:
            with self._lock, self._errors():
                self._bulk_depth -= 1
                if self._bulk_depth == 0 and (ok or self._conn.in_transaction):  # see _write
                    self._conn.execute("COMMIT" if ok else "ROLLBACK")

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write: its own transaction, or part of the enclosing bulk() one."""
        with self._lock, self._errors():
            if self._bulk_depth:
                yield
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                # SQLite rolls back by itself on SQLITE_FULL / IOERR: a second ROLLBACK would
                # replace the real reason ("database or disk is full") with "no transaction is active"
                if self._conn.in_transaction:
                    with suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _errors(self) -> _Errors:
        """Refuse a closed store; turn sqlite3 errors (e.g. a page corrupted later) into StateError."""
        return self._guard

    # -- inspecting and forgetting (``newsmirror state``) -------------------------------------

    def records(self, site: str | None = None, since: str | None = None) -> Iterator[SeenRecord]:
        """Rows of one site (primary-key range) and/or published at or after *since* (an ISO
        UTC time; ``seen_published`` index), in chunks."""
        if since is not None:
            cursor_args: tuple[str, tuple[str, ...]] = (LIST_SINCE_SQL, (since,))
        elif site is not None:
            cursor_args = (LIST_SITE_SQL, (site,))
        else:
            cursor_args = (ITER_SQL, ())
        with self._lock, self._errors():
            cursor = self._conn.execute(*cursor_args)
        while True:
            with self._lock, self._errors():
                rows = cursor.fetchmany(1000)
            if not rows:
                return
            for row in rows:
                record = SeenRecord(*row)
                if site is None or record.site == site:
                    yield record

    def input_keys(self, site: str, article_id: str) -> list[str]:
        """The input key(s) recorded for an article (``inputs_article`` index)."""
        with self._lock, self._errors():
            rows = self._conn.execute(
                "SELECT input_key FROM inputs WHERE site = ? AND article_id = ?", (site, article_id)
            ).fetchall()
        return [row[0] for row in rows]

    def forget(self, site: str, article_id: str) -> bool:
        """Drop an article's row and input keys, so the next crawl mirrors it again."""
        with self._write():
            key = (site, article_id)
            cursor = self._conn.execute("DELETE FROM seen WHERE site = ? AND article_id = ?", key)
            self._conn.execute("DELETE FROM inputs WHERE site = ? AND article_id = ?", key)
            self._conn.execute("DELETE FROM aliases WHERE site = ? AND article_id = ?", key)
        return cursor.rowcount > 0

    def aliases_of(self, site: str, article_id: str) -> list[str]:
        """Every URL the article was announced or fetched under (index lookup)."""
        with self._lock, self._errors():
            rows = self._conn.execute(
                "SELECT url FROM aliases WHERE site = ? AND article_id = ? ORDER BY url", (site, article_id)
            ).fetchall()
        return [url for (url,) in rows]

    def dangling_aliases(self) -> int:
        """Aliases whose article has no row any more (left by an older ``forget``)."""
        with self._lock, self._errors():
            (count,) = self._conn.execute(
                "SELECT COUNT(*) FROM aliases a WHERE NOT EXISTS "
                "(SELECT 1 FROM seen s WHERE s.site = a.site AND s.article_id = a.article_id)"
            ).fetchone()
        return int(count)

    def stats(self) -> dict[str, dict[str, object]]:
        """Per site: rows, oldest/newest publication and the last write (one grouped scan)."""
        with self._lock, self._errors():
            rows = self._conn.execute(
                "SELECT site, COUNT(*), MIN(published), MAX(published), MAX(updated_at), "
                "SUM(post_path LIKE 'archived/%') FROM seen GROUP BY site ORDER BY site"
            ).fetchall()
        return {
            r[0]: {"articles": r[1], "oldest": r[2], "newest": r[3], "last_written": r[4], "archived": r[5]}
            for r in rows
        }

    def post_paths(self) -> set[str]:
        """Every post path the store knows (one index scan)."""
        with self._lock, self._errors():
            return {row[0] for row in self._conn.execute("SELECT post_path FROM seen")}

    def sources_seen(self) -> list[str]:
        with self._lock, self._errors():
            rows = self._conn.execute("SELECT DISTINCT source FROM source_runs ORDER BY 1").fetchall()
        return [row[0] for row in rows]

    # -- source health history (newsmirror.health) ---------------------------------------------

    def record_source_run(self, run: SourceRun, run_at: str, command: str, keep: int = 200) -> None:
        """Remember what a source did in one run (additive table: older stores gain it silently);
        only the newest *keep* runs per source are kept."""
        with self._write():
            self._conn.execute(
                "INSERT OR REPLACE INTO source_runs (source, run_at, command, counts) VALUES (?, ?, ?, ?)",
                (run.source, run_at, command, json.dumps(asdict(run))),
            )
            self._conn.execute(
                "DELETE FROM source_runs WHERE source = ? AND run_at NOT IN "
                "(SELECT run_at FROM source_runs WHERE source = ? ORDER BY run_at DESC LIMIT ?)",
                (run.source, run.source, keep),
            )

    def source_history(self, source: str, limit: int = 20) -> list[SourceRun]:
        """The source's recent runs, newest first."""
        with self._lock, self._errors():
            rows = self._conn.execute(
                "SELECT counts FROM source_runs WHERE source = ? ORDER BY run_at DESC LIMIT ?",
                (source, limit),
            ).fetchall()
        known = set(SourceRun.__dataclass_fields__)
        return [SourceRun(**{k: v for k, v in json.loads(row[0]).items() if k in known}) for row in rows]

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent); an unfinished bulk() transaction is rolled back."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            self._conn.close()

    def __enter__(self) -> SeenStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SeenStore({self.path!r})"
