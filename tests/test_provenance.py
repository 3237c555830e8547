"""Date provenance: which page signal each publication date came from."""

from __future__ import annotations

import json

import pytest
from helpers import FIXTURES, article_from, run_cli

from newsmirror.state import SeenStore

EXPECTED = {
    "cna/cna-2013-popular-201308130021.html": "visible text (the site's time zone)",
    "cna/cna-2014-acn-201412120137.html": "visible text (the site's time zone)",
    "cna/cna-2023-acn-202308230192.html": "meta article:published_time",
    "cna/cna-2026-acul-202606280112.html": "meta article:published_time",
    "generic/example-news.html": "meta article:published_time",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_pages_name_their_date_signal(name):
    assert article_from(FIXTURES / name).date_source == EXPECTED[name]


def generic_page(tmp_path, head: str, body: str = ""):
    text = (f'<html><head><link rel="canonical" href="https://news.example.org/a/1">{head}</head><body>'
            f'<article><h1>Title</h1>{body}<p>{"Some article text. " * 30}</p></article></body></html>')
    path = tmp_path / "a.html"
    path.write_text(text, encoding="utf-8")
    return article_from(path)


def test_json_ld_time_elements_and_naive_times(tmp_path):
    ld = '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2026-11-20T09:15:00Z"}</script>'
    assert generic_page(tmp_path, ld).date_source == "JSON-LD datePublished"
    time_el = generic_page(tmp_path, "", '<time datetime="2026-11-20T09:15:00+01:00">20 Nov</time>')
    assert time_el.date_source == "<time datetime>"
    naive = generic_page(tmp_path, '<meta property="article:published_time" content="2026-11-20T09:15:00">')
    assert naive.date_source == "meta article:published_time (no offset: the site's time zone)"


def test_the_report_the_store_and_verbose_output_carry_it(tmp_path):
    out = tmp_path / "out"
    result = run_cli("reprocess", str(FIXTURES / "cna/cna-2014-acn-201412120137.html"), "-o", str(out), "-v")
    assert result.returncode == 0, result.stderr
    assert "  (date: visible text (the site's time zone))" in result.stderr
    report = json.loads(next((out / ".newsmirror/runs").glob("*.json")).read_text())
    assert report["posts"][0]["date_source"] == "visible text (the site's time zone)"
    with SeenStore(out / ".newsmirror/state.sqlite") as store:
        assert store.get("cna", "201412120137").date_source == "visible text (the site's time zone)"
    quiet = run_cli("reprocess", str(FIXTURES / "cna/cna-2023-acn-202308230192.html"), "-o", str(out))
    assert "(date: " not in quiet.stderr  # only with -v


def test_a_post_made_from_a_feed_item_is_dated_by_the_feed():
    from newsmirror.discovery import parse_feed_items
    from newsmirror.items import Page
    from newsmirror.sites import extract
    from newsmirror.sites.feed import feed_item_document

    url = "https://www.theguardian.com/world/rss"
    item = parse_feed_items((FIXTURES / "feeds/rssparser-guardian.rss").read_bytes(), url)[0]
    body = feed_item_document(item, source="guardian", feed_url=url, author="The Guardian")
    article = extract(Page(url=item.url or url, body=body, encoding="utf-8", label="The Guardian", from_feed=True))
    assert article.date_source == "feed"
