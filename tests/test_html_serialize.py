"""html.paragraph_html (tidied, trimmed, tree untouched) and html.parse_fragment (lxml's tree)."""

from __future__ import annotations

from pathlib import Path

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


TRICKY_FRAGMENTS = [
    "", " ", "  x", "\n<p>a</p>", "<body class=x>t</body>", "a</body>b", "<html>x", "<!doctype html><p>x",
    "<head><title>t</title></head><p>x", "<meta charset=x><p>a", "<source><p>x", "<p>a<source>b</p>",
    "<!--c--> <p>x</p> tail", "<?pi x?><b>y", "<table><td>x", "</div></p>x", "<script>a</body>b</script>c",
    "<p>&nbsp;</p>", "<title>x</title>", "<style>p{}</style>t", "<br><br>x", "<img src=a>tail  ",
    "<li>|</li>\n<li>x</li>\n  <!--end-->\n", "text</p>\n<p>more",
]


def _shape(parse, piece: str) -> tuple:
    try:
        el = parse(piece)
    except Exception as exc:  # noqa: BLE001 - a page lxml cannot read as a fragment: the same error
        return (repr(exc),)
    return el.tag, dict(el.attrib), el.text, el.tail, etree.tostring(el, encoding="unicode")


def test_parse_fragment_builds_lxmls_fragment_tree() -> None:
    """parse_fragment skips lxml.html.fragment_fromstring's node moving; the tree is the same."""
    import lxml.html

    from newsmirror.html import fix_void_elements

    cna = Path(__file__).parent / "fixtures" / "cna"
    pieces = list(TRICKY_FRAGMENTS)
    for page in sorted(cna.glob("*.html"))[:4]:
        text = page.read_text(encoding="utf-8")
        pieces += [text[i : i + 1500] for i in range(0, len(text), 9000)]

    def stock(piece: str) -> etree._Element:
        wrapper = lxml.html.fragment_fromstring(piece, create_parent="div")
        fix_void_elements(wrapper)
        return wrapper

    for piece in pieces:
        assert _shape(parse_fragment, piece) == _shape(stock, piece), piece[:80]
