"""Posts made from feed items themselves (``parser = "feed"``): no article page is fetched.

The discover spider turns each item into a small self-describing HTML document (a ``Page`` like
any fetched page: the item's fields as JSON in a ``<script>`` of type :data:`FEED_ITEM_TYPE`, the
item's link as canonical link).  This module turns that document into an Article.  So a feed
item goes through exactly the pipelines a page does -- skip, extract, clean, dedupe, write --
with no branches, and the same bytes give the same input key, so an unchanged item is skipped
before parsing.

Identity: the item's guid/id, else its link, else a hash of title and date (see
:class:`newsmirror.discovery.FeedItem`), hashed into a 12-hex article id under the source name.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from lxml import etree

from ..dates import parse_datetime
from ..document import PageDocument
from ..html import inner_html, parse_fragment
from ..urlnorm import clean_url
from .base import NotAnArticle, PageMeta
from .generic import figure_images

if TYPE_CHECKING:  # discovery imports Scrapy's sitemap reader: extraction workers never need it
    from ..discovery import FeedItem

__all__ = ["FEED_ITEM_TYPE", "FeedItemParser", "feed_item_document", "item_data", "item_key"]

FEED_ITEM_TYPE = "application/x-newsmirror-feed-item+json"
_BLOCKS = frozenset(
    "p div figure table ul ol blockquote h1 h2 h3 h4 h5 h6 pre iframe section article".split()
)
_SCRIPT_XPATH = f".//script[@type='{FEED_ITEM_TYPE}']"
# hosts whose images in feed bodies are counters, not pictures
_TRACKER_RE = re.compile(
    r"^https?://(?:[^/]*\.)?(?:feeds\.feedburner\.com/~r/|feedproxy\.google\.com/~r/|pixel\.wp\.com/|"
    r"stats\.wordpress\.com/|medium\.com/_/stat|[^/]*feedsportal\.com/|www\.google-analytics\.com/)",
    re.IGNORECASE,
)


def item_key(source: str, item: FeedItem) -> tuple[str, str]:
    """(site, article id) of a feed item: known before any parsing, so a crawl can skip it."""
    if item.video_id:
        return "youtube", item.video_id
    return source, hashlib.sha1(item.key.encode("utf-8")).hexdigest()[:12]


def feed_item_document(item: FeedItem, *, source: str, feed_url: str, author: str) -> bytes:
    """The item as an HTML document the pipelines carry like a fetched page (deterministic bytes)."""
    data: dict[str, Any] = {
        "source": source,
        "feed": feed_url,
        "key": item.key,
        "url": item.url or feed_url,
        "title": item.title,
        "published": _iso(item.published or item.modified),
        "modified": _iso(item.modified) if item.published else None,
        "author": author,
        "content": item.content,
        "thumbnail": item.thumbnail,
        "video_id": item.video_id,
        "description": item.description,
    }
    text = json.dumps(data, ensure_ascii=False, sort_keys=True).replace("<", "\\u003c")
    canonical = escape(data["url"], quote=True)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<link rel="canonical" href="{canonical}">'
        f'<script type="{FEED_ITEM_TYPE}">{text}</script></head><body></body></html>\n'
    ).encode()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def item_data(doc: etree._Element) -> dict[str, Any] | None:
    """The feed item a document carries, or ``None`` for an ordinary page."""
    script = doc.find(_SCRIPT_XPATH)
    if script is None:
        return None
    try:
        data = json.loads(script.text or "")
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("source"), str) else None


def item_body(html: str) -> str:
    """An item's HTML in the posts' shape: tracking pixels (1x1 images, known counter hosts)
    dropped, bare images as ``<figure>``, bare text as a paragraph."""
    root = parse_fragment(html)
    container = root.find(".//body")
    container = container if container is not None else root
    for img in list(container.iter("img")):
        tiny = img.get("width", "").strip() in ("0", "1") or img.get("height", "").strip() in ("0", "1")
        if tiny or _TRACKER_RE.match(img.get("src") or ""):
            img.drop_tree()
    only = list(container)
    loose = (container.text or "").strip() or (only and (only[0].tail or "").strip())
    if len(only) == 1 and only[0].tag in ("div", "section", "article") and not loose:
        only[0].drop_tag()  # a wrapper <div dir="ltr"> around the whole item
    figure_images(container, {})
    wrap_loose_text(container)
    return inner_html(container).strip()


def wrap_loose_text(container: etree._Element) -> None:
    """Text and inline elements between blocks (``text<br>more<figure>``) -> ``<p>``s, the
    shape every other body has."""
    nodes: list[Any] = [container.text] if container.text else []
    for child in list(container):
        tail, child.tail = child.tail, None
        nodes.append(child)
        if tail:
            nodes.append(tail)
        container.remove(child)
    container.text = None
    paragraph: etree._Element | None = None
    for node in nodes:
        if isinstance(node, str):
            if paragraph is None:
                if not node.strip():
                    continue
                paragraph = etree.SubElement(container, "p")
                paragraph.text = node.lstrip()
            elif len(paragraph):
                paragraph[-1].tail = (paragraph[-1].tail or "") + node
            else:
                paragraph.text = (paragraph.text or "") + node
        elif isinstance(node.tag, str) and node.tag in _BLOCKS:
            container.append(node)
            paragraph = None
        else:
            if paragraph is None:
                paragraph = etree.SubElement(container, "p")
            paragraph.append(node)


class FeedItemParser:
    """Feed item document -> Article fields."""

    key = "feed"
    default_label = ""
    feed_documents = True  # only for documents the crawl built from feed items (Page.from_feed)

    def matches(self, page: PageDocument, meta: PageMeta, url: str) -> bool:
        data = item_data(page.lxml())
        return data is not None and not data.get("video_id")

    def key_from_url(self, url: str) -> tuple[str, str] | None:
        return None  # identity comes from the item (guid), not from a URL

    def parse(self, doc: etree._Element, meta: PageMeta, url: str) -> dict[str, Any]:
        data = item_data(doc) or {}
        fields = common_fields(data)
        body = item_body(data.get("content") or "")
        if not body.strip():
            raise NotAnArticle("feed item has no content")
        fields["body_html"] = body
        return fields


def common_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Identity, title, dates and author of a feed item document."""
    title = (data.get("title") or "").strip()
    if not title:
        raise NotAnArticle("feed item has no title")
    published: datetime | None = parse_datetime(data.get("published"))
    if published is None:
        raise NotAnArticle("feed item has no readable publication date")
    if data.get("video_id"):
        site, article_id = "youtube", str(data["video_id"])
    else:
        site = str(data["source"])
        article_id = hashlib.sha1(str(data.get("key") or data.get("url")).encode("utf-8")).hexdigest()[:12]
    return {
        "url": clean_url(data.get("url") or data.get("feed")),
        "site": site,
        "article_id": article_id,
        "category": "",
        "title": title,
        "published": published,
        "modified": parse_datetime(data.get("modified")),
        "author": data.get("author") or "",
        "date_source": "feed",  # newsmirror.provenance: the item's own date, not the page's
    }
