from __future__ import annotations

import itertools
import random
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from newsmirror.state import (
    BY_POST_PATH_SQL,
    GET_SQL,
    SCHEMA_VERSION,
    SeenRecord,
    SeenStore,
    StateError,
    iso_utc,
)


def make_record(n: int = 1, site: str = "cna", **changes: object) -> SeenRecord:
    article_id = f"2023091{n:05d}"
    values: dict[str, object] = {
        "site": site,
        "article_id": article_id,
        "url": f"https://www.cna.com.tw/news/aopl/{article_id}.aspx",
        "post_path": f"_posts/2023-09-11-{site}-{article_id}.md",
        "title": f'越美產官峰會 "半導體" 第{n}則',
        "published": "2023-09-11T12:40:00.000Z",
        "modified": "2023-09-11T13:05:00.000Z",
        "content_hash": f"{n:064x}",
        "updated_at": "2023-09-11T14:00:00.000Z",
    }
    values.update(changes)
    return SeenRecord(**values)  # type: ignore[arg-type]


def plan(db: Path, sql: str, params: tuple[str, ...]) -> str:
    """EXPLAIN QUERY PLAN of *sql*, through a separate read-only connection."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    finally:
        conn.close()
    return " | ".join(row[-1] for row in rows)


def test_round_trip_keeps_every_field() -> None:
    with SeenStore.memory() as store:
        full = make_record(1)
        no_modified = make_record(2, modified=None, title="")
        store.put(full)
        store.put(no_modified)
        assert store.get("cna", full.article_id) == full
        got = store.get("cna", no_modified.article_id)
        assert got == no_modified
        assert got is not None and got.modified is None and got.title == ""
        assert store.get("cna", "000000000000") is None
        assert len(store) == 2


def test_put_replaces_the_row_of_the_same_article() -> None:
    with SeenStore.memory() as store:
        store.put(make_record(1))
        newer = make_record(
            1,
            title="標題改了",
            url="https://www.cna.com.tw/news/aipl/202309110001.aspx",
            modified="2023-09-12T01:00:00.000Z",
            content_hash="ab" * 32,
            updated_at="2023-09-12T02:00:00.000Z",
        )
        store.put(newer)
        assert len(store) == 1
        assert store.get("cna", newer.article_id) == newer
        assert list(store) == [newer]


def test_identity_is_site_and_article_id_not_url_or_title() -> None:
    with SeenStore.memory() as store:
        a = make_record(1, site="cna")
        b = make_record(1, site="other", url=a.url, title=a.title, post_path="_posts/x.md")
        store.put(a)
        store.put(b)
        assert len(store) == 2
        assert store.get("cna", a.article_id) == a
        assert store.get("other", a.article_id) == b
        assert ("cna", a.article_id) in store
        assert ("nope", a.article_id) not in store


def test_put_rejects_a_record_without_key() -> None:
    with SeenStore.memory() as store, pytest.raises(ValueError, match="article_id"):
        store.put(make_record(1, article_id=""))


def test_by_post_path_and_move() -> None:
    with SeenStore.memory() as store:
        rec = make_record(7)
        store.put(rec)
        store.put(make_record(8))
        assert store.by_post_path(rec.post_path) == rec
        assert store.by_post_path("_posts/unknown.md") is None

        new_path = f"archived/2023-09-11/2023-09-11-cna-{rec.article_id}.md"
        store.move("cna", rec.article_id, new_path)
        moved = store.get("cna", rec.article_id)
        assert moved is not None
        assert moved.post_path == new_path
        assert moved.updated_at != rec.updated_at  # the move is recorded as a write
        assert (moved.url, moved.title, moved.content_hash) == (rec.url, rec.title, rec.content_hash)
        assert store.by_post_path(rec.post_path) is None
        assert store.by_post_path(new_path) == moved
        assert len(store) == 2


def test_move_of_unknown_article_raises_key_error() -> None:
    with SeenStore.memory() as store, pytest.raises(KeyError, match="404"):
        store.move("cna", "404", "archived/x.md")


def test_bulk_100k_puts_and_lookups_use_the_indexes(tmp_path: Path) -> None:
    db = tmp_path / "state" / "seen.sqlite"
    n = 100_000
    with SeenStore(db) as store:
        with store.bulk():
            for i in range(n):
                store.put(
                    SeenRecord(
                        site="cna",
                        article_id=f"{i:012d}",
                        url=f"https://www.cna.com.tw/news/aopl/{i:012d}.aspx",
                        post_path=f"_posts/2023-09-11-cna-{i:012d}.md",
                        title=f"t{i}",
                        published="2023-09-11T12:40:00.000Z",
                        modified=None,
                        content_hash=f"{i:064x}",
                        updated_at="2023-09-11T14:00:00.000Z",
                    )
                )
            assert len(store) == n  # visible inside the open transaction
        assert len(store) == n
        probe = store.get("cna", f"{n - 1:012d}")
        assert probe is not None and probe.title == f"t{n - 1}"
        assert store.by_post_path(f"_posts/2023-09-11-cna-{12345:012d}.md").article_id == f"{12345:012d}"
        first = [r.article_id for r in itertools.islice(store, 3)]
        assert first == ["000000000000", "000000000001", "000000000002"]
        assert sum(1 for _ in store) == n  # chunked iteration crosses every fetchmany boundary

    # A second process (connection) sees the committed rows and the query plans.
    get_plan = plan(db, GET_SQL, ("cna", "000000000001"))
    assert "USING PRIMARY KEY" in get_plan and "SCAN" not in get_plan, get_plan
    path_plan = plan(db, BY_POST_PATH_SQL, ("_posts/x.md",))
    assert "USING INDEX seen_post_path" in path_plan and "SCAN" not in path_plan, path_plan


def test_bulk_rolls_back_everything_on_error() -> None:
    with SeenStore.memory() as store:
        store.put(make_record(1))
        with pytest.raises(RuntimeError, match="boom"), store.bulk():
            store.put(make_record(2))
            with store.bulk():  # nested: joins the outer transaction
                store.put(make_record(3))
            store.move("cna", make_record(1).article_id, "archived/a.md")
            raise RuntimeError("boom")
        assert len(store) == 1
        assert store.get("cna", make_record(1).article_id) == make_record(1)
        store.put(make_record(4))  # the store is still usable afterwards
        assert len(store) == 2


def test_reopen_from_disk_keeps_data_schema_version_and_wal(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "dir" / "seen.sqlite"
    records = [make_record(i) for i in range(5)]
    store = SeenStore(db)
    for rec in records:
        store.put(rec)
    store.close()
    store.close()  # idempotent
    assert db.is_file()

    with SeenStore(str(db)) as again:
        assert list(again) == records
        assert again.get("cna", records[3].article_id) == records[3]

    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_corrupt_file_raises_state_error_naming_the_path(tmp_path: Path) -> None:
    db = tmp_path / "seen.sqlite"
    garbage = random.Random(1234).randbytes(8192)
    db.write_bytes(garbage)
    with pytest.raises(StateError) as info:
        SeenStore(db)
    assert str(db) in str(info.value)
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)
    assert db.read_bytes() == garbage  # left untouched for inspection


def test_damage_found_after_opening_also_raises_state_error(tmp_path: Path) -> None:
    db = tmp_path / "seen.sqlite"
    with SeenStore(db) as store, store.bulk():
        for i in range(2000):
            store.put(make_record(i))
    data = bytearray(db.read_bytes())
    assert len(data) > 3 * 4096
    data[4096:] = random.Random(5).randbytes(len(data) - 4096)  # keep page 1 (header + schema)
    db.write_bytes(bytes(data))
    with SeenStore(db) as store:  # the header is fine, so opening works ...
        with pytest.raises(StateError, match="malformed") as info:
            store.get("cna", make_record(5).article_id)  # ... but reading the damaged pages does not
        assert str(db) in str(info.value)
        assert isinstance(info.value.__cause__, sqlite3.DatabaseError)


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "seen.sqlite"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StateError, match=f"schema version {SCHEMA_VERSION + 1}") as info:
        SeenStore(db)
    assert str(db) in str(info.value)


def test_store_made_in_one_thread_works_in_another(tmp_path: Path) -> None:
    store = SeenStore(tmp_path / "seen.sqlite")
    results: list[object] = []

    def worker() -> None:
        try:
            store.put(make_record(5))
            results.append(store.get("cna", make_record(5).article_id))
        except Exception as exc:  # surfaced by the assertion below
            results.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert results == [make_record(5)]
    assert len(store) == 1
    store.close()


def test_closed_store_raises_state_error() -> None:
    store = SeenStore.memory()
    store.close()
    with pytest.raises(StateError, match="closed"):
        store.get("cna", "1")
    with pytest.raises(StateError, match="closed"):
        store.put(make_record(1))


def test_iso_utc_formats_like_the_posts() -> None:
    taipei = timezone(timedelta(hours=8))
    assert iso_utc(datetime(2023, 9, 11, 20, 40, 0, 123456, tzinfo=taipei)) == "2023-09-11T12:40:00.123Z"
    assert iso_utc().endswith("Z") and len(iso_utc()) == len("2023-09-11T12:40:00.000Z")
    with pytest.raises(ValueError, match="naive"):
        iso_utc(datetime(2023, 9, 11))
