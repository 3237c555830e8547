"""The one-parse page document (lexbor) and the lxml trees it hands to parsers."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsmirror.document import PageDocument
from newsmirror.html import parse_html, to_html
from newsmirror.items import Page
from newsmirror.sites import extract
from newsmirror.sites.cna import CNAParser

FIXTURES = Path(__file__).parent / "fixtures"
SEED_PAGE = FIXTURES / "seed" / "202309110310.reconstructed.html"

HEAD = (
    '<html><head><meta charset="{charset}"><meta property="og:title" content="{title}">'
    '<link rel="canonical" href="/news/1.html"><script type="application/ld+json">'
    '{{"@type": "NewsArticle", "headline": "{title}"}}</script></head>'
    '<body><time datetime="2024-05-01T08:00:00+09:00">x</time></body></html>'
)


@pytest.mark.parametrize(
    "charset",
    ["utf-8", "iso-2022-jp", "shift_jis", "euc-jp", "utf-16"],
)
def test_page_readers_see_the_decoded_text_whatever_the_charset(charset):
    """Bytes go to lexbor as they are only when they read as UTF-8; 7-bit stateful encodings
    (ISO-2022-JP is all ASCII bytes) and UTF-16 are decoded first."""
    title = "東京で地震、震度５弱"
    body = HEAD.format(charset=charset, title=title).encode(charset)
    page = PageDocument(body, charset)
    assert page.meta_content("og:title") == title
    assert list(page.canonical_hrefs()) == ["/news/1.html"]
    assert title in next(page.jsonld_texts())
    assert list(page.time_datetimes()) == ["2024-05-01T08:00:00+09:00"]


def test_utf8_bom_and_crlf_pages_read_like_plain_ones():
    text = HEAD.format(charset="utf-8", title="標題").replace("><", ">\r\n<")
    plain = PageDocument(text.encode())
    with_bom = PageDocument(b"\xef\xbb\xbf" + text.encode())
    assert plain.meta_content("og:title") == with_bom.meta_content("og:title") == "標題"
    assert "\r" not in (plain.tree.html or "") and "\r" not in (with_bom.tree.html or "")


def test_empty_document_is_refused():
    with pytest.raises(ValueError, match="empty document"):
        PageDocument(b" \n\t ")


def test_meta_content_takes_the_first_non_empty_value_under_any_attribute_name():
    page = PageDocument(
        b'<meta name="date" content=" "><meta itemprop="date" content="2024-01-02">'
        b'<meta property="date" content="">'
    )
    assert page.meta_content("date") == "2024-01-02"
    assert page.meta_content("missing", "date") == "2024-01-02"
    assert page.meta_content("missing") is None


def test_container_is_the_article_block_without_its_furniture():
    page = PageDocument(SEED_PAGE.read_bytes())
    parser = CNAParser()
    doc = page.container(parser.scopes, parser.furniture)
    assert doc is not None
    [container] = doc.findall(".//div[@class='centralContent']")
    assert doc.find(".//svg") is None and not doc.xpath("//div[contains(@class, 'shareSide')]")
    assert container.find(".//h1") is not None
    # the whole page still has them: only the parser's copy leaves them out
    assert page.lxml().find(".//svg") is not None


def test_two_containers_mean_the_whole_page():
    html = b"<div class='centralContent'><h1>a</h1></div><div class='centralContent'><h1>b</h1></div>"
    assert PageDocument(html).container(("div.centralContent",)) is None
    assert PageDocument(b"<p>no container</p>").container(("div.centralContent",)) is None


def test_the_container_tree_gives_the_same_fields_as_the_whole_page():
    """What the CNA parser reads from the container alone is what it reads from the page."""
    body = SEED_PAGE.read_bytes()
    page = PageDocument(body)
    parser = CNAParser()
    from newsmirror.sites.base import read_meta

    meta = read_meta(page, "file:///x")
    whole = parser.parse(parse_html(body), meta, "file:///x")
    scoped = parser.parse(page.container(parser.scopes, parser.furniture), meta, "file:///x")
    assert scoped == whole
    assert scoped["body_html"].count("<p>") >= 5


def test_a_page_with_two_article_blocks_is_parsed_from_the_whole_page():
    """Two containers: the parser gets the whole page (select_within then searches it all),
    exactly as before the one-parse document."""
    body = SEED_PAGE.read_bytes().replace(
        b"</body>", b"<div class='centralContent'><p>stray</p></div></body>", 1
    )
    article = extract(Page(url="file:///x.html", body=body))
    expected = extract(Page(url="file:///x.html", body=SEED_PAGE.read_bytes()))
    assert article.title == expected.title and article.body_html == expected.body_html


def test_lxml_tree_repairs_void_elements_like_parse_html():
    html = b"<picture><source srcset='a.webp'><img src='a.jpg'></picture><p>after</p>"
    assert to_html(PageDocument(html).lxml().find(".//picture")) == to_html(parse_html(html).find(".//picture"))
