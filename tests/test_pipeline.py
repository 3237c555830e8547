"""The pipeline chain offline: same article -> same file, idempotence, stubs, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import FIXTURES, page, write_through

from newsmirror import atomic
from newsmirror.items import Page
from newsmirror.report import PageFailed, PageSkipped, PageUnchanged
from newsmirror.state import SeenStore

GOLDEN_PAGE = FIXTURES / "seed/202309110310.reconstructed.html"
EXPIRED = FIXTURES / "cna/cna-2019capture-asoc-201603190029-expired.html"
POST = "_posts/2023-09-11-cna-202309110310.md"


def edited(title: str | None = None, minute: str | None = None) -> Page:
    html = GOLDEN_PAGE.read_text(encoding="utf-8")
    if title:
        html = html.replace("<h1><span>越美產官峰會 半導體與新科技合作成焦點</span></h1>", f"<h1><span>{title}</span></h1>")
    if minute:
        html = html.replace("2023-09-11T20:40:00+08:00", f"2023-09-11T20:{minute}:00+08:00")
    return Page(url="file:///edited.html", body=html.encode(), origin="edited.html")


def test_second_run_is_unchanged_and_does_not_touch_the_file(tmp_path):
    store = SeenStore(tmp_path / "state.sqlite")
    [first] = write_through([page(GOLDEN_PAGE)], tmp_path, store)
    os.utime(tmp_path / POST, (1_000_000, 1_000_000))
    [second] = write_through([page(GOLDEN_PAGE)], tmp_path, store)
    assert (first.outcome, second.outcome) == ("new", "unchanged")
    assert (tmp_path / POST).stat().st_mtime == 1_000_000
    assert len(store) == 1


def test_title_edit_rewrites_the_same_file(tmp_path):
    store = SeenStore.memory()
    write_through([page(GOLDEN_PAGE)], tmp_path, store, filename_style="title")
    [art] = write_through([edited(title="越美峰會 標題改了")], tmp_path, store, filename_style="title")
    posts = sorted(p.name for p in (tmp_path / "_posts").iterdir())
    assert posts == ["2023-09-11-越美產官峰會 半導體與新科技合作成焦點.md"]
    assert art.outcome == "updated"
    assert 'title: "越美峰會 標題改了"' in (tmp_path / "_posts" / posts[0]).read_text(encoding="utf-8")


def test_changed_date_keeps_the_file(tmp_path):
    store = SeenStore.memory()
    write_through([page(GOLDEN_PAGE)], tmp_path, store)
    [art] = write_through([edited(minute="45")], tmp_path, store)
    assert art.post_path == POST and art.outcome == "updated"
    assert "date: 2023-09-11T12:45:00.000Z" in (tmp_path / POST).read_text(encoding="utf-8")


def test_same_article_twice_in_one_run_is_skipped(tmp_path):
    with pytest.raises(PageSkipped, match="already handled in this run"):
        write_through([page(GOLDEN_PAGE), page(GOLDEN_PAGE)], tmp_path)


def test_stub_never_overwrites_a_good_post(tmp_path):
    store = SeenStore.memory()
    write_through([page(GOLDEN_PAGE)], tmp_path, store)
    good = (tmp_path / POST).read_bytes()
    stub = GOLDEN_PAGE.read_text(encoding="utf-8")
    start = stub.index('<div class="paragraph">')
    truncated = stub[:start] + '<div class="paragraph"><p>（中央社記者陳家倫河內11日專電）14家</p>' \
        "<div>您所瀏覽的新聞已過查詢時效。</div></div></body></html>"
    with pytest.raises(PageFailed, match="expired"):
        write_through([Page(url="file:///stub.html", body=truncated.encode())], tmp_path, store)
    cut = stub[: stub.index("<h1>")]  # a download cut off before the article
    with pytest.raises(PageFailed):
        write_through([Page(url="https://www.cna.com.tw/news/aopl/202309110310.aspx", body=cut.encode())],
                      tmp_path, store)
    assert (tmp_path / POST).read_bytes() == good


def test_expired_page_writes_nothing(tmp_path):
    with pytest.raises(PageFailed, match="已過查詢時效"):
        write_through([page(EXPIRED)], tmp_path)
    assert not (tmp_path / "_posts").exists()


def test_interrupted_write_leaves_old_post_and_no_temp_file(tmp_path, monkeypatch):
    store = SeenStore.memory()
    write_through([page(GOLDEN_PAGE)], tmp_path, store)
    good = (tmp_path / POST).read_bytes()

    def crash(src, dst):
        raise KeyboardInterrupt  # the process dies between writing the temp file and the rename

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_through([edited(title="新標題")], tmp_path, store)
    assert (tmp_path / POST).read_bytes() == good
    assert sorted(p.name for p in (tmp_path / "_posts").iterdir()) == [Path(POST).name]
    # and the seen-store was not told about a post that is not on disk
    assert store.get("cna", "202309110310").title == "越美產官峰會 半導體與新科技合作成焦點"


def test_dry_run_writes_nothing(tmp_path):
    [art] = write_through([page(GOLDEN_PAGE)], tmp_path, dry_run=True)
    assert art.outcome == "new"
    assert not tmp_path.joinpath("_posts").exists()


def test_label_override_goes_to_author_tags_categories(tmp_path):
    [art] = write_through([page(GOLDEN_PAGE, label="中央社 [測試]")], tmp_path)
    text = (tmp_path / art.post_path).read_text(encoding="utf-8")
    assert "\nauthor: 中央社 [測試]\n" in text
    assert '\ntags: [ "中央社 [測試]" ]\n' in text and '\ncategories: [ "中央社 [測試]" ]\n' in text


def _key(code_version: str):
    import hashlib

    return lambda p: hashlib.sha256(code_version.encode() + p.url.encode() + p.body).hexdigest()


def test_unchanged_input_is_skipped_before_parsing_unless_the_post_was_touched(tmp_path, monkeypatch):
    store = SeenStore(tmp_path / "state.sqlite")
    [first] = write_through([page(GOLDEN_PAGE)], tmp_path, store, input_key=_key("v1"))
    assert first.outcome == "new"

    from newsmirror import extraction as extract_module  # where the extract stage calls the parser

    def no_parsing(*args, **kwargs):
        raise AssertionError("an unchanged input must not be parsed")

    with monkeypatch.context() as m:
        m.setattr(extract_module, "extract", no_parsing)
        with pytest.raises(PageUnchanged) as unchanged:
            write_through([page(GOLDEN_PAGE)], tmp_path, store, input_key=_key("v1"))
    assert (unchanged.value.post_path, unchanged.value.url) == (POST, "https://www.cna.com.tw/news/aopl/202309110310.aspx")

    # a post edited by hand is rewritten from the same input
    (tmp_path / POST).write_text("edited by hand\n")
    [again] = write_through([page(GOLDEN_PAGE)], tmp_path, store, input_key=_key("v1"))
    assert again.outcome == "updated"
    assert (tmp_path / POST).read_bytes() == (FIXTURES / "seed/expected_clean.md").read_bytes()

    # new code (or other options) means a new key: the page is parsed again, the post is unchanged
    [newcode] = write_through([page(GOLDEN_PAGE)], tmp_path, store, input_key=_key("v2"))
    assert newcode.outcome == "unchanged"


def test_runtime_input_key_covers_bytes_url_label_and_options(tmp_path):
    from newsmirror.report import RunReport
    from newsmirror.runtime import Runtime

    def runtime(**kw):
        base = dict(output=tmp_path, label=None, filename_style="id", body_format="html", dry_run=False,
                    show_diff=False, state_path=None, report=RunReport())
        return Runtime(**{**base, **kw})

    p = page(GOLDEN_PAGE)
    key = runtime().input_key(p)
    assert key == runtime().input_key(page(GOLDEN_PAGE))
    assert key != runtime(body_format="markdown").input_key(p)
    assert key != runtime(label="x").input_key(p)
    assert key != runtime().input_key(page(GOLDEN_PAGE, url="https://elsewhere/"))
    assert key != runtime().input_key(page(GOLDEN_PAGE, label="x"))
    assert key != runtime().input_key(Page(url=p.url, body=p.body + b" ", origin=p.origin))


def test_lost_state_still_finds_the_post_of_the_same_article(tmp_path):
    write_through([page(GOLDEN_PAGE)], tmp_path, SeenStore.memory())
    # the state file is gone and CNA moved the publication time past midnight UTC
    moved = GOLDEN_PAGE.read_text(encoding="utf-8").replace("2023-09-11T20:40:00+08:00", "2023-09-12T09:00:00+08:00")
    [art] = write_through([Page(url="file:///moved.html", body=moved.encode())], tmp_path, SeenStore.memory())
    assert art.post_path == POST and art.outcome == "updated"
    assert sorted(p.name for p in (tmp_path / "_posts").iterdir()) == [Path(POST).name]
    assert "date: 2023-09-12T01:00:00.000Z" in (tmp_path / POST).read_text(encoding="utf-8")


def test_newest_capture_wins_whatever_the_reading_order(tmp_path):
    from datetime import datetime, timezone

    old = edited(title="舊標題")
    old.fetched_at = datetime(2023, 9, 11, 13, 0, tzinfo=timezone.utc)
    new = page(GOLDEN_PAGE)
    new.fetched_at = datetime(2023, 9, 12, 13, 0, tzinfo=timezone.utc)
    store = SeenStore.memory()
    # both captures in one run (a WARC appends in time order), the older first
    arts = write_through([old, new], tmp_path, store)
    assert [a.outcome for a in arts] == ["new", "updated"]
    assert (tmp_path / POST).read_bytes() == (FIXTURES / "seed/expected_clean.md").read_bytes()
    # a later run over the old capture alone (say, after a parser fix) must not roll the post back
    again = edited(title="舊標題")
    again.fetched_at = old.fetched_at
    with pytest.raises(PageSkipped, match="older capture"):
        write_through([again], tmp_path, store)
    # in one run, newest first: the older copy is skipped
    other = tmp_path / "other"
    arts = []
    with pytest.raises(PageSkipped, match="already handled in this run"):
        write_through([new, again], other, SeenStore.memory())
    assert 'title: "越美產官峰會' in (other / POST).read_text(encoding="utf-8")


def test_page_cut_off_mid_text_never_replaces_the_complete_post(tmp_path):
    store = SeenStore.memory()
    write_through([page(GOLDEN_PAGE)], tmp_path, store)
    html = GOLDEN_PAGE.read_bytes()
    cut = html[: html.index("雙方企業代表".encode())]  # a download that stopped after two paragraphs
    with pytest.raises(PageFailed, match="truncated page"):
        write_through([Page(url="file:///cut.html", body=cut)], tmp_path, store)
    assert (tmp_path / POST).read_bytes() == (FIXTURES / "seed/expected_clean.md").read_bytes()


def test_only_old_temp_files_are_cleaned_and_only_under_the_lock(tmp_path):
    from newsmirror.pipelines import WritePipeline

    posts = tmp_path / "_posts"
    posts.mkdir()
    old, fresh = posts / ".2023-09-11-cna-1.md.abc.tmp", posts / ".2023-09-11-cna-2.md.def.tmp"
    old.write_text("half")
    fresh.write_text("half")
    os.utime(old, (1_000_000, 1_000_000))
    WritePipeline(SeenStore.memory(), tmp_path, exclusive=False).open_spider()
    assert old.exists()
    WritePipeline(SeenStore.memory(), tmp_path, exclusive=True).open_spider()
    assert not old.exists() and fresh.exists()
