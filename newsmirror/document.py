"""One page, parsed once with lexbor; lxml trees only where a parser needs one.

lexbor (selectolax) is an HTML5 parser -- the tree a browser builds -- and parses these pages
~3x faster than libxml2.  The page-level readers (meta tags, JSON-LD, canonical links,
``<time datetime>``) run on its tree, and it tells whether the page has exactly one article
container.  The site parsers' field selectors, the figure builder and the serializer work on
lxml's element/text/tail model, and on *libxml2's* reading of the markup: where a page's markup
is broken (an unclosed ``<strong>``, ``<a name=x/>``, ``<div/>``), HTML5 and libxml2 build
different trees, and a parser that reads the block's direct children would lose paragraphs on
an HTML5 tree.  So a parser that names its article container (``scopes``) gets libxml2's parse
of the page *from the container's start tag on*, up to the tag after the block where the parser
names one (``scope_ends``: about a sixth of a CNA page), and any other parser a full libxml2
tree, parsed on first use.  See
bench/README.md for what each part costs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, AnyStr, NamedTuple

import lxml.html
from selectolax.lexbor import LexborHTMLParser

from .html import (
    containers_of,
    decode,
    fix_void_elements,
    html_parser,
    known_containers,
    parse_html,
    reads_as_utf8,
)

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

_META_NAMES = ("property", "name", "itemprop")
_RANKED_META_NAMES = tuple(enumerate(_META_NAMES))
# The elements the page-level readers (and the container search) look at, collected in one walk
# of lexbor's tree: each selector walk costs about as much as the next, whatever it finds.
_READER_TAGS = ("meta", "script", "link", "time", "template")
_READER_SELECTOR = ", ".join(_READER_TAGS)


class PageDocument:
    """A decoded page: the lexbor tree, and lxml trees made from it on demand."""

    def __init__(self, body: bytes | str, encoding: str | None = None) -> None:
        self._body = body
        self._encoding = encoding
        self._text: str | None = None
        # UTF-8 bytes go to lexbor (and libxml2, for the container) as they are: no decode, no copy
        self._utf8 = isinstance(body, bytes) and reads_as_utf8(body, encoding)
        if self._utf8:
            source: bytes | str = body
        else:
            source = self._text = decode(body, encoding)
        if not source or source.isspace():  # what `not source.strip()` tells, without the copy
            raise ValueError("empty document")
        self.tree = LexborHTMLParser(source)
        self._found: dict[str, list[LexborNode]] | None = None
        self._meta: dict[str, str] | None = None
        self._lxml: lxml.html.HtmlElement | None = None

    def _elements(self, selector: str) -> list[LexborNode]:
        """The elements matching ``selector`` in document order: one of the readers' tags from
        the one walk of the tree (:func:`_walk`), anything else (a scope) from a walk of its own."""
        if self._found is None:
            self._found = _walk(self.tree)
        found = self._found.get(selector)
        if found is None:
            found = self._found[selector] = self.tree.css(selector)
        return found

    # -- page-level readers --------------------------------------------------------------

    def meta_content(self, *keys: str) -> str | None:
        """Content of the first ``<meta property|name|itemprop=key>`` that has one: under
        ``property`` first, then ``name``, then ``itemprop``, each in page order."""
        if self._meta is None:
            self._meta = self._meta_index()
        for key in keys:
            value = self._meta.get(key)
            if value is not None:
                return value
        return None

    def _meta_index(self) -> dict[str, str]:
        """Key -> the content :meth:`meta_content` gives for it, for every key on the page."""
        first: dict[str, tuple[int, str]] = {}
        for node in self._elements("meta"):
            attrs = node.attributes
            content = attrs.get("content")
            if not content or not (content := content.strip()):
                continue  # a meta without content names nothing
            for rank, name in _RANKED_META_NAMES:
                key = attrs.get(name)
                if key is not None and (key not in first or first[key][0] > rank):
                    first[key] = (rank, content)
        return {key: content for key, (_, content) in first.items()}

    def jsonld_texts(self) -> Iterator[str]:
        """The text of every ``<script type="application/ld+json">``."""
        for node in self._elements("script"):
            if node.attributes.get("type") == "application/ld+json":
                yield node.text(deep=True) or ""

    def canonical_hrefs(self) -> Iterator[str]:
        """The href of every ``<link rel=canonical>``, in page order."""
        for node in self._elements("link"):
            attrs = node.attributes
            href = attrs.get("href")
            if href is not None and (attrs.get("rel") or "").strip().lower() == "canonical":
                yield href

    def time_datetimes(self) -> Iterator[str]:
        """The datetime attribute of every ``<time>`` that has one."""
        for node in self._elements("time"):
            value = node.attributes.get("datetime")
            if value:
                yield value

    # -- lxml trees ---------------------------------------------------------------------------

    def text(self) -> str:
        """The decoded page (:func:`html.decode`), made once."""
        if self._text is None:
            self._text = decode(self._body, self._encoding)
        return self._text

    def lxml(self) -> lxml.html.HtmlElement:
        """The whole page as an lxml tree (libxml2's parse of the decoded text), made once."""
        if self._lxml is None:
            self._lxml = parse_html(self.text())
        return self._lxml

    def container(
        self, scopes: tuple[str, ...], ends: Mapping[str, str] | None = None
    ) -> lxml.html.HtmlElement | None:
        """libxml2's tree of the page from the article container's start tag on: the
        container is the one element matching the first of ``scopes`` found in the page.
        libxml2 parses as it reads, so the container's tree is the one a whole-page parse
        builds, unless what comes before the block changes how libxml2 reads it: a table
        around it (a stray ``</td>`` inside then closes it), a stray ``</html>`` (libxml2
        drops what follows), a second ``<html>`` or ``<body>``.  Those pages get None (use the
        whole page), and so do pages where the scope matches several elements or none, where
        an earlier scope's class name is in the source though lexbor sees no such element (in
        a ``<template>``, which libxml2 reads as markup), or where a scope is not of the
        ``tag.class`` form this can find in the source.

        ``ends`` names, per scope, a string the page has only after the container (CNA's ad
        block): libxml2 then reads only up to the tag holding its first occurrence.  Once it has
        read a container's end, nothing after can change the container's tree; if the
        container is not closed by then (the string was inside it), the rest is read too.  A
        page with a ``<template>`` is read to its end, and its containers searched in the tree."""
        absent: list[str] = []  # earlier scopes whose class name is nowhere in the source
        # A <template>'s content is hidden from lexbor's selectors, and libxml2 reads it as
        # markup, entity references in class names decoded ("central&#67;ontent"): then no
        # substring search of the source may stand in for a search of libxml2's tree.
        hidden = bool(self._elements("template"))
        for scope in scopes:
            tag = _start_tag(scope)
            seen = len(self._elements(scope))  # what a browser sees: not a start tag in a comment
            if tag is None or seen > 1:
                return None
            source = self._source()
            name = tag.name.encode() if isinstance(source, bytes) else tag.name
            if not seen:
                if name in source:
                    return None
                if not hidden:
                    absent.append(scope)
                continue
            end = None if hidden else (ends or {}).get(scope)
            root = self._from_start_tag(source, name, tag, end, shortcut=not hidden)
            if root is None:
                return None
            for other in absent:  # libxml2 cannot see an element whose class is not in the source
                known_containers(root, other, [])
            if len(containers_of(root, scope)) != 1:
                return None  # several: the fields are searched in the whole page
            fix_void_elements(root)
            return root
        return None

    def _source(self) -> bytes | str:
        """What lexbor read: the UTF-8 bytes as they are, or the decoded text.  libxml2 turns
        CR LF and CR into LF itself, as :func:`html.decode` does."""
        return self._body if self._utf8 else self.text()

    def _from_start_tag(
        self, source: AnyStr, name: AnyStr, tag: _StartTag, end: str | None, shortcut: bool
    ) -> lxml.html.HtmlElement | None:
        """libxml2's parse from the first start tag of ``tag`` on (up to ``end``, see
        :meth:`container`), or None if there is none or what comes before it makes libxml2
        read the block differently.  With ``shortcut``, when the class name occurs once from the
        start tag on and the tree starts with an element of that class, that element is the one
        container (no tree search needed)."""
        raw = isinstance(source, bytes)
        at = _find_start_tag(source, name, tag.raw if raw else tag.text)
        context = _CONTEXT_TAGS_BYTES if raw else _CONTEXT_TAGS
        if at < 0 or _reads_differently(context.finditer(source, 0, at)):
            return None
        parser = html_parser("utf-8" if raw else None)
        cut = _cut(source, at, end.encode() if raw and end else end, name)
        root = lxml.html.document_fromstring(source[at:cut], parser=parser)
        top = root.find("body/*")
        if cut < len(source) and not _closed(top):
            cut = len(source)
            root = lxml.html.document_fromstring(source[at:], parser=parser)
            top = root.find("body/*")
        # the class name only in the container's own start tag: libxml2 has read no other
        alone = shortcut and source.count(name, at, cut) == 1
        if alone and top is not None and tag.name in (top.get("class") or "").split():
            known_containers(root, tag.scope, [top])
        return root


def _walk(tree: LexborHTMLParser) -> dict[str, list[LexborNode]]:
    """Every element of the readers' tags, by tag name, from one ``css()`` of the selector
    list.  lexbor reports a node in document order, once per selector of the list it matches,
    and no node has two of these names.  Should a match ever carry another name, each tag gets
    a walk of its own instead."""
    found: dict[str, list[LexborNode]] = {name: [] for name in _READER_TAGS}
    for node in tree.css(_READER_SELECTOR):
        bucket = found.get(node.tag)
        if bucket is None:
            return {name: tree.css(name) for name in _READER_TAGS}
        bucket.append(node)
    return found


def _cut(source: AnyStr, at: int, end: AnyStr | None, name: AnyStr) -> int:
    """Where libxml2 may stop reading: just after the tag (or comment) holding the first
    ``end`` after ``at``, unless the container's class name occurs after it (libxml2 might see
    another container there); else the end of the page."""
    if end:
        found = source.find(end, at)
        close = source.find(b">" if isinstance(source, bytes) else ">", found) if found >= 0 else -1
        if close >= 0 and source.find(name, close) < 0:
            return close + 1
    return len(source)


def _closed(top: lxml.html.HtmlElement | None) -> bool:
    """Whether libxml2 read the end of the first element of the body: something (text, a
    comment, an element) follows it."""
    return top is not None and (top.tail is not None or top.getnext() is not None)


# Tags before the container that make libxml2 read the block differently from a parse that
# starts at it (see PageDocument.container).
# The pattern finds every tag whose name starts with one of their initials (a superset: a
# letter class after "<" scans ~2x faster than the alternation with re.I); the names are
# checked after.
_CONTEXT = r"<(/?)([hbtcHBTC][a-zA-Z]*)"
_CONTEXT_TAGS = re.compile(_CONTEXT)
_CONTEXT_TAGS_BYTES = re.compile(_CONTEXT.encode())
_CONTEXT_NAMES = frozenset({"html", "body", "table", "tbody", "thead", "tfoot", "caption", "td", "th", "tr"})


def _reads_differently(tags: Iterator[re.Match[AnyStr]]) -> bool:
    opened: dict[str, int] = {}
    for m in tags:
        closing, name = m.group(1), m.group(2)
        name = (name.decode() if isinstance(name, bytes) else name).lower()
        if name not in _CONTEXT_NAMES:
            continue
        if closing or name not in ("html", "body"):
            return True  # </html>, </body>, or a table around the block
        opened[name] = opened.get(name, 0) + 1
        if opened[name] > 1:
            return True
    return False


def _find_start_tag(source: AnyStr, name: AnyStr, start_tag: re.Pattern[AnyStr]) -> int:
    """Where the first start tag matching ``start_tag`` begins, found from the class name
    (a plain substring search) rather than by trying the pattern at every ``<``; -1 if none."""
    lt = "<" if isinstance(source, str) else b"<"
    at = source.find(name)
    while at >= 0:
        tag_start = source.rfind(lt, 0, at)
        if tag_start >= 0 and start_tag.match(source, tag_start, at + len(name) + 1):
            return tag_start
        at = source.find(name, at + 1)
    return -1


class _StartTag(NamedTuple):
    """A ``tag.class`` scope: its class name and patterns matching its start tag up to just
    after the class name (any attribute order, quoting and case of tag and attribute names)."""

    scope: str
    name: str
    raw: re.Pattern[bytes]
    text: re.Pattern[str]


@lru_cache(maxsize=16)
def _start_tag(scope: str) -> _StartTag | None:
    m = re.fullmatch(r"([a-z][a-z0-9]*)\.([A-Za-z_][\w-]*)", scope)
    if m is None:
        return None
    tag, cls = m.groups()
    source = rf"""<(?i:{tag})\b[^>]*?\b(?i:class)\s*=\s*["']?[^"'>]*?(?<![\w-]){cls}(?![\w-])"""
    return _StartTag(scope, cls, re.compile(source.encode()), re.compile(source))
