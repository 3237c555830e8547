"""Fallback for sites without a parser of their own, built on trafilatura.

trafilatura is the best-measured general-purpose main-text extractor we know of; it is an optional
dependency (``pip install newsmirror[generic]``) so a CNA-only mirror does not pull in its
dependency tree.  Identity and dates still come from the page's own metadata: a page without a
readable publication date is an error, never "now".
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from ..dates import UTC, parse_datetime
from ..html import inner_html, parse_fragment, select, text_of
from .base import NotAnArticle, PageMeta, first

_TITLE_SUFFIX = re.compile(r"\s+[|｜\-–—]\s+[^|｜]{1,60}$")


class GenericParser:
    key = "generic"
    default_label = ""  # filled from the site name

    def matches(self, doc: etree._Element, meta: PageMeta, url: str) -> bool:
        return True

    def parse(self, doc: etree._Element, meta: PageMeta, url: str) -> dict[str, Any]:
        canonical = meta.canonical or meta.og_url or url
        site, article_id = self.key_from_url(canonical)
        title = self.title(doc, meta)
        # Only dates the page states in markup count.  trafilatura/htmldate would also guess one
        # from the URL (/2026/11/ -> 1 November): a wrong date is worse than an error.
        published = meta.published(UTC) or self.time_element(doc)
        body_html = self.body(doc)
        if published is None:
            raise NotAnArticle("no readable publication date on the page")
        return {
            "url": canonical,
            "site": site,
            "article_id": article_id,
            "category": "",
            "title": title,
            "published": published,
            "modified": meta.modified(UTC),
            "body_html": body_html,
            "label_fallback": site,
        }

    def key_from_url(self, url: str) -> tuple[str, str]:
        """Site = host without www; id = hash of the canonical URL (unknown sites have no ids)."""
        host = urlsplit(url).hostname or "unknown"
        return re.sub(r"^www\.", "", host), hashlib.sha1(url.encode()).hexdigest()[:12]

    def title(self, doc: etree._Element, meta: PageMeta) -> str:
        if meta.jsonld and isinstance(meta.jsonld.get("headline"), str):
            return meta.jsonld["headline"].strip()
        h1 = text_of(first(doc, "h1"))
        if h1:
            return h1
        og = (meta.og_title or text_of(first(doc, "title"))).strip()
        if not og:
            raise NotAnArticle("no title on the page")
        return _TITLE_SUFFIX.sub("", og)

    def time_element(self, doc: etree._Element) -> datetime | None:
        for el in select(
            doc, "article time[datetime], time[pubdate][datetime], time[itemprop=datePublished]"
        ):
            value = parse_datetime(el.get("datetime"), default_tz=UTC)
            if value is not None:
                return value
        return None

    def body(self, doc: etree._Element) -> str:
        try:
            import trafilatura
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise NotAnArticle(
                "no parser for this site and trafilatura is not installed (pip install 'newsmirror[generic]')"
            ) from exc
        html = etree.tostring(doc, encoding="unicode", method="html")
        rendered = trafilatura.extract(html, output_format="html", include_images=True, include_links=True)
        if not rendered:
            raise NotAnArticle("no article text found")
        root = parse_fragment(rendered)
        body = root.find(".//body")
        container = body if body is not None else root
        for h1 in container.findall("h1"):  # the headline is already in the post's header
            container.remove(h1)
        return inner_html(container).strip()
