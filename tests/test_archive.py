from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from newsmirror.archive import ArchiveResult, archive_posts, post_date
from newsmirror.state import SeenRecord, SeenStore

NOW = datetime(2023, 9, 20, 10, 0, tzinfo=timezone.utc)  # 7 days back: cutoff day 2023-09-13

TRACKED = {  # file name -> article id; these have seen-store rows
    "2023-09-01-cna-202309010001.md": "202309010001",
    "2023-09-12-cna-202309120002.md": "202309120002",
    "2023-09-13-cna-202309130003.md": "202309130003",
    "2023-09-20-cna-202309200004.md": "202309200004",
    "2023-09-02-cna-202309020005.md": "202309020005",  # its archive destination is already taken
}
UNTRACKED = ["2023-08-01-越美產官峰會 半導體與新科技合作成焦點.md"]  # a post of the replaced system


def post_bytes(name: str) -> bytes:
    return f'---\nlayout: post\ntitle: "{name}"\n---\n<div>{name}</div>\n'.encode()


@pytest.fixture
def out(tmp_path: Path) -> Path:
    root = tmp_path / "out"
    posts = root / "_posts"
    posts.mkdir(parents=True)
    for name in [*TRACKED, *UNTRACKED, "README.md", "2023-02-30-not-a-day.md"]:
        (posts / name).write_bytes(post_bytes(name))
    (posts / ".gitkeep").write_bytes(b"")
    (posts / "drafts").mkdir()
    taken = root / "archived" / "2023-09-02" / "2023-09-02-cna-202309020005.md"
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"an older archived copy\n")
    return root


@pytest.fixture
def store(out: Path) -> Iterator[SeenStore]:
    store = SeenStore(out / ".newsmirror" / "seen.sqlite")
    for name, article_id in TRACKED.items():
        store.put(
            SeenRecord(
                site="cna",
                article_id=article_id,
                url=f"https://www.cna.com.tw/news/aopl/{article_id}.aspx",
                post_path=f"_posts/{name}",
                title=name,
                published=f"{name[:10]}T12:40:00.000Z",
                modified=None,
                content_hash=hashlib.sha256(post_bytes(name)).hexdigest(),
                updated_at="2023-09-20T00:00:00.000Z",
            )
        )
    yield store
    store.close()


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under the output root (except the seen-store's own folder) with its bytes."""
    files = {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}
    return {rel: p.read_bytes() for rel, p in files.items() if not rel.startswith(".newsmirror/")}


EXPECTED_MOVED = [
    (
        "_posts/2023-08-01-越美產官峰會 半導體與新科技合作成焦點.md",
        "archived/2023-08-01/2023-08-01-越美產官峰會 半導體與新科技合作成焦點.md",
    ),
    ("_posts/2023-09-01-cna-202309010001.md", "archived/2023-09-01/2023-09-01-cna-202309010001.md"),
    ("_posts/2023-09-12-cna-202309120002.md", "archived/2023-09-12/2023-09-12-cna-202309120002.md"),
]


def test_old_posts_move_into_dated_folders_and_the_store_follows(out: Path, store: SeenStore) -> None:
    before = snapshot(out)
    result = archive_posts(out, 7, store, now=NOW)

    assert result.moved == EXPECTED_MOVED
    assert [(path, reason.split(" ")[0]) for path, reason in result.skipped] == [
        ("_posts/2023-02-30-not-a-day.md", "file"),
        ("_posts/2023-09-02-cna-202309020005.md", "destination"),
        ("_posts/README.md", "file"),
        ("_posts/drafts", "not"),
    ]
    reasons = dict(result.skipped)
    assert "date prefix" in reasons["_posts/README.md"]
    assert "date prefix" in reasons["_posts/2023-02-30-not-a-day.md"]
    assert "already exists" in reasons["_posts/2023-09-02-cna-202309020005.md"]
    assert reasons["_posts/drafts"] == "not a regular file"

    after = snapshot(out)
    for old, new in EXPECTED_MOVED:
        assert old not in after
        assert after[new] == before[old]  # same bytes, same file name, dated folder
    # the day at the cutoff, today's post and all skipped files stay where they were, unchanged
    for kept in [
        "_posts/2023-09-13-cna-202309130003.md",
        "_posts/2023-09-20-cna-202309200004.md",
        "_posts/2023-09-02-cna-202309020005.md",
        "_posts/README.md",
        "_posts/2023-02-30-not-a-day.md",
        "_posts/.gitkeep",
    ]:
        assert after[kept] == before[kept]
    # never overwritten
    assert after["archived/2023-09-02/2023-09-02-cna-202309020005.md"] == b"an older archived copy\n"
    assert sorted(after) == sorted(
        (set(before) - {o for o, _ in EXPECTED_MOVED}) | {n for _, n in EXPECTED_MOVED}
    )

    # the store still knows every article, now at its archived path
    assert len(store) == len(TRACKED)
    moved_row = store.get("cna", "202309010001")
    assert moved_row is not None
    assert moved_row.post_path == "archived/2023-09-01/2023-09-01-cna-202309010001.md"
    assert moved_row.title == "2023-09-01-cna-202309010001.md"
    assert (
        moved_row.content_hash == hashlib.sha256(before["_posts/2023-09-01-cna-202309010001.md"]).hexdigest()
    )
    assert store.by_post_path("_posts/2023-09-01-cna-202309010001.md") is None
    assert store.by_post_path(moved_row.post_path) == moved_row
    assert store.get("cna", "202309120002").post_path == "archived/2023-09-12/2023-09-12-cna-202309120002.md"
    assert store.get("cna", "202309130003").post_path == "_posts/2023-09-13-cna-202309130003.md"
    assert store.get("cna", "202309020005").post_path == "_posts/2023-09-02-cna-202309020005.md"

    # running again finds nothing new to move
    again = archive_posts(out, 7, store, now=NOW)
    assert again.moved == []
    assert snapshot(out) == after


def test_dry_run_reports_the_same_and_touches_nothing(out: Path, store: SeenStore) -> None:
    before = snapshot(out)
    rows_before = list(store)
    dry = archive_posts(out, 7, store, now=NOW, dry_run=True)
    assert dry.moved == EXPECTED_MOVED
    assert len(dry.skipped) == 4
    assert snapshot(out) == before
    assert not (out / "archived" / "2023-09-01").exists()
    assert list(store) == rows_before
    assert archive_posts(out, 7, store, now=NOW) == dry  # the real run does what the dry run said


def test_cutoff_is_computed_in_utc(out: Path) -> None:
    taipei = timezone(timedelta(hours=8))
    # 2023-09-20 02:00 in Taipei is 2023-09-19 18:00 UTC: cutoff day 2023-09-12, so that day stays
    result = archive_posts(out, 7, None, now=datetime(2023, 9, 20, 2, 0, tzinfo=taipei))
    assert [old for old, _ in result.moved] == [old for old, _ in EXPECTED_MOVED[:2]]
    assert (out / "_posts" / "2023-09-12-cna-202309120002.md").is_file()
    # zero days: everything before today (UTC) goes, today's post stays
    result = archive_posts(out, 0, None, now=NOW)
    assert [new for _, new in result.moved] == [
        "archived/2023-09-12/2023-09-12-cna-202309120002.md",
        "archived/2023-09-13/2023-09-13-cna-202309130003.md",
    ]
    assert sorted(p.name for p in (out / "_posts").glob("2023-09-2*")) == ["2023-09-20-cna-202309200004.md"]


def test_store_failure_puts_the_file_back(out: Path, store: SeenStore) -> None:
    class BrokenStore(SeenStore):
        def move(self, site: str, article_id: str, new_post_path: str) -> None:
            raise RuntimeError("disk full")

    broken = BrokenStore(out / ".newsmirror" / "seen.sqlite")
    name = "2023-08-01-越美產官峰會 半導體與新科技合作成焦點.md"
    with pytest.raises(RuntimeError, match="disk full"):
        archive_posts(out, 7, broken, now=NOW)
    # the untracked post moved (no row to update); the first tracked one was moved back
    assert (out / "archived" / "2023-08-01" / name).is_file()
    assert (out / "_posts" / "2023-09-01-cna-202309010001.md").read_bytes() == post_bytes(
        "2023-09-01-cna-202309010001.md"
    )
    assert not (out / "archived" / "2023-09-01" / "2023-09-01-cna-202309010001.md").exists()
    assert store.get("cna", "202309010001").post_path == "_posts/2023-09-01-cna-202309010001.md"
    broken.close()


def test_bad_arguments_and_missing_posts_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="naive"):
        archive_posts(tmp_path, 7, None, now=datetime(2023, 9, 20))
    with pytest.raises(ValueError, match=">= 0"):
        archive_posts(tmp_path, -1, None, now=NOW)
    assert archive_posts(tmp_path / "nothing-here", 7, None, now=NOW) == ArchiveResult([], [])


def test_post_date_parses_only_real_dates() -> None:
    assert post_date("2023-09-11-cna-202309110310.md") == datetime(2023, 9, 11).date()
    assert post_date("2023-02-30-x.md") is None
    assert post_date("2023-09-11.md") is None  # the prefix needs its trailing dash
    assert post_date("x-2023-09-11-y.md") is None
