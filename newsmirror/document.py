"""One page, parsed once with lexbor; lxml trees only where a parser needs one.

lexbor (selectolax) is an HTML5 parser -- the tree a browser builds -- and parses these pages
~3x faster than libxml2.  The page-level readers (meta tags, JSON-LD, canonical links,
``<time datetime>``) and the search for the article container run on its tree.  The site
parsers' field selectors, the figure builder and the serializer work on lxml's
element/text/tail model, so a parser that names its article container (``scopes``) gets an lxml
tree of *that container only* (a tenth of the page, re-parsed from lexbor's serialization),
and any other parser a full lxml tree, parsed on first use.  See bench/README.md for what
each part costs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import lxml.html
from selectolax.lexbor import LexborHTMLParser

from .html import decode, fix_void_elements, html_parser, reads_as_utf8

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

_META_NAMES = ("property", "name", "itemprop")


class PageDocument:
    """A decoded page: the lexbor tree, and lxml trees made from it on demand."""

    def __init__(self, body: bytes | str, encoding: str | None = None) -> None:
        self._body = body
        self._encoding = encoding
        if isinstance(body, bytes) and reads_as_utf8(body, encoding):
            source: bytes | str = body  # lexbor reads UTF-8 bytes as they are: no decode, no copy
            empty = not body.strip()
        else:
            source = self._text = decode(body, encoding)
            empty = not self._text.strip()
        if empty:
            raise ValueError("empty document")
        self.tree = LexborHTMLParser(source)
        self._meta: dict[tuple[str, str], list[str]] | None = None
        self._lxml: lxml.html.HtmlElement | None = None

    # -- page-level readers --------------------------------------------------------------

    def meta_content(self, *keys: str) -> str | None:
        """Content of the first ``<meta property|name|itemprop=key>`` that has one."""
        if self._meta is None:
            index: dict[tuple[str, str], list[str]] = {}
            for node in self.tree.css("meta"):
                attrs = node.attributes
                for name in _META_NAMES:
                    value = attrs.get(name)
                    if value is not None:
                        index.setdefault((name, value), []).append(attrs.get("content") or "")
            self._meta = index
        for key in keys:
            for name in _META_NAMES:
                for content in self._meta.get((name, key), ()):
                    if content.strip():
                        return content.strip()
        return None

    def jsonld_texts(self) -> Iterator[str]:
        for node in self.tree.css("script"):
            if node.attributes.get("type") == "application/ld+json":
                yield node.text(deep=True) or ""

    def canonical_hrefs(self) -> Iterator[str]:
        for node in self.tree.css("link"):
            attrs = node.attributes
            href = attrs.get("href")
            if href is not None and (attrs.get("rel") or "").strip().lower() == "canonical":
                yield href

    def time_datetimes(self) -> Iterator[str]:
        for node in self.tree.css("time"):
            value = node.attributes.get("datetime")
            if value:
                yield value

    # -- lxml trees ---------------------------------------------------------------------------

    def lxml(self) -> lxml.html.HtmlElement:
        """The whole page as an lxml tree (libxml2's parse of the decoded text), made once."""
        if self._lxml is None:
            text = getattr(self, "_text", None)
            if text is None:
                text = self._text = decode(self._body, self._encoding)
            root = lxml.html.document_fromstring(text, parser=html_parser())
            fix_void_elements(root)
            self._lxml = root
        return self._lxml

    def container(self, scopes: tuple[str, ...], furniture: str = "") -> lxml.html.HtmlElement | None:
        """An lxml document holding only the article container: the one element matching the
        first of ``scopes`` that matches at all, without the blocks matching ``furniture``
        (share bars, icons: never article content, and most of the container's bytes).  None
        (use the whole page) when that scope matches several elements or none does."""
        for scope in scopes:
            found = self.tree.css(scope)
            if len(found) > 1:
                return None
            if found:
                return _lxml_of(found[0], furniture)
        return None


def _lxml_of(node: LexborNode, furniture: str) -> lxml.html.HtmlElement:
    if furniture:
        for block in node.css(furniture):
            block.decompose()
    root = lxml.html.document_fromstring(node.html or "", parser=html_parser())
    fix_void_elements(root)
    return root

