"""Crawl a loopback site keeping an HTTP cache and a WARC, stop the server, then reprocess each
store offline: the posts must be byte-identical to the crawl's, and re-runs must change nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import FAST, run_cli
from loopback import LoopbackSite
from test_crawl import PAGES, serve, sources_file

from newsmirror.stores import StoredPage, iter_stored_pages
from newsmirror.stores.httpcache import read_cache_entry


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """One crawl with --cache and --warc; the server is gone afterwards."""
    tmp = tmp_path_factory.mktemp("crawled")
    out = tmp / "out"
    with LoopbackSite() as site:
        serve(site)
        result = run_cli("crawl", "--sources", str(sources_file(site, tmp)), "-o", str(out), "--cache",
                         "--warc", str(tmp / "crawl.warc.gz"), *FAST)
    assert result.returncode == 0, result.stderr
    posts = {p.name: p.read_bytes() for p in (out / "_posts").glob("*.md")}
    assert len(posts) == len(PAGES)
    return tmp, out, posts


def posts_of(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (out / "_posts").glob("*.md")}


def report_of(out: Path, command: str = "reprocess") -> dict:
    return json.loads(sorted((out / ".newsmirror/runs").glob(f"*-{command}.json"))[-1].read_text())


@pytest.mark.parametrize("store", ["cache", "warc"])
def test_reprocess_offline_gives_byte_identical_posts(crawled, tmp_path, store):
    tmp, out, posts = crawled
    source = out / ".newsmirror/httpcache" if store == "cache" else tmp / "crawl.warc.gz"
    fresh = tmp_path / "fresh"
    result = run_cli("reprocess", str(source), "-o", str(fresh))
    assert result.returncode == 0, result.stderr
    assert posts_of(fresh) == posts
    report = report_of(fresh)
    assert report["counts"]["new"] == len(PAGES) and report["counts"]["failed"] == 0
    # robots.txt, the sitemap and the feed are in the store too: skipped, not failed
    reasons = {s["reason"] for s in report["skipped"]}
    assert any(r.startswith("not HTML") or r.startswith("stored response is HTTP") for r in reasons)


def test_reprocess_into_the_crawled_output_changes_nothing(crawled):
    tmp, out, posts = crawled
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "_posts").glob("*.md")}
    for source in (out / ".newsmirror/httpcache", tmp / "crawl.warc.gz"):
        result = run_cli("reprocess", str(source), "-o", str(out))
        assert result.returncode == 0, result.stderr
        assert report_of(out)["counts"]["unchanged"] == len(PAGES)
        assert report_of(out)["counts"]["new"] == 0
    assert {p: p.stat().st_mtime_ns for p in (out / "_posts").glob("*.md")} == mtimes
    assert posts_of(out) == posts


def test_changed_parser_output_rewrites_only_changed_posts(crawled, tmp_path):
    tmp, out, posts = crawled
    target = tmp_path / "out"
    run_cli("reprocess", str(tmp / "crawl.warc.gz"), "-o", str(target))
    name = "2023-09-11-cna-202309110310.md"
    (target / "_posts" / name).write_bytes(b"old parser output\n")  # as if written by an older version
    mtimes = {p.name: p.stat().st_mtime_ns for p in (target / "_posts").glob("*.md")}
    result = run_cli("reprocess", str(tmp / "crawl.warc.gz"), "-o", str(target))
    assert result.returncode == 0, result.stderr
    report = report_of(target)
    assert report["counts"]["updated"] == 1 and report["counts"]["unchanged"] == len(PAGES) - 1
    [entry] = report["posts"]
    assert {k: entry[k] for k in ("outcome", "url", "post")} == {
        "outcome": "updated", "url": "https://www.cna.com.tw/news/aopl/202309110310.aspx", "post": f"_posts/{name}"}
    after = {p.name: p.stat().st_mtime_ns for p in (target / "_posts").glob("*.md")}
    assert [n for n in after if after[n] != mtimes[n]] == [name]
    assert posts_of(target) == posts


def test_corrupt_cache_entry_and_truncated_warc_are_reported_per_record(crawled, tmp_path):
    tmp, out, posts = crawled
    cache = tmp_path / "httpcache"
    import shutil

    shutil.copytree(out / ".newsmirror/httpcache", cache)
    warc = tmp_path / "cut.warc.gz"
    data = (tmp / "crawl.warc.gz").read_bytes()
    warc.write_bytes(data[: len(data) * 2 // 3])  # a crawl killed while writing
    in_cut_warc = {r.url for r in iter_stored_pages(warc) if isinstance(r, StoredPage)}
    # break the cache entry of an article the cut WARC still has, so every article stays readable
    entries = [e.parent for e in sorted(cache.rglob("pickled_meta"))]
    broken = next(e for e in entries if "/news/" in (read_cache_entry(e).url or "")
                  and read_cache_entry(e).url in in_cut_warc)
    (broken / "response_body").write_bytes(b"")
    os.remove(broken / "pickled_meta")

    fresh = tmp_path / "fresh"
    result = run_cli("reprocess", str(cache), str(warc), "-o", str(fresh))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert any(str(broken) in line for line in errors)
    assert any(str(warc) in line and "truncated" in line for line in errors)
    # everything readable still became a post, identical to the crawl's
    written = posts_of(fresh)
    assert len(written) == len(PAGES)  # the cache or the WARC still had every article
    assert written == posts
