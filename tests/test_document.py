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


def test_container_tree_starts_at_the_article_block():
    """libxml2's tree from the container's start tag on: the block is the first element, and
    nothing of the page before it (the head's meta tags) is in the tree."""
    page = PageDocument(SEED_PAGE.read_bytes())
    parser = CNAParser()
    doc = page.container(parser.scopes, parser.scope_ends)
    assert doc is not None
    top = doc.find("body/*")
    assert top.tag == "div" and "centralContent" in top.get("class").split()
    assert top.find(".//h1") is not None
    assert doc.find(".//meta") is None and page.lxml().find(".//meta") is not None


def test_a_start_tag_inside_a_comment_is_not_the_container():
    """A browser sees no container in a comment; libxml2's tree from the first start tag on
    would see two blocks, so the whole page is searched (exactly as before)."""
    both = (
        b"<html><body><!-- <div class='centralContent'>old</div> -->"
        b"<div class='centralContent'><h1>real</h1></div></body></html>"
    )
    assert PageDocument(both).container(("div.centralContent",)) is None
    commented_only = b"<html><body><!-- <div class='centralContent'>old</div> --><p>x</p></body></html>"
    assert PageDocument(commented_only).container(("div.centralContent",)) is None
    real_only = b"<html><body><p>x</p><DIV id=a CLASS=centralContent><h1>real</h1></DIV></body></html>"
    doc = PageDocument(real_only).container(("div.centralContent",))
    assert doc is not None and [h.text for h in doc.iter("h1")] == ["real"]


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
    scoped = parser.parse(page.container(parser.scopes, parser.scope_ends), meta, "file:///x")
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


# Broken markup that HTML5 and libxml2 repair differently (an HTML5 tree nests the rest of the
# text inside the unclosed element): the container's tree must be libxml2's, as for the page.
BROKEN_MARKUP = [
    "<p><strong>lead</p>",
    '<p><a name="top"/>x</p>',
    '<div class="clear"/>',
    '<p><iframe src="https://www.youtube.com/embed/abc"/></p>',
    '<script src="x.js"/>',
    "<p><font color=red>x</p><p>y</p>",
    "<p>a</br>b</p>",
    '<p><image src="a.jpg"></p>',
    "<p><b>a<p>b</b></p>",
    "<table>stray<tr><td>c</td></tr></table>",
    '<p>t<figure><img src="f.jpg"></figure>after</p>',
    "<p>NUL\x00byte</p>",
    '<!-- <div class="centralContent"> an old container, commented out -->',
]
CNA_ARTICLES = sorted(
    p for p in (FIXTURES / "cna").glob("cna-20*.html") if "expired" not in p.name and "list" not in p.name
) + [SEED_PAGE]


def _fields(parse, *args):
    from newsmirror.sites import NotAnArticle

    try:
        return parse(*args)
    except NotAnArticle as exc:
        return f"NotAnArticle: {exc}"


def _scoped_and_whole(page_bytes: bytes):
    """The CNA fields (or the refusal) from the container tree the parser gets (the whole page
    where it gets none), from a whole-page libxml2 parse, and whether the container tree was used."""
    from newsmirror.sites.base import read_meta

    page = PageDocument(page_bytes)
    parser = CNAParser()
    meta = read_meta(page, "file:///x")
    tree = page.container(parser.scopes, parser.scope_ends)
    scoped = _fields(parser.parse, tree if tree is not None else page.lxml(), meta, "file:///x")
    whole = _fields(parser.parse, parse_html(page_bytes), meta, "file:///x")
    return scoped, whole, tree is not None


def _inserted(page_bytes: bytes, where: str, snippet: str) -> bytes:
    """``snippet`` inside the article body block, or just before ``</body>`` (after the block)."""
    at = re_body_start(page_bytes) if where == "inside" else page_bytes.rindex(b"</body>")
    return page_bytes[:at] + snippet.encode() + page_bytes[at:]


@pytest.mark.parametrize("snippet", BROKEN_MARKUP)
@pytest.mark.parametrize("fixture", CNA_ARTICLES, ids=lambda p: p.stem)
def test_container_tree_reads_broken_markup_like_the_whole_page(fixture, snippet):
    scoped, whole, fast = _scoped_and_whole(_inserted(fixture.read_bytes(), "inside", snippet))
    assert fast or "centralContent" in snippet  # the fast path, but for that one
    assert scoped == whole
    if "centralContent" not in snippet and "<script" not in snippet:
        assert isinstance(whole, dict) and whole["body_html"].count("<p") >= 2


# Markup *before* the container that makes libxml2 read the block differently from a parse that
# starts at it: such pages must get the whole-page parse (the same fields).
BEFORE_AND_INSIDE = [
    ("<table><tr><td>", "</td>"),  # the block in a table cell, a stray cell end inside it
    ("<table><tr><td>", "</table>"),
    ("</html>", ""),  # libxml2 drops what follows
    ("<body>", "</body>"),  # a second <body>, a stray </body> inside
    ("<html>", ""),
    ('<template><div class="centralContent"><h1>x</h1></div></template>', ""),
]


@pytest.mark.parametrize(("before", "inside"), BEFORE_AND_INSIDE)
@pytest.mark.parametrize("fixture", CNA_ARTICLES, ids=lambda p: p.stem)
def test_markup_before_the_container_gives_the_same_fields_as_the_whole_page(fixture, before, inside):
    import re

    page_bytes = fixture.read_bytes()
    start = re.search(rb'<div class="(?:centralContent|news_content_new)"', page_bytes).start()
    body_start = re_body_start(page_bytes)
    broken = (page_bytes[:start] + before.encode() + page_bytes[start:body_start] + b"<p>first</p>"
              + inside.encode() + page_bytes[body_start:])
    scoped, whole, _ = _scoped_and_whole(broken)
    assert scoped == whole


def test_a_link_urljoin_cannot_read_is_one_failure():
    from newsmirror.sites import NotAnArticle

    body = (SEED_PAGE.read_bytes()).replace(b"<head>", b'<head><link rel="canonical" href="http://[bad/x">', 1)
    with pytest.raises(NotAnArticle, match="^unreadable page metadata: "):
        extract(Page(url="file:///x.html", body=body))


def re_body_start(page: bytes) -> int:
    """Just inside the article body block (div.paragraph, or div.box_2 in the 2014 era)."""
    import re

    m = re.search(rb'<div class="(?:paragraph|box_2)">', page)
    assert m is not None
    return m.end()


def test_xhtml_page_with_an_xml_declaration_is_read():
    body = (
        b'<?xml version="1.0" encoding="utf-8"?>\n<html><head><title>T</title>'
        b'<meta property="og:title" content="An XHTML page"></head><body><p>x</p></body></html>'
    )
    page = PageDocument(body)
    assert page.meta_content("og:title") == "An XHTML page"
    assert page.lxml().findtext(".//p") == "x"


@pytest.mark.parametrize("body", [b"<!-- only a comment -->", b"<!DOCTYPE html>"])
def test_a_page_libxml2_cannot_read_is_one_unreadable_html_failure(body):
    from newsmirror.sites import NotAnArticle

    with pytest.raises(NotAnArticle, match="^unreadable HTML: "):
        extract(Page(url="https://example.com/news/1.html", body=body))


# -- reading stops after the container (CNAParser.scope_ends) ---------------------------------


def test_libxml2_reads_no_further_than_the_tag_after_the_container():
    """The seed page's tree ends with the ad block's start tag that follows the container;
    without the end marker the rest of the page (the footer) is read too."""
    parser = CNAParser()
    page = PageDocument(SEED_PAGE.read_bytes())
    cut = page.container(parser.scopes, parser.scope_ends)
    full = PageDocument(SEED_PAGE.read_bytes()).container(parser.scopes)
    assert cut is not None and full is not None
    last = list(cut.find("body").iter())[-1]
    assert "advertiseGroup" in (last.get("class") or "") and len(last) == 0
    assert len(list(full.iter())) > len(list(cut.iter()))
    top = cut.find("body/*")
    assert to_html(top) == to_html(full.find("body/*"))


# The end marker where it does not end the container: inside it (libxml2 must then read on), or
# the container's class name after it (libxml2 could see a second container there).
MARKER_IN_THE_WAY = [
    ("inside", "<p>the advertiseGroup of this paragraph</p>"),
    ("inside", '<p><span class="advertiseGroup">ad</span> text</p>'),
    ("inside", "<p>x</p><!-- advertiseGroup --><p>y</p>"),
    ("inside", "<p>x</p><!--新聞本文 結束 --><p>y</p>"),
    # libxml2 reads a <template>'s content as markup; lexbor's selectors do not see it
    ("after", '<div class="advertiseGroup"></div><template><div class="centralContent"><div class="media">'
              '<figure><img src="extra.jpg"></figure></div></div></template>'),
    ("after", '<div class="advertiseGroup"></div><template><div class="news_content_new"><div class="box_1">'
              '<img src="extra.jpg"><h2>extra</h2></div></div></template>'),
]


@pytest.mark.parametrize(("where", "snippet"), MARKER_IN_THE_WAY)
@pytest.mark.parametrize("fixture", CNA_ARTICLES, ids=lambda p: p.stem)
def test_an_end_marker_that_does_not_end_the_container_changes_nothing(fixture, where, snippet):
    page_bytes = fixture.read_bytes()
    scoped, whole, _ = _scoped_and_whole(_inserted(page_bytes, where, snippet))
    assert scoped == whole
    if where == "inside" and snippet.startswith("<p>x"):
        assert isinstance(whole, dict) and "<p>y</p>" in whole["body_html"]
    elif where == "inside":
        assert isinstance(whole, dict) and "advertiseGroup" in whole["body_html"] or "ad</span>" in whole["body_html"]
    elif ("news_content_new" in snippet) == (b"news_content_new" in page_bytes):  # the page's own era
        assert isinstance(whole, dict) and "extra.jpg" in whole["body_html"]  # libxml2 saw two blocks


# Random tags (a fixed seed) inserted around the end of the article block, where libxml2 stops
# reading: whatever they do to the block, its fields are those of a whole-page parse.
RANDOM_TAGS = [
    "<p>", "</p>", "<div>", "</div>", "<b>", "</b>", "<a href=x>", "</a>", "<table>", "<td>", "</td>",
    "</table>", "<ul>", "<li>", "<span>", "</span>", "<!--", "-->", "<script>", "</script>", "<textarea>",
    "</textarea>", "<template>", "</template>", "<br>", "</br>", "<img src=a.jpg>", "<figure>", "</figure>",
    "</body>", "</html>", "<body>", "<", ">", '"', "&", '<div class="advertiseGroup">', "advertiseGroup",
    "<!--新聞本文 結束 -->", '<div class="centralContent">', '<div class="news_content_new">',
    '<div class="media"><figure><img src=z.jpg></figure></div>', "<h1>T</h1>", '<div class="paragraph">',
]


@pytest.mark.parametrize("seed", range(6))
def test_random_tags_around_the_block_end_give_the_whole_page_fields(seed):
    import random

    rng = random.Random(seed)
    for _ in range(25):
        fixture = rng.choice(CNA_ARTICLES)
        page_bytes = fixture.read_bytes()
        block = page_bytes.find(b'class="centralContent"')
        block = block if block >= 0 else page_bytes.find(b'class="news_content_new"')
        end = max(page_bytes.find(b"advertiseGroup", block), page_bytes.find("新聞本文 結束".encode(), block))
        for _ in range(rng.randint(1, 4)):
            at = rng.randint(max(block + 40, end - 3000), end + 300)
            page_bytes = page_bytes[:at] + rng.choice(RANDOM_TAGS).encode() + page_bytes[at:]
        scoped, whole, _ = _scoped_and_whole(page_bytes)
        assert scoped == whole, (fixture.name, seed)


# Class names spelled with entity references in markup lexbor does not show its selectors (a
# <template>'s content) or reads as text: libxml2 decodes them, so only libxml2's tree can tell.
ENCODED_CONTAINERS = [
    '<template><div class="central&#67;ontent"><h1>Fake</h1><div class="paragraph"><p>fake</p></div></div></template>',
    '<template><div class="news&#95;content_new"><h1>Fake</h1><div class="box_2"><p>fake</p></div></div></template>',
    '<select><div class="central&#67;ontent"><h1>Fake</h1><div class="paragraph"><p>fake</p></div></div></select>',
    '<noscript><div class="central&#67;ontent"><h1>Fake</h1><div class="paragraph"><p>fake</p></div></div></noscript>',
]


@pytest.mark.parametrize("where", ["inside", "after"])
@pytest.mark.parametrize("snippet", ENCODED_CONTAINERS)
@pytest.mark.parametrize("fixture", CNA_ARTICLES, ids=lambda p: p.stem)
def test_entity_spelled_class_names_give_the_whole_page_fields(fixture, snippet, where):
    scoped, whole, _ = _scoped_and_whole(_inserted(fixture.read_bytes(), where, snippet))
    assert scoped == whole


# Markup for the one walk of lexbor's tree: every element the readers and the container search
# look at, in places a browser does not show as elements (comments, <template> content, raw
# text) or shows in other namespaces, in any case, with classes that match several scopes.
WALK_PIECES = [
    '<meta name="date" content="1">', '<META NAME=date CONTENT=" 2 ">', '<meta property="date" content="">',
    '<meta itemprop="date" content="3">', '<meta property="og:title" name="og:title" content="t">',
    '<meta name="a" property="b" itemprop="c" content="abc">', "<meta content=x>", "<meta name>",
    '<script type="application/ld+json">{"@type": "NewsArticle"}</script>', "<script>var s = '<meta name=s content=s>';</script>",
    '<link rel="canonical" href="/a">', '<LINK REL=" Canonical " HREF="/b">', "<link rel=stylesheet href=c>",
    '<time datetime="2024-01-02">x</time>', "<time>y</time>", '<svg><time datetime="svg"></time><script>1</script></svg>',
    '<math><meta name="m" content="m"></math>', '<template><meta name="t" content="t"><div class="centralContent"></div></template>',
    '<!-- <meta name="c" content="c"><div class="centralContent"> -->', '<div class="centralContent">',
    '<div class="x news_content_new centralContent">', '<div class="centralcontent">', '<p class="centralContent">',
    '<div class="news_content_new">', "</div>", "<p>", "<table><tr><td>", "</td></tr></table>",
    '<noscript><meta name="n" content="n"></noscript>', '<textarea><meta name="ta" content="ta"></textarea>',
    '<title><meta name="ti" content="ti"></title>', "<template>", "</template>", "<select>",
]


def _meta_content_as_before(page: PageDocument, *keys: str) -> str | None:
    """meta_content as it read before the one walk: an index of every (attribute, key)."""
    index: dict[tuple[str, str], list[str]] = {}
    for node in page.tree.css("meta"):
        for name in ("property", "name", "itemprop"):
            value = node.attributes.get(name)
            if value is not None:
                index.setdefault((name, value), []).append(node.attributes.get("content") or "")
    for key in keys:
        for name in ("property", "name", "itemprop"):
            for content in index.get((name, key), ()):
                if content.strip():
                    return content.strip()
    return None


@pytest.mark.parametrize("seed", range(30))
def test_one_walk_finds_what_a_walk_per_selector_finds(seed):
    """Each reader's elements from the one walk are the nodes, in the order, that ``tree.css``
    of that tag alone gives; meta_content reads as it did."""
    import random

    rng = random.Random(seed)
    for _ in range(20):
        html = "".join(rng.choice(WALK_PIECES) for _ in range(rng.randint(0, 30)))
        if rng.random() < 0.5:
            html = "<!DOCTYPE html>" + html  # no-quirks mode as well as quirks
        page = PageDocument(html or "<p>")
        for selector in ("meta", "script", "link", "time", "template", "div.centralContent", "div.news_content_new"):
            assert [n.mem_id for n in page._elements(selector)] == [
                n.mem_id for n in page.tree.css(selector)
            ], (html, selector)
        keys = {"date", "og:title", "a", "b", "c", "s", "m", "t", "n", "ta", "ti", "x", "missing", ""}
        for key in keys:
            assert page.meta_content(key) == _meta_content_as_before(page, key), (html, key)
        assert page.meta_content("missing", "date", "a") == _meta_content_as_before(page, "missing", "date", "a")
        assert list(page.time_datetimes()) == [
            n.attributes["datetime"] for n in page.tree.css("time") if n.attributes.get("datetime")
        ]

