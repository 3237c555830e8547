"""The head start (newsmirror/headstart.py): a reprocess's first files are extracted by workers
forked before Scrapy is imported, and the run's pool takes those results only for exactly the
pages and options they were made for."""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import FIXTURES, REPO, run_cli

from newsmirror import extraction, headstart
from newsmirror.commands import build_parser
from newsmirror.inputs import file_signature, run_fingerprint
from newsmirror.parallel import ExtractPool
from newsmirror.writer import post_bytes

PAGES = [
    "seed/202309110310.reconstructed.html",
    "cna/cna-2023-acn-202308230192.html",
    "cna/cna-2026-acul-202606280112.html",
    "cna/cna-2014-acn-201412120137.html",
    "cna/cna-2013-popular-201308130021.html",
    "cna/cna-2014-list-aall.html",  # not an article: its early result is a failure
]


@pytest.fixture(autouse=True)
def no_head_start_left():
    yield
    headstart.discard()


def corpus(folder: Path) -> Path:
    folder.mkdir()
    for i, name in enumerate(PAGES):
        shutil.copy(FIXTURES / name, folder / f"{i:02d}-{Path(name).name}")
    return folder


def reprocess_args(*argv: str):
    return build_parser().parse_args(["reprocess", *argv])


class Loop:
    """The owner's thread of an ExtractPool, as the reactor is under Scrapy."""

    class Timer:
        def active(self) -> bool:
            return False

        def cancel(self) -> None:
            pass

    def __init__(self) -> None:
        self.calls: queue.Queue = queue.Queue()

    def deliver(self, f, *args) -> None:
        self.calls.put((f, args))

    def call_later(self, seconds, f, *args):
        self.calls.put((f, args))
        return self.Timer()

    def run_until(self, done, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while not done():
            f, args = self.calls.get(timeout=max(0.01, end - time.monotonic()))
            f(*args)


def wait_sent(head: headstart.HeadStart, count: int) -> None:
    """Until the head start has sent ``count`` files (it sends a chunk when the last is done)."""
    end = time.monotonic() + 60
    while len(head) < count:
        assert time.monotonic() < end, len(head)
        time.sleep(0.01)


def pool_results(pool: ExtractPool, pages, loop: Loop) -> list:
    results: list = []
    for page in pages:
        pool.submit(page, lambda article, error: results.append((article, error)))
    loop.run_until(lambda: len(results) == len(pages))
    pool.close()
    return results


def test_the_pool_takes_the_early_results_and_they_are_the_bytes_of_an_extraction_here(tmp_path):
    src = corpus(tmp_path / "in")
    args = reprocess_args(str(src), "-o", str(tmp_path / "out"), "--jobs", "2")
    head = headstart.begin(args)
    assert head is not None
    wait_sent(head, len(PAGES))

    fingerprint = run_fingerprint(None, "id", "html", False)
    loop = Loop()
    pool = ExtractPool(2, None, loop.deliver, loop.call_later, "html", fingerprint)
    sent: list = []
    pool_submit = ExtractPool._send

    def counting_send(self) -> None:
        sent.extend(self._queued)
        pool_submit(self)

    pool._send = counting_send.__get__(pool)
    pages = headstart.first_files([str(src)], None, 100)  # listed again, as the spider lists them
    results = pool_results(pool, pages, loop)

    assert sent == []  # every page was taken from the head start, none extracted twice
    assert len(head) == 0
    for page, (article, error) in zip(pages, results, strict=True):
        here = page.__class__(**{**page.__dict__})
        if page.file.endswith("list-aall.html"):
            assert article is None and "no article id" in str(error)
            assert type(error).__name__ == "PageFailed" and error.blame == "parse"  # the run's DropItem
            continue
        assert error is None
        expected = extraction.extract_and_clean(here, None, fingerprint)
        assert post_bytes(article, "html") == post_bytes(expected, "html")
        assert article.input_key == expected.input_key and article.input_key  # keyed as a worker keys it
    assert post_bytes(results[0][0], "html")[0] == (FIXTURES / "seed/expected_clean.md").read_bytes()


def test_other_options_drop_the_head_start_whole(tmp_path):
    src = corpus(tmp_path / "in")
    head = headstart.begin(reprocess_args(str(src), "-o", str(tmp_path / "out"), "--jobs", "2"))
    assert head is not None
    wait_sent(head, len(PAGES))
    # the same pages, but the run's pool renders Markdown (a -s NEWSMIRROR_BODY=markdown, say)
    loop = Loop()
    fingerprint = run_fingerprint(None, "id", "markdown", False)
    pool = ExtractPool(2, None, loop.deliver, loop.call_later, "markdown", fingerprint)
    pages = headstart.first_files([str(src)], None, 100)
    results = pool_results(pool, pages, loop)
    assert pool.taken_early == 0
    assert head.executor._shutdown_thread  # its workers were stopped
    for page, (article, _) in zip(pages[:5], results, strict=False):
        here = extraction.extract_and_clean(page.__class__(**{**page.__dict__}), None, fingerprint)
        assert article.input_key == here.input_key  # keyed with the pool's options, not the head start's
        assert post_bytes(article, "markdown") == post_bytes(here, "markdown")


def test_a_page_not_as_it_was_sent_ahead_is_extracted_again(tmp_path):
    src = corpus(tmp_path / "in")
    head = headstart.begin(reprocess_args(str(src), "-o", str(tmp_path / "out"), "--jobs", "2"))
    assert head is not None
    wait_sent(head, len(PAGES))
    first = src / "00-202309110310.reconstructed.html"
    later = time.time() + 5
    os.utime(first, (later, later))  # listed again, it has another time: not the page sent ahead
    pages = headstart.first_files([str(src)], None, 100)
    assert head.take(pages[0]) is None
    assert head.take(pages[1]) is not None
    assert head.take(pages[1]) is None  # taken once

    # rewritten with its mtime put back (cp -p, rsync -t): the same Page, but not the same file
    third = Path(pages[2].file)
    st = third.stat()
    third.write_bytes(third.read_bytes().replace(b"</title>", b" (corrected)</title>", 1))
    os.utime(third, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert headstart.first_files([str(src)], None, 100)[2] == pages[2]
    assert head.take(pages[2]) is None
    # gone after it was listed: extracted again, which says so
    Path(pages[3].file).unlink()
    assert head.take(pages[3]) is None


@pytest.mark.parametrize("extra", [["--jobs", "1"], ["-s", "DOWNLOAD_DELAY=0"]])
def test_no_head_start_for_one_job_or_scrapy_settings(tmp_path, extra):
    src = corpus(tmp_path / "in")
    assert headstart.begin(reprocess_args(str(src), "-o", str(tmp_path / "out"), *extra)) is None


def test_an_unchanged_rerun_sends_nothing_ahead(tmp_path):
    src = corpus(tmp_path / "in")
    (src / "05-cna-2014-list-aall.html").unlink()  # a page that fails is new to every run
    out = tmp_path / "out"
    old = time.time() - 60  # settled files: the run records their stat keys
    for path in src.iterdir():
        os.utime(path, (old, old))
    assert run_cli("reprocess", str(src), "-o", str(out), "--jobs", "2", "-q").returncode == 0
    assert headstart.begin(reprocess_args(str(src), "-o", str(out), "--jobs", "2")) is None
    (src / "06-new.html").write_bytes((FIXTURES / PAGES[1]).read_bytes().replace(b"202308230192", b"202308230193"))
    head = headstart.begin(reprocess_args(str(src), "-o", str(out), "--jobs", "2"))
    assert head is not None and [p.file for p in head._chunks[0]] == [str(src / "06-new.html")]


def test_the_extraction_workers_and_the_command_line_import_no_scrapy(tmp_path):
    src = corpus(tmp_path / "in")
    code = f"""
import sys
import newsmirror.commands, newsmirror.extraction
assert not {{'scrapy', 'twisted'}} & set(sys.modules), sorted(m for m in sys.modules if m.startswith(('scrapy', 'twisted')))
from newsmirror import headstart
args = newsmirror.commands.build_parser().parse_args(['reprocess', {str(src)!r}, '-o', {str(tmp_path / 'o')!r}, '--jobs', '2'])
head = headstart.begin(args, "WARNING")
import scrapy.crawler  # what the command imports next, while the workers extract
print(head.executor.submit(eval, "'scrapy' in __import__('sys').modules").result())
head.executor.submit(__import__('logging').warning, "from a worker").result()
headstart.discard()
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "False\n"
    # a worker forked before Scrapy set up logging logs as Scrapy's root handler does
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[root\] WARNING: from a worker\n", result.stderr)


def test_reprocess_with_two_jobs_counts_what_it_extracted_during_start_up(tmp_path):
    src = corpus(tmp_path / "in")
    result = run_cli("reprocess", str(src), "-o", str(tmp_path / "out"), "--jobs", "2", "-vv")
    assert result.returncode == 1, result.stderr
    early = [line for line in result.stderr.splitlines() if "'newsmirror/extracted_during_startup'" in line]
    assert len(early) == 1 and int(early[0].split(":")[1].strip(" ,")) >= 1, result.stderr[-3000:]
    assert (tmp_path / "out/_posts/2023-09-11-cna-202309110310.md").read_bytes() == (
        FIXTURES / "seed/expected_clean.md"
    ).read_bytes()


@pytest.mark.parametrize("left_out", [0, 2])
def test_results_keep_submission_order_when_a_page_was_not_sent_ahead(tmp_path, left_out):
    src = corpus(tmp_path / "in")
    pages = headstart.first_files([str(src)], None, 100)
    fingerprint = run_fingerprint(None, "id", "html", False)
    terms = headstart.Terms(2, None, "html", fingerprint)
    signatures = {page.file: file_signature(page.file) for page in pages}
    ahead = [page for i, page in enumerate(pages) if i != left_out]  # known to the store, say
    head = headstart.HeadStart(terms, ahead, signatures)
    headstart._current = head
    if left_out == 0:
        wait_sent(head, len(ahead))  # all done before the run asks
    loop = Loop()
    pool = ExtractPool(2, None, loop.deliver, loop.call_later, "html", fingerprint)
    order: list[int] = []
    for i, page in enumerate(pages):
        pool.submit(page, lambda article, error, i=i: order.append(i))
    loop.run_until(lambda: len(order) == len(pages))
    pool.close()
    assert pool.taken_early == len(ahead)
    assert order == list(range(len(pages)))  # the page queued first is handed back first


def test_a_run_with_a_head_start_writes_and_records_what_a_run_without_one_does(tmp_path):
    import json
    import sqlite3

    src = corpus(tmp_path / "in")
    again = src / "99-again.html"
    shutil.copy(FIXTURES / PAGES[0], again)  # a second copy, read last, a newer capture: "unchanged"
    newer = time.time() + 1  # (copied within the same millisecond, it would be no newer: "skipped")
    os.utime(again, (newer, newer))

    def run(name: str, *extra: str):
        out = tmp_path / name
        result = run_cli("reprocess", str(src), "-o", str(out), "--jobs", "2", "-vv", *extra)
        assert result.returncode == 1, result.stderr[-2000:]  # the list page
        posts = {p.name: p.read_bytes() for p in sorted((out / "_posts").iterdir())}
        [report] = [json.loads(p.read_text()) for p in (out / ".newsmirror/runs").glob("*.json")]
        db = sqlite3.connect(out / ".newsmirror/state.sqlite")
        inputs = sorted(db.execute("SELECT * FROM inputs"))
        seen = sorted(db.execute("SELECT site, article_id, url, post_path, title, published, modified, "
                                 "content_hash, fetched_at, date_source FROM seen"))
        early = "'newsmirror/extracted_during_startup'" in result.stderr
        entries = [(p["outcome"], p["post"], p["requested"]) for p in report["posts"]]
        failures = [(f["url"], f["reason"]) for f in report["failures"]]
        return early, posts, report["counts"], entries, failures, inputs, seen

    with_head, *made = run("with")
    without, *made_without = run("without", "-s", "NEWSMIRROR_PROGRESS_EVERY=30")  # -s: no head start
    assert with_head and not without
    assert made == made_without
    assert made[1] == {"new": 5, "updated": 0, "unchanged": 1, "skipped": 0, "failed": 1}


def test_workers_logging_as_scrapy_does_uses_scrapys_format():
    from scrapy.settings import default_settings

    assert (extraction._LOG_FORMAT, extraction._LOG_DATEFORMAT) == (
        default_settings.LOG_FORMAT, default_settings.LOG_DATEFORMAT
    )


def test_a_head_start_whose_worker_died_is_not_adopted(tmp_path):
    import signal

    src = corpus(tmp_path / "in")
    head = headstart.begin(reprocess_args(str(src), "-o", str(tmp_path / "out"), "--jobs", "2"))
    assert head is not None
    wait_sent(head, len(PAGES))
    for process in list(head.executor._processes.values()):
        os.kill(process.pid, signal.SIGKILL)
    end = time.monotonic() + 30
    while not head.broken:
        assert time.monotonic() < end
        time.sleep(0.01)
    fingerprint = run_fingerprint(None, "id", "html", False)
    assert headstart.adopt(headstart.Terms(2, None, "html", fingerprint)) is None
    # the run's pool then forks workers of its own and every page is extracted
    loop = Loop()
    pool = ExtractPool(2, None, loop.deliver, loop.call_later, "html", fingerprint)
    results = pool_results(pool, headstart.first_files([str(src)], None, 100), loop)
    assert [e is None for _, e in results] == [True] * 5 + [False]
