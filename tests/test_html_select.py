"""The scoped selectors (html.select_within) give exactly what the whole-document CSS gives.

select_within is a faster route to ``el.cssselect(css)``: a cheaper class test, and
``descendant::`` instead of ``descendant-or-self::*/``; any_within skips the XPath when the
container has no element of the selected tags.  These tests pin that every route returns the same elements, in
document order, as lxml's own cssselect (cssselect's stock translation).
"""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from newsmirror.html import (
    _compiled_within,
    _subject_tags,
    any_within,
    has_text,
    matches,
    parse_fragment,
    parse_html,
    select,
    select_within,
    text_contains,
    text_of,
)
from newsmirror.sites.cna import LAYOUTS

FIXTURES = Path(__file__).parent / "fixtures" / "cna"

SNIPPET = """<html><body><div class="centralContent">
<h1><span>標題</span></h1>
<div class=" updatetime  x"><span>2023/08/23 15:33</span><time datetime="2023-08-23">a</time>
  <div class="updatetime"><span>nested</span><time>b</time></div></div>
<div class="updatetimes"><time datetime="x">not this one</time></div>
<div class="fullPic"><figure><img src="a.jpg"></figure></div>
<div class="media"><iframe src="https://www.youtube.com/embed/x"></iframe></div>
<section><div class="media">not a child</div></section>
<div class="paragraph"><p>one</p><div class="paragraph"><p>two</p></div></div>
<p class="">empty class</p><p>no class</p>
</div></body></html>"""

SELECTORS = [
    "div.centralContent h1",
    "div.centralContent h1 > span",
    "div.centralContent div.updatetime",
    "div.centralContent div.updatetime span",
    "div.centralContent div.updatetime time[datetime]",
    "div.centralContent div.updatetime time:nth-of-type(1)",
    "div.centralContent div.updatetime span:nth-of-type(2)",
    "div.centralContent div.fullPic, div.centralContent > div.media",
    "div.centralContent div.paragraph",
    "div.centralContent div.paragraph p:first-child",
    "div.centralContent p:nth-child(2)",
    "div.centralContent figure, div.centralContent h1 > span",
    "div.centralContent video",  # a tag the container does not have
    "div.centralContent div.nothing time",
    "div.centralContent *",
    "div.centralContent [class~=media]",
]


def stock(doc: lxml.html.HtmlElement, css: str) -> list:
    return doc.cssselect(css, translator="html")  # cssselect's own translation, no cache


@pytest.mark.parametrize("css", SELECTORS)
def test_select_within_is_the_whole_document_selector(css: str) -> None:
    doc = parse_html(SNIPPET)
    expected = stock(doc, css)
    assert select(doc, css) == expected
    assert select_within(doc, "div.centralContent", css) == expected
    assert any_within(doc, "div.centralContent", css) == bool(expected)


def test_every_cna_selector_on_every_cna_fixture() -> None:
    pages = sorted(FIXTURES.glob("*.html"))
    assert len(pages) >= 8
    checked = 0
    for page in pages:
        doc = parse_html(page.read_bytes())
        for layout in LAYOUTS:
            for field in ("marker", "title", "published_text", "modified_text", "lead", "body"):
                css = getattr(layout, field)
                expected = stock(doc, css)
                assert select_within(doc, layout.scope, css) == expected, (page.name, css)
                assert any_within(doc, layout.scope, css) == bool(expected), (page.name, css)
                checked += bool(expected)
    assert checked > 40


def test_the_cheap_routes_are_taken() -> None:
    within = _compiled_within("div.centralContent", "div.centralContent div.updatetime time[datetime]")
    assert within is not None and within.path.startswith("descendant::div[contains(@class, 'updatetime')")
    assert "@class and" not in within.path
    assert _subject_tags("div.centralContent", "div.centralContent figure, div.centralContent h1 > span") == (
        "figure",
        "span",
    )
    assert _subject_tags("div.centralContent", "div.centralContent div.x > *") is None
    # a selector of another shape is not compiled for the container
    assert _compiled_within("div.centralContent", "h1") is None


@pytest.mark.parametrize(
    "css", ["figure, div.floatImg", "div.box_1", "div.media", "[class~=fullPic]", "div:first-child", "div p", "*"]
)
def test_matches_is_membership_in_the_parents_selection(css: str) -> None:
    doc = parse_html(SNIPPET)
    for el in doc.iter("div", "figure", "p", "section"):
        parent = el.getparent()
        assert matches(el, css) == (el in stock(parent, css)), (css, el.tag, el.get("class"))
    assert not matches(doc, "*")  # no parent: nothing selects it


@pytest.mark.parametrize(
    "html",
    ["<p>已過查詢時效</p>", "<p>已過查詢\n  時效</p>", "<p>已過查詢 時效</p>", "<p>已過<b>查詢</b>\n時效。</p>",
     "<p>已過查詢時\u3000\n效</p>", "<p>查詢時效已過</p>", "<p> \n </p>", "<p>\xa0</p>", "<p><img src=a></p>", "<p>x</p>"],
)
def test_text_checks_agree_with_text_of(html: str) -> None:
    p = parse_fragment(html)[0]
    assert has_text(p) == bool(text_of(p))
    assert text_contains(p, "已過查詢時效") == ("已過查詢時效" in text_of(p))
