"""What every site parser shares: the error type and readers for page metadata.

A site parser reads *the page itself* (canonical link, og tags, JSON-LD, article id) so a page
fetched from a loopback test server, a cache or a file goes through exactly the same code as one
fetched from the live site.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Protocol

from lxml import etree

from ..clean import joined
from ..dates import parse_datetime
from ..document import PageDocument
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
    published_texts: tuple[str, ...]  # machine-readable dates, most trusted first
    modified_texts: tuple[str, ...]
    jsonld: dict[str, Any] | None  # the NewsArticle / Article object, if any
    zone: str | None = None  # the source's IANA timezone for times without an offset, if it names one
    canonicals: tuple[str, ...] = ()  # every <link rel=canonical>, in page order
    site_name: str | None = None  # og:site_name or application-name
    image_alt: str | None = None  # og:image:alt or twitter:image:alt

    def identity_claims(self) -> list[tuple[str, str]]:
        """(signal, URL) for everything on the page that says which article it is."""
        claims = [("canonical link", u) for u in self.canonicals]
        if self.og_url:
            claims.append(("og:url", self.og_url))
        ld = self.jsonld or {}
        for key in ("url", "mainEntityOfPage"):
            value = ld.get(key)
            if isinstance(value, dict):
                value = value.get("@id") or value.get("url")
            if isinstance(value, str) and value.strip().startswith(("http://", "https://", "//")):
                claims.append((f"JSON-LD {key}", value.strip()))
        return claims

    def published(self, local: tzinfo) -> datetime | None:
        """The first readable publication date; a time without offset is taken in ``local``
        (the site's zone: pages state times the way their readers read them)."""
        return _first_date(self.published_texts, local)

    def modified(self, local: tzinfo) -> datetime | None:
        return _first_date(self.modified_texts, local)


def _first_date(texts: tuple[str, ...], local: tzinfo) -> datetime | None:
    for text in texts:
        value = parse_datetime(text, default_tz=local)
        if value is not None:
            return value
    return None


class SiteParser(Protocol):
    key: str
    default_label: str

    def matches(self, page: PageDocument, meta: PageMeta, url: str) -> bool:
        """Whether this parser reads the page (``page.lxml()`` is its lxml tree, if needed)."""
        ...

    def key_from_url(self, url: str) -> tuple[str, str] | None: ...

    def parse(self, doc: etree._Element, meta: PageMeta, url: str) -> dict[str, Any]:
        """Return the Article fields (url, article_id, title, published, body_html, ...)."""
        ...


def first(doc: etree._Element, css: str) -> etree._Element | None:
    found = select(doc, css)
    return found[0] if found else None


def _jsonld_objects(page: PageDocument) -> Iterator[dict[str, Any]]:
    for text in page.jsonld_texts():
        try:
            data = json.loads(text)
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


def read_meta(page: PageDocument, url: str) -> PageMeta:
    jsonld = next((o for o in _jsonld_objects(page) if _is_article(o)), None)
    canonicals = tuple(
        dict.fromkeys(joined(url, href.strip()) for href in page.canonical_hrefs() if href.strip())
    )
    canonical = canonicals[0] if canonicals else None
    og_url = page.meta_content("og:url")
    ld = jsonld or {}
    published = (
        page.meta_content("article:published_time"),
        str(ld.get("datePublished") or ""),
        page.meta_content("datePublished", "pubdate", "date", "DC.date.issued", "og:article:published_time"),
    )
    modified = (
        page.meta_content("article:modified_time"),
        str(ld.get("dateModified") or ""),
        page.meta_content("dateModified"),
    )
    return PageMeta(
        canonical=canonical,
        og_url=joined(url, og_url) if og_url else None,
        og_title=page.meta_content("og:title"),
        og_image=page.meta_content("og:image"),
        published_texts=tuple(t for t in published if t),
        modified_texts=tuple(t for t in modified if t),
        jsonld=jsonld,
        canonicals=canonicals,
        site_name=page.meta_content("og:site_name", "application-name"),
        image_alt=page.meta_content("og:image:alt", "twitter:image:alt"),
    )
