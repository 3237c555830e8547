"""Long runs keep memory flat: the run report spools its per-page entries to disk and streams them
into the JSON report (the same bytes as before), dedupe keeps this run's articles in SQLite."""

from __future__ import annotations

import json
import os
import re
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

from helpers import FIXTURES, run_cli

from newsmirror.health import PARSE
from newsmirror.pipelines.dedupe import HandledThisRun
from newsmirror.report import Failure, RunReport
from newsmirror.spool import KEEP, Spool


def dumps(value: object) -> bytes:
    """How the JSON report was written before it streamed: one json.dumps of everything."""
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def test_a_spool_keeps_a_few_in_memory_the_rest_in_a_file_without_a_name(tmp_path):
    spool: Spool[Failure] = Spool(lambda f: f.__dict__, lambda d: Failure(**d), keep=3)
    spool.folder = tmp_path
    entries = [Failure(f"u{i}", f"réason\n{i}", post=f"p{i}") for i in range(10)]
    for entry in entries:
        spool.append(entry)
    assert len(spool) == 10 and spool
    assert list(spool) == entries  # read back as the same kind of object, in order
    assert spool[:2] == entries[:2] and spool[2:7] == entries[2:7] and spool[-1] == entries[-1]
    assert list(spool.values())[9] == {"url": "u9", "reason": "réason\n9", "final_url": "", "post": "p9"}
    assert os.listdir(tmp_path) == []  # the spilled entries are in a file nobody can see or leave behind
    spool.append(Failure("late", "appended after reading"))
    assert [f.url for f in spool][-2:] == ["u9", "late"]
    empty: Spool[dict] = Spool()
    assert not empty and list(empty) == [] and empty[:50] == []


def long_report(n: int) -> tuple[RunReport, dict]:
    """A report with more than KEEP entries of every kind, and the dict the old code dumped."""
    rep = RunReport(command="crawl")
    expected: dict = {"command": "crawl", "started_at": rep.started_at}
    posts, failures, skipped, images = [], [], [], []
    for i in range(n):
        url = f"https://www.cna.com.tw/news/aopl/2023091103{i:04d}.aspx"
        rep.done("new" if i % 3 else "updated", url, f"_posts/p{i}.md", f"/in/{i}.html", url, "JSON-LD 「日期」")
        posts.append({"outcome": "new" if i % 3 else "updated", "url": url, "post": f"_posts/p{i}.md",
                      "requested": f"/in/{i}.html", "final_url": url, "date_source": "JSON-LD 「日期」"})
        rep.done("unchanged", url, f"_posts/p{i}.md")
        rep.fail(f"/in/bad{i}.html", f"not an article: 「{i}」", source="cna", kind=PARSE)
        failures.append({"url": f"/in/bad{i}.html", "reason": f"not an article: 「{i}」",
                         "final_url": f"/in/bad{i}.html", "post": ""})
        rep.skip(url, "older than --since", post=f"_posts/p{i}.md")
        skipped.append({"url": url, "reason": "older than --since", "final_url": url, "post": f"_posts/p{i}.md"})
        rep.image("failed", f"https://img/{i}.jpg", url, "HTTP 404")
        images.append({"url": f"https://img/{i}.jpg", "reason": "HTTP 404", "article": url})
    rep.discovered = 4 * n
    rep.finish()
    expected.update(counts={"new": n - (n + 2) // 3, "updated": (n + 2) // 3, "unchanged": n, "skipped": n,
                            "failed": n},
                    discovered=4 * n, failures=failures, skipped=skipped, posts=posts,
                    images={"failed": n}, image_failures=images, duration_s=rep.duration_s,
                    sources=rep.health.to_json(), exit_code=1)
    return rep, expected


def test_the_json_report_has_the_same_keys_order_and_bytes_as_one_json_dumps(tmp_path):
    for n in (0, 1, KEEP, KEEP + 1, 3 * KEEP):
        rep, expected = long_report(n)
        if n == 0:
            del expected["images"], expected["image_failures"]  # no images: no image keys, as before
            del expected["sources"]
            expected["exit_code"] = 0
        path = tmp_path / f"r{n}.json"
        assert rep.write_json(path)
        assert path.read_bytes() == dumps(expected), n
        assert rep.to_json() == expected
        assert [f.url for f in rep.failures[:50]] == [f["url"] for f in expected["failures"][:50]]
    assert all(name.endswith(".json") for name in os.listdir(tmp_path))  # no temp file left


def test_recording_a_page_keeps_no_memory_per_page(tmp_path):
    rep = RunReport(command="reprocess")
    rep.spool_in(tmp_path)

    def record(start: int, stop: int) -> None:
        for i in range(start, stop):
            url = f"https://www.cna.com.tw/news/aopl/2023091{i:05d}.aspx"
            rep.done("new", url, f"_posts/2023-09-11-cna-{i}.md", f"/corpus/{i:06d}.html", f"file:///c/{i}",
                     "JSON-LD datePublished")
            if i % 10 == 0:
                rep.fail(f"/corpus/{i}.html", "not an article")
                rep.skip(url, "same article as /corpus/x.html already handled in this run")

    tracemalloc.start()
    try:
        record(0, 1000)
        before = tracemalloc.get_traced_memory()[0]
        record(1000, 11000)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # a list of entries grew ~1 KiB per page here (10 MiB); the spool's buffer is a few KiB
    assert grown < 256 * 1024, grown
    assert len(rep.posts) == 11000 and rep.counts["failed"] == 1100 and len(rep.skipped) == 1100


def test_this_runs_articles_are_kept_exactly_outside_python(tmp_path):
    handled = HandledThisRun()
    when = datetime(2023, 9, 11, 4, 5, 6, 789000, tzinfo=timezone.utc)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(5000):
            handled.put(("cna", f"20230911{i:04d}"), f"/corpus/{i}.html", when if i % 2 else None)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, grown  # a dict of these keys: ~1.5 MiB
    assert len(handled) == 5000 and ("cna", "202309110001") in handled and ("cna", "x") not in handled
    assert handled.get(("cna", "202309110001")) == ("/corpus/1.html", when)
    assert handled.get(("cna", "202309110002")) == ("/corpus/2.html", None)
    later = when + timedelta(hours=1)
    handled.put(("cna", "202309110002"), "/corpus/newer.html", later)  # the newer capture replaces it
    assert handled.get(("cna", "202309110002")) == ("/corpus/newer.html", later) and len(handled) == 5000
    handled.close()


def distinct_pages(folder: Path, n: int) -> list[str]:
    """n copies of the seed page, each with its own article id (as bench/run.py builds its corpus)."""
    seed = (FIXTURES / "seed/202309110310.reconstructed.html").read_bytes()
    taken = set(re.findall(rb"(?<!\d)\d{12}(?!\d)", seed))
    ids = [new for new in (f"20230911{5000 + i:04d}".encode() for i in range(2 * n)) if new not in taken][:n]
    folder.mkdir()
    for i, new in enumerate(ids):
        (folder / f"{i:03d}-{new.decode()}.html").write_bytes(seed.replace(b"202309110310", new))
    return [new.decode() for new in ids]


def test_a_run_longer_than_the_kept_entries_reports_every_page(tmp_path):
    n = KEEP + 6
    ids = distinct_pages(tmp_path / "in", n)
    for i in range(n):  # not articles: failures, in the report after the spooled posts
        (tmp_path / "in" / f"bad-{i:03d}.html").write_text(f"<html><body>not news {i}</body></html>")
    out = tmp_path / "out"
    result = run_cli("reprocess", str(tmp_path / "in"), "-o", str(out), "-q", "--jobs", "1")
    assert result.returncode == 1, result.stderr
    assert f"{n} new, 0 updated, 0 unchanged, {n} failed" in result.stderr
    [path] = (out / ".newsmirror/runs").glob("*-reprocess.json")
    raw = path.read_bytes()
    report = json.loads(raw)
    assert raw == dumps(report)  # formatted exactly as one json.dumps(indent=2) of it
    assert list(report) == ["command", "started_at", "counts", "discovered", "failures", "skipped", "posts",
                            "duration_s", "exit_code"]
    assert report["counts"] == {"new": n, "updated": 0, "unchanged": 0, "skipped": 0, "failed": n}
    assert [p["post"] for p in report["posts"]] == [f"_posts/2023-09-11-cna-{i}.md" for i in ids]
    assert all(p["outcome"] == "new" and p["date_source"] for p in report["posts"])
    assert sorted(f["url"] for f in report["failures"]) == sorted(
        str(tmp_path / "in" / f"bad-{i:03d}.html") for i in range(n))
    assert report["exit_code"] == 1
    left = {p.name for p in (out / ".newsmirror").iterdir()}  # the spool had no name: nothing left
    assert left <= {"run.lock", "runs", "state.sqlite", "state.sqlite-shm", "state.sqlite-wal"}, left
    # a second run: every post unchanged (no entries), the copies of one article skipped as before
    again = run_cli("reprocess", str(tmp_path / "in"), "-o", str(out), "-q", "--jobs", "1")
    assert f"0 new, 0 updated, {n} unchanged, {n} failed" in again.stderr


def test_the_seen_store_page_cache_is_bounded(tmp_path):
    from newsmirror.state import CACHE_KIB, SeenStore

    with SeenStore(tmp_path / "state.sqlite") as store:
        assert store._conn.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB


def test_a_report_that_fails_while_streaming_leaves_no_half_written_file(tmp_path, monkeypatch):
    rep, _ = long_report(3 * KEEP)
    rep.spool_in(tmp_path / "gone")  # a folder that is not there: the system's temporary folder
    rep.posts.append({"outcome": "new", "url": "u", "post": "p", "requested": "u", "final_url": "u"})
    real = Spool.values

    def failing(self):
        for i, value in enumerate(real(self)):
            if i == KEEP + 5:
                raise OSError(5, "Input/output error")
            yield value

    monkeypatch.setattr(Spool, "values", failing)
    runs = tmp_path / "runs"
    assert not rep.write_json(runs / "r.json")
    assert rep.write_error.startswith(f"cannot write the run report {runs / 'r.json'}: Input/output error")
    assert os.listdir(runs) == [] and rep.exit_code == 1
    monkeypatch.setattr(Spool, "values", real)
    assert rep.write_json(runs / "r.json") and json.loads((runs / "r.json").read_bytes())["posts"][-1]["url"] == "u"


def test_a_spool_on_a_full_disk_keeps_every_entry_in_order(tmp_path, monkeypatch):
    """The report is fed from signal handlers: a write that fails (ENOSPC) or is cut short
    must neither raise nor lose or reorder an entry; the rest stay in memory."""
    import errno

    import newsmirror.spool as spool_module

    spool: Spool[dict] = Spool(keep=2)
    spool.folder = tmp_path
    real_pwrite = os.pwrite
    calls = {"n": 0}

    def failing_pwrite(fd, data, offset):
        calls["n"] += 1
        if calls["n"] == 4:
            return real_pwrite(fd, data[:3], offset)  # a short write: the disk filled up
        if calls["n"] > 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(spool_module.os, "pwrite", failing_pwrite)
    entries = [{"n": i, "text": "中文" * i} for i in range(10)]
    for entry in entries:
        spool.append(entry)
    assert len(spool) == 10
    assert list(spool) == entries
    assert list(spool.values()) == entries
    assert spool[3:6] == entries[3:6]
