"""Extraction in a process pool (--jobs) and batched durability: same bytes, same order, a
seen-store that never runs ahead of the disk."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

from helpers import FIXTURES, page, run_cli

from newsmirror.pipelines import CleanPipeline, DedupePipeline, ExtractPipeline, WritePipeline
from newsmirror.state import SeenStore

PAGES = [
    "seed/202309110310.reconstructed.html",
    "cna/cna-2023-acn-202308230192.html",
    "cna/cna-2023-ahel-202308230179.html",
    "cna/cna-2023-ait-202308230354.html",
    "cna/cna-2023-aopl-202308230260.html",
    "cna/cna-2026-acul-202606280112.html",
    "cna/cna-2014-acn-201412120137.html",
    "cna/cna-2013-popular-201308130021.html",
    "cna/cna-2014-list-aall.html",  # not an article: a failure, in its place in the report
]


def corpus(folder: Path) -> Path:
    folder.mkdir()
    for i, name in enumerate(PAGES):
        shutil.copy(FIXTURES / name, folder / f"{i:02d}-{Path(name).name}")
    # a second copy of the first article, read last: skipped as already handled, whatever the timing
    shutil.copy(FIXTURES / PAGES[0], folder / "99-again.html")
    newer = time.time() + 1  # a newer capture, however fast the copies (mtimes within a ms: no newer)
    os.utime(folder / "99-again.html", (newer, newer))
    return folder


def reprocess(src: Path, out: Path, jobs: int) -> tuple[dict[str, bytes], dict]:
    result = run_cli("reprocess", str(src), "-o", str(out), "--jobs", str(jobs), "-q")
    assert result.returncode == 1, result.stderr  # the list page fails
    posts = {p.name: p.read_bytes() for p in sorted((out / "_posts").iterdir())}
    [report] = [json.loads(p.read_text()) for p in (out / ".newsmirror/runs").glob("*-reprocess.json")]
    return posts, report


def test_two_jobs_write_the_same_bytes_in_the_same_order_as_one(tmp_path):
    src = corpus(tmp_path / "in")
    one_posts, one = reprocess(src, tmp_path / "one", 1)
    two_posts, two = reprocess(src, tmp_path / "two", 2)
    assert len(one_posts) == 8 and all(name.endswith(".md") for name in one_posts)  # no temp file left
    assert two_posts == one_posts
    assert two_posts["2023-09-11-cna-202309110310.md"] == (FIXTURES / "seed/expected_clean.md").read_bytes()
    # the copy read last meets the post its twin just wrote: unchanged, in both runs
    assert two["counts"] == one["counts"] == {"new": 8, "updated": 0, "unchanged": 1, "skipped": 0, "failed": 1}
    entries = [[(p["outcome"], p["post"], p["requested"]) for p in r["posts"]] for r in (one, two)]
    assert entries[1] == entries[0]
    assert [(f["url"], f["reason"]) for f in two["failures"]] == [(f["url"], f["reason"]) for f in one["failures"]]
    rows = sqlite3.connect(tmp_path / "two/.newsmirror/state.sqlite").execute("SELECT COUNT(*) FROM seen")
    assert rows.fetchone()[0] == 8


def test_jobs_must_be_a_positive_number(tmp_path):
    result = run_cli("reprocess", str(tmp_path), "-o", str(tmp_path / "out"), "--jobs", "0")
    assert result.returncode == 2 and "--jobs" in result.stderr


def test_a_batch_is_on_disk_before_the_seen_store_names_it(tmp_path):
    out = tmp_path / "out"
    store = SeenStore(tmp_path / "state.sqlite")
    write = WritePipeline(store, out, batch=3)
    chain = [ExtractPipeline(), CleanPipeline(), DedupePipeline(store, out), write]
    for name in PAGES[:2]:
        item = page(FIXTURES / name)
        for stage in chain:
            item = stage.process_item(item)
    # two posts staged: neither visible nor committed (another connection sees no row)
    assert not list((out / "_posts").glob("*.md"))
    assert len(list((out / "_posts").glob(".*.tmp"))) == 2
    other = sqlite3.connect(tmp_path / "state.sqlite")
    assert other.execute("SELECT COUNT(*) FROM seen").fetchone()[0] == 0
    write.flush()
    assert sorted(p.name for p in (out / "_posts").iterdir()) == [
        "2023-08-23-cna-202308230192.md", "2023-09-11-cna-202309110310.md"]
    assert other.execute("SELECT COUNT(*) FROM seen").fetchone()[0] == 2
    golden = (FIXTURES / "seed/expected_clean.md").read_bytes()
    assert (out / "_posts/2023-09-11-cna-202309110310.md").read_bytes() == golden
    store.close()
