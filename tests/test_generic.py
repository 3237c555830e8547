"""Pages of sites without a parser of their own go through the trafilatura fallback."""

from __future__ import annotations

import pytest
from helpers import FIXTURES, article_from, page, write_through

from newsmirror.report import PageFailed

pytest.importorskip("trafilatura")
PAGE = FIXTURES / "generic/example-news.html"


def test_generic_article_fields():
    art = article_from(PAGE, url="http://127.0.0.1:9/some/path.html")
    assert art.url == "https://news.example.org/2026/11/harbour-bridge-reopens"
    assert art.site == "news.example.org" and len(art.article_id) == 12
    assert art.title == "Harbour bridge reopens after repairs"
    assert art.published.isoformat() == "2026-11-20T09:15:00+01:00"
    assert art.label == "news.example.org"
    assert "<p>The harbour bridge reopened to traffic on Friday morning" in art.body_html
    assert "within the approved budget of 38 million euros.</p>" in art.body_html
    assert "do not keep" not in art.body_html and "Another story" not in art.body_html
    assert "<h1>" not in art.body_html and "\n" not in art.body_html


def test_generic_post_file(tmp_path):
    [art] = write_through([page(PAGE, label="Example Daily")], tmp_path)
    assert art.post_path == f"_posts/2026-11-20-news-example-org-{art.article_id}.md"
    text = (tmp_path / art.post_path).read_text(encoding="utf-8")
    assert text.startswith('---\nlayout: post\ntitle: "Harbour bridge reopens after repairs"\n'
                           "date: 2026-11-20T08:15:00.000Z\nauthor: Example Daily\n"
                           "from: https://news.example.org/2026/11/harbour-bridge-reopens\n")


def test_generic_page_without_date_is_an_error():
    html = PAGE.read_text().replace('<meta property="article:published_time" content="2026-11-20T09:15:00+01:00">', "")
    from newsmirror.items import Page

    with pytest.raises(PageFailed, match="no readable publication date"):
        from newsmirror.pipelines import ExtractPipeline

        ExtractPipeline().process_item(Page(url="https://news.example.org/x", body=html.encode()))


def test_naive_times_of_unknown_sites_are_utc_wherever_they_come_from():
    from newsmirror.items import Page
    from newsmirror.pipelines import ExtractPipeline

    meta = PAGE.read_text().replace("2026-11-20T09:15:00+01:00", "2026-11-20T09:15:00")
    timed = PAGE.read_text().replace('<meta property="article:published_time" content="2026-11-20T09:15:00+01:00">', "")
    timed = timed.replace("<h1>Harbour", '<time datetime="2026-11-20T09:15:00">20 Nov</time><h1>Harbour')
    results = [ExtractPipeline().process_item(Page(url="https://news.example.org/x", body=h.encode())).published
               for h in (meta, timed)]
    assert [r.isoformat() for r in results] == ["2026-11-20T09:15:00+00:00"] * 2


def test_a_body_without_images_gets_the_share_image_captioned_by_its_alt_text():
    from newsmirror.items import Page
    from newsmirror.pipelines import ExtractPipeline

    html = PAGE.read_text().replace(
        '<figure><img src="/img/bridge.jpg" alt="The bridge at dawn"><figcaption>The bridge at dawn.</figcaption></figure>',
        "",
    ).replace(
        '<meta property="og:title"',
        '<meta property="og:image" content="/img/share.jpg">'
        '<meta property="og:image:alt" content="The reopened bridge from the east bank">'
        '<meta property="og:title"',
    )
    art = ExtractPipeline().process_item(Page(url="https://news.example.org/x", body=html.encode()))
    assert ('<figure><img src="https://news.example.org/img/share.jpg" alt="The reopened bridge from the east bank">'
            "<figcaption>The reopened bridge from the east bank</figcaption></figure>") in art.body_html
