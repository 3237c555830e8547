"""The serializer's paragraph writer (html.paragraph_html): tidied, trimmed, tree untouched."""

from __future__ import annotations

from lxml import etree

from newsmirror.html import paragraph_html, parse_fragment, to_html


def _p(html: str) -> etree._Element:
    return parse_fragment(html)[0]


def test_indentation_goes_between_cjk_and_becomes_a_space_elsewhere() -> None:
    p = _p('<p class="x" id="y">\n  中央社\n  記者 <b>Taipei\n  Times</b>\n  報導。\n  </p>')
    assert paragraph_html(p) == "<p>中央社記者 <b>Taipei Times</b>報導。</p>"


def test_only_the_outer_ends_are_trimmed() -> None:
    assert paragraph_html(_p("<p>  a <i> b </i> c  </p>")) == "<p>a <i> b </i> c</p>"
    assert paragraph_html(_p("<p><i> b </i></p>")) == "<p><i> b </i></p>"
    assert paragraph_html(_p("<p>  only text \xa0 </p>")) == "<p>only text</p>"
    # the last child is a comment without tail: the text before it keeps its spaces
    assert paragraph_html(_p("<p>a <b>b</b> c <!-- x --></p>")) == "<p>a <b>b</b> c </p>"


def test_markup_is_escaped_and_void_elements_have_no_end_tag() -> None:
    p = _p('<p>1 &lt; 2 &amp; <img src="a.jpg" alt="&quot;q&quot;"><br>x&nbsp;y</p>')
    assert paragraph_html(p) == '<p>1 &lt; 2 &amp; <img src="a.jpg" alt="&quot;q&quot;"><br>x&nbsp;y</p>'


def test_the_tree_is_left_as_it_was() -> None:
    p = _p("<p>\n 甲\n 乙 <b> 丙\n 丁 </b>\n</p>")
    before = to_html(p)
    paragraph_html(p)
    assert to_html(p) == before
