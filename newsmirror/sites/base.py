"""What every site parser shares: the error type and readers for page metadata.

A site parser reads *the page itself* (canonical link, og tags, JSON-LD, article id) so a page
fetched from a loopback test server, a cache or a file goes through exactly the same code as one
fetched from the live site.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urljoin

from lxml import etree

from ..dates import parse_datetime
from ..html import select


class NotAnArticle(Exception):
    """The page is not an article we can mirror (list page, expired notice, truncated page...)."""


@dataclass
class PageMeta:
    """Metadata every page may carry, read once."""

    canonical: str | None
    og_url: str | None
    og_title: str | None
    og_image: str | None
    published: datetime | None
    modified: datetime | None
    jsonld: dict[str, Any] | None  # the NewsArticle / Article object, if any


class SiteParser(Protocol):
    key: str
    default_label: str

    def matches(self, doc: etree._Element, meta: PageMeta, url: str) -> bool: ...

    def key_from_url(self, url: str) -> tuple[str, str] | None: ...

    def parse(self, doc: etree._Element, meta: PageMeta, url: str) -> dict[str, Any]:
        """Return the Article fields (url, article_id, title, published, body_html, ...)."""
        ...


def first(doc: etree._Element, css: str) -> etree._Element | None:
    found = select(doc, css)
    return found[0] if found else None


def meta_content(doc: etree._Element, *keys: str) -> str | None:
    """Content of the first <meta property|name|itemprop=key> that has one."""
    for key in keys:
        for attr in ("property", "name", "itemprop"):
            for el in doc.iterfind(f".//meta[@{attr}='{key}']"):
                value = (el.get("content") or "").strip()
                if value:
                    return value
    return None


def _jsonld_objects(doc: etree._Element) -> Iterator[dict[str, Any]]:
    for script in doc.iterfind(".//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            obj = stack.pop(0)
            if isinstance(obj, dict):
                yield obj
                stack.extend(obj.get("@graph", []) if isinstance(obj.get("@graph"), list) else [])
            elif isinstance(obj, list):
                stack.extend(obj)


def _is_article(obj: dict[str, Any]) -> bool:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(isinstance(k, str) and k.endswith("Article") for k in kinds)


def read_meta(doc: etree._Element, url: str) -> PageMeta:
    jsonld = next((o for o in _jsonld_objects(doc) if _is_article(o)), None)
    canonical = None
    for link in doc.iterfind(".//link[@rel='canonical']"):
        if link.get("href"):
            canonical = urljoin(url, link.get("href").strip())
            break
    og_url = meta_content(doc, "og:url")
    published = parse_datetime(meta_content(doc, "article:published_time"))
    modified = parse_datetime(meta_content(doc, "article:modified_time"))
    if jsonld:
        published = published or parse_datetime(str(jsonld.get("datePublished") or ""))
        modified = modified or parse_datetime(str(jsonld.get("dateModified") or ""))
    published = published or parse_datetime(
        meta_content(doc, "datePublished", "pubdate", "date", "DC.date.issued", "og:article:published_time")
    )
    modified = modified or parse_datetime(meta_content(doc, "dateModified"))
    return PageMeta(
        canonical=canonical,
        og_url=urljoin(url, og_url) if og_url else None,
        og_title=meta_content(doc, "og:title"),
        og_image=meta_content(doc, "og:image"),
        published=published,
        modified=modified,
        jsonld=jsonld,
    )
