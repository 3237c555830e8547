"""Parsing and serializing HTML the way the posts need it.

lxml (libxml2) is fast but its HTML parser predates HTML5: it does not know that ``<source>``,
``<track>`` or ``<wbr>`` are void elements and nests what follows inside them.  ``parse_html``
repairs that, and ``to_html`` is a small HTML5 serializer that writes void elements without end
tags, attributes in source order with double quotes -- the exact shape of the sample posts.
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Iterable
from functools import lru_cache

import cssselect
import lxml.html
from cssselect.xpath import XPathExpr, is_non_whitespace
from lxml import etree
from lxml.cssselect import CSSSelector, LxmlHTMLTranslator
from w3lib.encoding import html_body_declared_encoding, html_to_unicode, read_bom, resolve_encoding

VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
# Elements libxml2 does not treat as void although HTML5 does.
_MISNESTED_VOID = ("source", "track", "wbr", "embed")
BOOLEAN_ATTRS = frozenset(
    "allowfullscreen async autofocus autoplay checked controls default defer disabled hidden "
    "ismap loop multiple muted nomodule novalidate open playsinline readonly required reversed "
    "selected".split()
)
_RAW_TEXT = frozenset(("script", "style"))

_CJK = (
    "\u2e80-\u9fff"  # CJK radicals .. unified ideographs (incl. punctuation, kana, bopomofo)
    "\uf900-\ufaff"  # compatibility ideographs
    "\ufe30-\ufe4f"  # CJK compatibility forms
    "\uff00-\uffef"  # full-width forms
)
_NEWLINE_RUN = re.compile(r"[ \t\f\r]*\n\s*")
_CJK_CHAR = re.compile(f"[{_CJK}]")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    resolved = resolve_encoding(name) or name
    try:
        return codecs.lookup(resolved).name
    except LookupError:
        return None


_UTF8_CHUNK = 32768
_utf8_decode = codecs.utf_8_decode


def _is_utf8(body: bytes, chunk: int = _UTF8_CHUNK) -> bool:
    """Whether ``body.decode("utf-8")`` would succeed, without building the whole page's str:
    the incremental decoder reads it a chunk at a time (a sequence cut by a chunk's end waits
    for the next; a chunk of 4 bytes or more always moves on), and the small strs it throws
    away cost ~30 % less than one of the page's size.  The same answer as ``bytes.decode`` on
    every input (tests/test_decoding.py fuzzes it)."""
    view = memoryview(body)
    at, size = 0, len(body)
    try:
        while size - at > chunk:
            at += _utf8_decode(view[at : at + chunk], "strict", False)[1]
        _utf8_decode(view[at:], "strict", True)
    except UnicodeDecodeError:
        return False
    return True


def _guess(body: bytes) -> str | None:
    """No BOM, HTTP charset or <meta>: UTF-8 if the bytes are UTF-8, else charset-normalizer's
    best guess (it tells Big5 from GBK on news pages); the replacement-character check on the
    title and body catches a wrong guess."""
    if _is_utf8(body):
        return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    return best.encoding if best is not None else None


def choose_encoding(body: bytes, http_charset: str | None = None) -> str:
    """The browser order (BOM, then the HTTP charset, then <meta>, then a guess), with one
    safety net: bytes that are valid UTF-8 with multi-byte characters are UTF-8, whatever the
    label says.  Servers label UTF-8 pages ISO-8859-1 by default (Apache's AddDefaultCharset,
    PHP's default_charset) and some sites still declare GB2312 over UTF-8 (people.com.cn);
    legacy CJK or Latin text is practically never valid UTF-8, so the net does not misfire."""
    bom, _ = read_bom(body)
    if bom:
        return bom
    if not body.isascii() and _is_utf8(body):
        return "utf-8"
    return _codec(http_charset) or _codec(html_body_declared_encoding(body)) or _guess(body) or "utf-8"


def reads_as_utf8(body: bytes, encoding: str | None = None) -> bool:
    """Whether :func:`decode` would read ``body`` as UTF-8 without a BOM and without a single
    replacement: then a UTF-8 parser (lexbor) can take the bytes as they are."""
    if read_bom(body)[0]:
        return False
    if body.isascii():  # an ASCII-compatible label reads ASCII bytes the same
        return _ascii_compatible(choose_encoding(body, encoding))
    return _is_utf8(body)  # valid multi-byte UTF-8 is UTF-8 whatever the label (choose_encoding)


@lru_cache(maxsize=64)
def _ascii_compatible(name: str) -> bool:
    """False for UTF-16/32 and the 7-bit stateful encodings (ISO-2022-*, UTF-7, HZ), which read
    ASCII bytes as something else."""
    probe = bytes(range(128)) + b"\x1b$B\x1b(B\x1b$)C\x0e\x0f~{~}+AGE-"  # shift sequences of each
    try:
        return probe.decode(resolve_encoding(name) or name, errors="replace") == probe.decode("ascii")
    except LookupError:
        return False


def decodes_cleanly(body: bytes, encoding: str | None = None) -> bool:
    """Whether the charset :func:`decode` picks reads every byte (no U+FFFD of its making)."""
    chosen = choose_encoding(body, encoding)
    try:
        body.decode(resolve_encoding(chosen) or chosen)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def decode(body: bytes | str, encoding: str | None = None) -> str:
    """Bytes to text (see :func:`choose_encoding`); undecodable bytes become U+FFFD, which the
    extract stage then refuses in a title or body."""
    if isinstance(body, str):
        text = body
    elif reads_as_utf8(body, encoding):  # what w3lib gives for them, in one pass
        text = body.decode("utf-8")
    else:
        _, text = html_to_unicode(f"text/html; charset={choose_encoding(body, encoding)}", body)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


_parsers = threading.local()
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def html_parser(encoding: str | None = None) -> lxml.html.HTMLParser:
    """One parser per thread and encoding (lxml parsers are not thread-safe); ``"utf-8"`` for
    UTF-8 bytes (what lxml does with a str, without the copy).  ``huge_tree`` lifts libxml2's
    10 MB text-node limit, which otherwise silently cuts a big page (a 20 MB inline script) short;
    DOWNLOAD_MAXSIZE bounds what reaches the parser."""
    parsers = getattr(_parsers, "by_encoding", None)
    if parsers is None:
        parsers = _parsers.by_encoding = {}
    parser = parsers.get(encoding)
    if parser is None:
        parser = parsers[encoding] = _with_c_lookup(lxml.html.HTMLParser(huge_tree=True, encoding=encoding))
    return parser


# lxml.html's parsers pick each element proxy's class in a Python callback (form elements get
# their own classes), once per element a selector, iteration or child access hands out: ~0.4 us
# each, ~60 per page.  Nothing here uses the form classes' extras (``.value``, ``.form``...), so
# every element is a plain HtmlElement, picked in C.
_C_LOOKUP = etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement,
    comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity,
)


def _with_c_lookup(parser: lxml.html.HTMLParser) -> lxml.html.HTMLParser:
    parser.set_element_class_lookup(_C_LOOKUP)
    return parser


def parse_html(body: bytes | str, encoding: str | None = None) -> lxml.html.HtmlElement:
    """Parse a whole page and repair the void elements libxml2 mis-nests."""
    text = decode(body, encoding)
    if not text.strip():
        raise ValueError("empty document")
    # lxml refuses a str that starts with an XML declaration naming an encoding (XHTML pages)
    root = lxml.html.document_fromstring(_XML_DECLARATION.sub("", text, count=1), parser=html_parser())
    fix_void_elements(root)
    return root


def parse_fragment(html: str) -> lxml.html.HtmlElement:
    """Parse a body fragment into a ``<div>`` wrapper (repaired like ``parse_html``).

    The tree ``lxml.html.fragment_fromstring(html, create_parent="div")`` builds, without its
    cost: that parses ``<html><body>FRAGMENT`` and then moves every top-level node into a new
    ``<div>``; here the parsed ``<body>`` itself becomes the wrapper (so its parent is that
    page's ``<html>``).  Like lxml, leading text that is only whitespace is dropped."""
    html = html or ""
    page = None if _FULL_PAGE(html) else etree.fromstring(f"<html><body>{html}</body></html>", _FRAGMENTS)
    bodies = [el for el in page if el.tag == "body"] if page is not None else []
    if len(bodies) != 1:  # a string lxml reads as a whole page: its own code path
        wrapper = lxml.html.fragment_fromstring(html, create_parent="div", parser=_FRAGMENTS)
    else:
        wrapper = bodies[0]
        wrapper.tag = "div"
        wrapper.attrib.clear()
        wrapper.tail = None  # what follows a stray </body>: lxml leaves it out too
        if wrapper.text is not None and not wrapper.text.strip():
            wrapper.text = None
    fix_void_elements(wrapper)
    return wrapper


# the parser lxml.html.fragment_fromstring uses (lxml.html.html_parser), with the C lookup
_FRAGMENTS = _with_c_lookup(lxml.html.HTMLParser())
_FULL_PAGE = re.compile(r"^\s*<(?:html|!doctype)", re.I).match  # lxml.html's own test


def fix_void_elements(root: etree._Element) -> None:
    """Move what libxml2 put inside a void element back after it, in document order.  Moving
    an element's children out right after it keeps every element's document order, so one
    walk of the tree finds, for each tag in turn, what a walk per tag after the last one would
    (these trees are walked ~4 times a page: one walk instead of four)."""
    found = list(root.iter(*_MISNESTED_VOID))
    if not found:
        return
    for tag in _MISNESTED_VOID:
        for el in found:
            if el.tag != tag:
                continue
            children = list(el)
            if not children and not el.text:
                continue
            text, old_tail = el.text or "", el.tail or ""
            el.text = None
            el.tail = text or None
            anchor = el
            for child in children:
                anchor.addnext(child)  # addnext keeps the child's own tail with it
                anchor = child
            if children:
                children[-1].tail = (children[-1].tail or "") + old_tail or None
            else:
                el.tail = text + old_tail or None


class _Translator(LxmlHTMLTranslator):
    """cssselect's HTML translation with a cheaper class test.  cssselect writes ``.x`` as
    ``@class and contains(@class, 'x') and contains(concat(' ', normalize-space(@class), ' '),
    ' x ')``; the leading ``@class`` builds a node set per element tested, and without it the
    test is the same (``contains`` of a missing attribute is false) and a third faster."""

    def xpath_attrib_includes(self, xpath: XPathExpr, name: str, value: str | None) -> XPathExpr:
        if value and is_non_whitespace(value):
            word = self.xpath_literal(" " + value + " ")
            xpath.add_condition(
                f"contains({name}, {self.xpath_literal(value)}) "
                f"and contains(concat(' ', normalize-space({name}), ' '), {word})"
            )
        else:
            xpath.add_condition("0")
        return xpath


_TRANSLATOR = _Translator()


@lru_cache(maxsize=256)
def _compiled(css: str) -> CSSSelector:
    return CSSSelector(css, translator=_TRANSLATOR)


@lru_cache(maxsize=256)
def _compiled_within(scope: str, css: str) -> etree.XPath | None:
    """``css`` evaluated from one element matching ``scope``: each part of the selector list
    must read ``SCOPE X`` or ``SCOPE > X``; ``X`` becomes an XPath relative to that element
    (strict descendants or children, as the whole-document selector requires).  None when the
    selector does not have that shape."""
    paths = []
    for part in css.split(","):
        part = part.strip()
        if part.startswith(scope + " > "):
            rest, prefix = part[len(scope) + 3 :], ""
        elif part.startswith(scope + " "):
            rest, prefix = part[len(scope) + 1 :], "descendant::"
        else:
            return None
        path = _TRANSLATOR.css_to_xpath(rest, prefix="")
        if prefix and (path.startswith("*/") or "position()" in path or "last()" in path):
            # descendant::X is descendant-or-self::*/X unless a predicate counts positions
            prefix = "descendant-or-self::*/"
        paths.append(prefix + path)
    return etree.XPath(" | ".join(paths))


_scopes = threading.local()


def select_within(doc: etree._Element, scope: str, css: str) -> list[etree._Element]:
    """``select(doc, css)`` for selectors of the shape ``SCOPE X``, evaluated inside the one
    element matching ``scope`` (found once per document) instead of over the whole tree: an
    article's fields are all inside its container, and each whole-document scan costs as much
    as all the scoped ones together.  Exactly the same result: with no container it is empty,
    and with several (or a selector of another shape) the whole document is searched."""
    if css == scope:
        return containers_of(doc, scope)
    compiled = _compiled_within(scope, css)
    if compiled is None:
        return select(doc, css)
    containers = containers_of(doc, scope)
    if not containers:
        return []
    if len(containers) > 1:
        return select(doc, css)
    return compiled(containers[0])


def any_within(doc: etree._Element, scope: str, css: str) -> bool:
    """``bool(select_within(doc, scope, css))``, for probes that mostly fail (another era's
    layout marker): when the container has no element of the tags the selector picks, no XPath
    scan of it is needed (lxml's tag iterator is a C loop, ~20x cheaper)."""
    containers = containers_of(doc, scope) if _compiled_within(scope, css) is not None else []
    if len(containers) == 1:
        tags = _subject_tags(scope, css)
        if tags and all(next(containers[0].iter(tag), None) is None for tag in tags):
            return False
    return bool(select_within(doc, scope, css))


@lru_cache(maxsize=64)
def _subject_tags(scope: str, css: str) -> tuple[str, ...] | None:
    """The tag names the elements a ``SCOPE X, SCOPE Y`` selector picks can have (``h1 > span``:
    span), or None when a part allows any tag."""
    tags = []
    for part in cssselect.parse(css):
        if part.pseudo_element:
            return None
        tree = part.parsed_tree
        while not isinstance(tree, cssselect.parser.Element):  # Class, Attrib, Pseudo... wrap one
            combined = isinstance(tree, cssselect.parser.CombinedSelector)
            tree = tree.subselector if combined else getattr(tree, "selector", None)
            if tree is None:
                return None
        if not tree.element or tree.namespace is not None:
            return None
        tags.append(tree.element.lower())
    return tuple(tags)


def containers_of(doc: etree._Element, scope: str) -> list[etree._Element]:
    """``select(doc, scope)``, kept for the last document asked about (its fields are all
    searched from there)."""
    cached = _containers_cache(doc)
    found = cached.get(scope)
    if found is None:
        found = cached[scope] = select(doc, scope)
    return found


def known_containers(doc: etree._Element, scope: str, found: list[etree._Element]) -> None:
    """Tell :func:`containers_of` what ``select(doc, scope)`` gives, when the caller knows it
    without searching the tree."""
    _containers_cache(doc)[scope] = found


def _containers_cache(doc: etree._Element) -> dict[str, list[etree._Element]]:
    cached = getattr(_scopes, "last", None)
    if cached is None or cached[0] is not doc:
        cached = _scopes.last = (doc, {})
    return cached[1]


def select(el: etree._Element, css: str) -> list[etree._Element]:
    """``el.cssselect(css)`` with the CSS->XPath translation done once per selector (it is
    a fifth of the extraction time otherwise)."""
    return _compiled(css)(el)


def matches(el: etree._Element, css: str) -> bool:
    """Whether ``el`` is among ``select(el.getparent(), css)``: for a list of compound selectors
    (no combinators) that is a test of the element itself, not a search of its parent."""
    parent = el.getparent()
    if parent is None:
        return False
    test = _compiled_self(css)
    return bool(test(el)) if test is not None else el in select(parent, css)


@lru_cache(maxsize=64)
def _compiled_self(css: str) -> etree.XPath | None:
    combined = cssselect.parser.CombinedSelector
    if any(s.pseudo_element or isinstance(s.parsed_tree, combined) for s in cssselect.parse(css)):
        return None
    return etree.XPath(f"boolean({_TRANSLATOR.css_to_xpath(css, prefix='self::')})")


def text_of(el: etree._Element | None) -> str:
    """Visible text of an element (not a comment: its string-value would be the comment's own
    text) with whitespace tidied (see ``tidy_whitespace``)."""
    if el is None:
        return ""
    return tidy_whitespace(str(_STRING_VALUE(el))).strip()


def has_text(el: etree._Element) -> bool:
    """Whether :func:`text_of` is not empty, without tidying: tidying only removes or replaces
    whitespace, so any other character in the string-value survives it."""
    text = el.text
    if text and not text.isspace():
        return True  # the usual paragraph: it starts with text
    return bool(str(_STRING_VALUE(el)).strip())


def text_contains(el: etree._Element, needle: str) -> bool:
    """``needle in text_of(el)`` for a ``needle`` without whitespace, tidying only when it could
    matter: tidying joins characters split by a line break but never makes new ones."""
    raw = str(_STRING_VALUE(el))
    if needle in raw:
        return True
    if "\n" not in raw or any(ch not in raw for ch in needle):
        return False
    return needle in text_of(el)


# The XPath string-value: the same text as "".join(el.itertext()) (descendant text, no comments
# or processing instructions), built in C without an element proxy per node (~15x faster).
_STRING_VALUE = etree.XPath("string()")


def tidy_whitespace(text: str) -> str:
    """Drop the line breaks that indentation put into text.

    A run of whitespace containing a newline is page formatting: it disappears between CJK
    characters (Chinese has no spaces between words) and becomes one space elsewhere.  Runs of
    spaces without a newline are kept as written (captions use double spaces on purpose).
    """
    if "\n" not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        before = text[m.start() - 1] if m.start() > 0 else ""
        after = text[m.end()] if m.end() < len(text) else ""
        if not before or not after:
            return ""
        if _CJK_CHAR.match(before) or _CJK_CHAR.match(after):
            return ""
        return " "

    return _NEWLINE_RUN.sub(repl, text)


def escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\xa0", "&nbsp;")


def escape_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("\xa0", "&nbsp;")


def start_tag(tag: str, attrs: Iterable[tuple[str, str]]) -> str:
    parts = [tag]
    for name, value in attrs:
        if value == "" and name in BOOLEAN_ATTRS:
            parts.append(name)
        else:
            parts.append(f'{name}="{escape_attr(value)}"')
    return "<" + " ".join(parts) + ">"


def to_html(el: etree._Element, with_tail: bool = False) -> str:
    """Serialize an element (HTML5 rules: void elements have no end tag)."""
    out: list[str] = []
    _write(el, out)
    tail = el.tail if with_tail else None
    if tail:
        out.append(escape_text(tail))
    return "".join(out)


def inner_html(el: etree._Element) -> str:
    text = el.text  # each read of .text or .tail builds a new str from the tree: read once
    out: list[str] = [escape_text(text)] if text else []
    for child in el:
        _write(child, out)
        tail = child.tail
        if tail:
            out.append(escape_text(tail))
    return "".join(out)


def _write(el: etree._Element, out: list[str], tidy: bool = False) -> None:
    """Serialize ``el``; with ``tidy``, every text and tail in it passes through
    :func:`tidy_whitespace` first (:func:`paragraph_html`)."""
    tag = el.tag
    if not isinstance(tag, str):  # comment or processing instruction: not part of a post body
        return
    attrs = el.items()
    out.append(start_tag(tag, attrs) if attrs else f"<{tag}>")
    if tag in VOID:
        return
    text = el.text
    if text:
        if tidy:
            text = tidy_whitespace(text)
        out.append(text if tag in _RAW_TEXT else escape_text(text))
    for child in el:
        _write(child, out, tidy)
        tail = child.tail
        if tail:
            out.append(escape_text(tidy_whitespace(tail) if tidy else tail))
    out.append(f"</{tag}>")


def paragraph_html(el: etree._Element) -> str:
    """``el``'s content as one ``<p>`` (its own tag and attributes dropped), every text in it
    tidied (:func:`tidy_whitespace`: the indentation's line breaks go), the leading text
    left-trimmed and the text after the last child (or the only text) right-trimmed.  Written
    straight from the tree, which stays as it was."""
    children = list(el)
    text = el.text
    text = tidy_whitespace(text).lstrip() if text else ""
    if not children:
        text = text.rstrip()
    out = ["<p>", escape_text(text)] if text else ["<p>"]
    for child in children:
        _write(child, out, tidy=True)
        tail = child.tail
        if tail:
            tail = tidy_whitespace(tail)
            if child is children[-1]:
                tail = tail.rstrip()
            if tail:
                out.append(escape_text(tail))
    out.append("</p>")
    return "".join(out)


def set_attrs(el: etree._Element, attrs: Iterable[tuple[str, str]]) -> None:
    """Replace all attributes, keeping the given order (lxml keeps insertion order)."""
    items = list(attrs)
    el.attrib.clear()
    for name, value in items:
        el.set(name, value)
