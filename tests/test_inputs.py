"""Bare files read by the extraction, not the main process (newsmirror.inputs): the skip stage
decides from a stat, the keys recorded are those of the bytes the extraction read, and a change
the stat cannot show (within the timestamp's granularity) is caught by the bytes."""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import FIXTURES

from newsmirror import extraction, inputs
from newsmirror.pipelines import (
    CleanPipeline,
    DedupePipeline,
    ExtractPipeline,
    SkipUnchangedPipeline,
    WritePipeline,
)
from newsmirror.report import PageFailed, PageUnchanged, RunReport
from newsmirror.runtime import Runtime
from newsmirror.spiders.cache import CacheSpider
from newsmirror.state import SeenStore
from newsmirror.stores import StoredPage, iter_stored_pages

GOLDEN_PAGE = FIXTURES / "seed/202309110310.reconstructed.html"
GOLDEN_POST = FIXTURES / "seed/expected_clean.md"
POST = "_posts/2023-09-11-cna-202309110310.md"
TITLE = "越美產官峰會 半導體與新科技合作成焦點"
SAME_SIZE_TITLE = "越美產官峰會 半導體與新科技合作為焦點"  # one character changed, same byte length


class Run:
    """The reprocess chain in this process, as Scrapy runs it (skip -> extract -> ... -> write)."""

    def __init__(self, tmp: Path) -> None:
        self.out = tmp / "out"
        self.runtime = Runtime(output=self.out, label=None, filename_style="id", body_format="html",
                               dry_run=False, show_diff=False, state_path=None, report=RunReport())
        self.store = SeenStore(tmp / "state.sqlite")
        self.skip = SkipUnchangedPipeline(self.store, self.out, self.runtime.input_key, self.runtime)

    def page(self, path: Path):
        [record] = list(iter_stored_pages(path, read_files=False))
        return CacheSpider(paths=[str(path)]).to_page(record)

    def extract_and_write(self, item):
        """The later stages, as a new run builds them (dedupe's run table is per run)."""
        rest = [ExtractPipeline(fingerprint=self.runtime.fingerprint), CleanPipeline(),
                DedupePipeline(self.store, self.out), WritePipeline(self.store, self.out)]
        for stage in rest:
            item = stage.process_item(item)
        return item

    def __call__(self, path: Path):
        return self.extract_and_write(self.skip.process_item(self.page(path)))

    def input_keys(self) -> set[str]:
        return set(self.store.input_keys("cna", "202309110310"))


@pytest.fixture
def settled(monkeypatch):
    """Every file counts as last changed long before it is read (a fresh test file never is)."""
    monkeypatch.setattr(inputs, "RACY_S", -3600.0)


def saved_page(tmp_path: Path, title: str = TITLE) -> Path:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    path = folder / "page.html"
    html = GOLDEN_PAGE.read_text(encoding="utf-8")
    path.write_bytes(html.replace(TITLE, title).encode())
    return path


def with_body(page):
    """The same page with its bytes read, as the extraction reads it."""
    return replace(page, body=Path(page.file).read_bytes(), file="")


def no_reading(*args, **kwargs):
    raise AssertionError("an unchanged file must be skipped without reading it")


def test_a_stored_file_is_listed_without_its_bytes(tmp_path):
    path = saved_page(tmp_path)
    [record] = list(iter_stored_pages(tmp_path / "in", read_files=False))
    assert isinstance(record, StoredPage)
    assert (record.file, record.body, record.origin) == (str(path), b"", str(path))
    assert record.fetched_at.timestamp() == pytest.approx(path.stat().st_mtime)
    page = CacheSpider(paths=[str(path)]).to_page(record)
    assert (page.file, page.body, page.url) == (str(path), b"", path.resolve().as_uri())
    [read] = list(iter_stored_pages(tmp_path / "in"))  # the default still reads
    assert read.body == path.read_bytes() and read.file == ""


def test_settled_file_is_skipped_by_its_stat_and_a_same_size_rewrite_is_not(tmp_path, settled, monkeypatch):
    run = Run(tmp_path)
    path = saved_page(tmp_path)
    first = run(path)
    assert first.outcome == "new"
    assert (run.out / POST).read_bytes() == GOLDEN_POST.read_bytes()
    page = run.page(path)
    trusted, settling = run.runtime.stat_keys(page)
    assert run.input_keys() == {trusted, run.runtime.input_key(with_body(page))}

    with monkeypatch.context() as m:  # neither the main process nor the extraction reads it
        m.setattr(extraction, "read_input_file", no_reading)
        m.setattr("newsmirror.runtime.read_file", no_reading)
        with pytest.raises(PageUnchanged) as unchanged:
            run(path)
    assert unchanged.value.post_path == POST

    # rewritten in place, same size, its mtime put back: only the ctime tells, and it does
    st = path.stat()
    saved_page(tmp_path, SAME_SIZE_TITLE)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    again = run(path)
    assert again.outcome == "updated"
    assert f'title: "{SAME_SIZE_TITLE}"' in (run.out / POST).read_text(encoding="utf-8")


def test_a_file_changed_after_the_skip_stage_is_recorded_as_read(tmp_path, settled, monkeypatch):
    run = Run(tmp_path)
    path = saved_page(tmp_path)
    item = run.skip.process_item(run.page(path))  # the main process saw the first version's stat
    seen_then = run.runtime.stat_keys(item)
    saved_page(tmp_path, "另一個標題")  # ... and the file changes before the extraction reads it
    article = run.extract_and_write(item)
    assert article.outcome == "new" and article.title == "另一個標題"
    now = run.page(path)
    assert run.input_keys() == {run.runtime.stat_keys(now)[0], run.runtime.input_key(with_body(now))}
    assert not run.input_keys() & set(seen_then)  # never the key of bytes nobody extracted
    with monkeypatch.context() as m:
        m.setattr(extraction, "read_input_file", no_reading)
        with pytest.raises(PageUnchanged):
            run(path)


def first_read_settling(tmp_path: Path) -> tuple[Run, Path, str]:
    """A page just written, reprocessed once: it is recorded by its bytes and a settling stat
    key, not a trusted one.  The run, the file and its trusted key."""
    run = Run(tmp_path)
    path = saved_page(tmp_path)  # just written: settling
    assert run(path).outcome == "new"
    trusted, settling = run.runtime.stat_keys(run.page(path))
    assert settling in run.input_keys() and trusted not in run.input_keys()
    return run, path, trusted


def test_a_file_changed_just_before_it_was_read_is_checked_by_its_bytes(tmp_path, monkeypatch):
    """On a file system whose timestamps are too coarse to show a rewrite (simulated: one stat
    signature for every state of the file), a file changed shortly before the read is only
    trusted once its bytes match."""
    monkeypatch.setattr(inputs, "signature", lambda st: b"coarse")
    run, path, _ = first_read_settling(tmp_path)

    with monkeypatch.context() as m:  # unchanged: the main process reads and hashes it, no extraction
        m.setattr(extraction, "read_input_file", no_reading)
        with pytest.raises(PageUnchanged):
            run(path)
    saved_page(tmp_path, SAME_SIZE_TITLE)  # the same signature, other bytes
    assert run(path).outcome == "updated"
    assert f'title: "{SAME_SIZE_TITLE}"' in (run.out / POST).read_text(encoding="utf-8")


def test_a_settling_file_gets_its_trusted_key_once_it_has_settled(tmp_path, monkeypatch):
    """A file first read right after it was written (a fresh copy of a corpus) is checked by its
    bytes on the next run; once it has settled, that run records its trusted stat key, and the
    run after it needs only the stat."""
    run, path, trusted = first_read_settling(tmp_path)

    monkeypatch.setattr(inputs, "RACY_S", -3600.0)  # time passes: the file has settled
    with monkeypatch.context() as m:
        m.setattr(extraction, "read_input_file", no_reading)
        with pytest.raises(PageUnchanged):
            run(path)  # checked by its bytes, read in the main process
    run.skip.close_spider()
    assert trusted in run.input_keys()

    with monkeypatch.context() as m:  # now neither the main process nor the extraction reads it
        m.setattr(extraction, "read_input_file", no_reading)
        m.setattr("newsmirror.runtime.read_file", no_reading)
        with pytest.raises(PageUnchanged):
            run(path)


def test_a_dry_run_records_no_settled_key(tmp_path, monkeypatch):
    run = Run(tmp_path)
    path = saved_page(tmp_path)
    assert run(path).outcome == "new"
    before = run.input_keys()
    monkeypatch.setattr(inputs, "RACY_S", -3600.0)
    run.runtime.dry_run = True
    with pytest.raises(PageUnchanged):
        run(path)
    run.skip.close_spider()
    assert run.input_keys() == before


def test_a_fifo_named_html_is_one_failure_not_a_hang(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "pipe.html")
    [record] = list(iter_stored_pages(folder, read_files=False))
    assert (record.origin, record.reason) == (str(folder / "pipe.html"), "cannot read file: not a regular file")


def test_with_a_trusted_coarse_signature_the_rewrite_would_be_missed(tmp_path, settled, monkeypatch):
    """The counter-test of the one above: what the settling rule prevents."""
    monkeypatch.setattr(inputs, "signature", lambda st: b"coarse")
    run = Run(tmp_path)
    path = saved_page(tmp_path)
    assert run(path).outcome == "new"
    saved_page(tmp_path, SAME_SIZE_TITLE)
    with pytest.raises(PageUnchanged):
        run(path)


def test_a_file_gone_before_the_extraction_is_one_failure_naming_it(tmp_path):
    run = Run(tmp_path)
    path = saved_page(tmp_path)
    item = run.skip.process_item(run.page(path))
    path.unlink()
    with pytest.raises(PageFailed, match=r"^cannot read file: No such file or directory$"):
        run.extract_and_write(item)
    assert item.origin == str(path)  # the report names the page by its origin, the file


def test_reprocess_with_two_jobs_reads_files_in_the_workers(tmp_path):
    from helpers import run_cli

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(GOLDEN_PAGE, folder / "a.html")
    out = tmp_path / "out"
    for expected in ("1 new, 0 updated, 0 unchanged", "0 new, 0 updated, 1 unchanged"):
        result = run_cli("reprocess", str(folder), "-o", str(out), "--jobs", "2")
        assert result.returncode == 0 and expected in result.stderr, result.stderr
        assert (out / POST).read_bytes() == GOLDEN_POST.read_bytes()
        # the workers keyed what they read: its bytes, and its stat (settling, unless the machine
        # took over 2 s from the copy to the read)
        keys = {k for (k,) in sqlite3.connect(out / ".newsmirror/state.sqlite").execute("SELECT input_key FROM inputs")}
        run = Run(tmp_path)
        page = run.page(folder / "a.html")
        content = run.runtime.input_key(with_body(page))
        assert content in keys and len(keys) == 2 and (keys - {content}) <= set(run.runtime.stat_keys(page))
