"""Central News Agency (www.cna.com.tw): one parser per layout era.

Modelled on Fundus' ``ParserProxy``: :data:`LAYOUTS` is a table of selectors, one row per era,
newest first; :class:`CNAParser` picks the first row whose ``marker`` matches and has one method
per field.  Adding an era means adding a row, not sprinkling ``if`` branches.

Eras seen in the wild (fixtures in ``tests/fixtures/cna``):

* ``2014`` -- 2013/14 desktop: ``div.news_content_new``, "發稿時間" text, one ``<p>`` with
  ``<br><br>`` between paragraphs, picture in ``div.box_1`` with an ``<h2>`` caption.
* ``2017`` -- 2016-19 redesign: ``div.centralContent``, ``div.updatetime``, ``div.floatImg > div.wrap``
  pictures with ``div.picinfo``; articles older than the free window show only "已過查詢時效".
* ``2023`` -- ``<figure>``/``<picture>`` markup, ``article:published_time`` meta, JSON-LD.
* ``2026`` -- ``<time datetime>``, ``div.media`` wrappers (YouTube embed before the text, figures in it).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import lxml.html
from lxml import etree

from ..dates import TAIPEI, parse_datetime
from ..document import PageDocument
from ..html import (
    any_within,
    has_text,
    inner_html,
    matches,
    paragraph_html,
    parse_fragment,
    select,
    select_within,
    text_contains,
    text_of,
    tidy_whitespace,
    to_html,
)
from .base import NotAnArticle, PageMeta, first

DEFAULT_LABEL = "(臺)中央社CNA"
HOST = "www.cna.com.tw"

# /news/aCN/201308130087-1.aspx, /news/aopl/202309110310.aspx, /amp/news/..., m.cna.com.tw/news/...
_NEWS_PATH = re.compile(r"/news/(?P<cat>[A-Za-z]+)/(?P<id>\d{12})(?:-\d+)?\.aspx", re.I)
# /Topic/Popular/3907-1/201308130021-1.aspx (topic pages of 2013/14)
_TOPIC_PATH = re.compile(r"/topic/(?P<cat>[A-Za-z]+)/[\d-]+/(?P<id>\d{12})(?:-\d+)?\.aspx", re.I)
_CNA_HOST = re.compile(r"^(?:https?:)?//(?:[\w-]+\.)*cna\.com\.tw(?::\d+)?/", re.I)

EXPIRED_NOTICE = "已過查詢時效"
# Old layouts end the text with links to related articles after one of these markers.
_RELATED_MARKERS = ("※你可能還想看", "※延伸閱讀", "更多相關新聞")
# Body children worth keeping, whatever the era.  Everything else inside the body container is
# page furniture (subscription boxes, related-article blocks, keyword tags, ads, app banners...).
_KEEP_TAGS = frozenset({"p", "h2", "h3", "h4", "blockquote", "ul", "ol", "table", "figure", "iframe"})
_FURNITURE_CLASSES = frozenset({"copyrightNotice", "moreArticle", "SubscriptionInner", "articlekeywordGroup"})


def article_key(url: str) -> tuple[str, str] | None:
    """(category, article id) from any CNA article URL form, else None."""
    m = _NEWS_PATH.search(url) or _TOPIC_PATH.search(url)
    return (m["cat"].lower(), m["id"]) if m else None


def canonical_url(category: str, article_id: str) -> str:
    return f"https://{HOST}/news/{category}/{article_id}.aspx"


@dataclass(frozen=True)
class Layout:
    """The selectors of one layout era."""

    name: str
    scope: str  # the article container: every field selector below starts with it (searched inside it)
    scope_end: str  # text the page has only after the container: the parser reads no further
    marker: str  # CSS that matches pages of this era (tried newest era first)
    title: str
    published_text: str  # visible publication time, used when no machine-readable date exists
    modified_text: str
    lead: str  # media shown before the text (lead figure, video)
    body: str  # the container of the paragraphs
    figure: str  # figure containers inside lead/body
    caption: str  # caption inside a figure container (for the non-<figure> eras)
    split_br: bool = False  # paragraphs separated by <br><br> inside one <p>


LAYOUTS: tuple[Layout, ...] = (
    Layout(
        name="2026",
        scope="div.centralContent",
        scope_end="advertiseGroup",
        marker="div.centralContent div.updatetime time[datetime]",
        title="div.centralContent h1",
        published_text="div.centralContent div.updatetime time:nth-of-type(1)",
        modified_text="div.centralContent div.updatetime time:nth-of-type(2)",
        lead="div.centralContent div.fullPic, div.centralContent > div.media",
        body="div.centralContent div.paragraph",
        figure="figure, div.floatImg",
        caption="figcaption, div.picinfo",
    ),
    Layout(
        name="2023",
        scope="div.centralContent",
        scope_end="advertiseGroup",
        marker="div.centralContent figure, div.centralContent h1 > span",
        title="div.centralContent h1",
        published_text="div.centralContent div.updatetime span:nth-of-type(1)",
        modified_text="div.centralContent div.updatetime span:nth-of-type(2)",
        lead="div.centralContent div.fullPic, div.centralContent > div.media",
        body="div.centralContent div.paragraph",
        figure="figure, div.floatImg",
        caption="figcaption, div.picinfo",
    ),
    Layout(
        name="2017",
        scope="div.centralContent",
        scope_end="advertiseGroup",
        marker="div.centralContent",
        title="div.centralContent h1",
        published_text="div.centralContent div.updatetime span",
        modified_text="div.centralContent div.updatetime span",
        lead="div.centralContent div.fullPic",
        body="div.centralContent div.paragraph",
        figure="div.floatImg",
        caption="div.picinfo",
    ),
    Layout(
        name="2014",
        scope="div.news_content_new",
        scope_end="<!--新聞本文 結束",
        marker="div.news_content_new",
        title="div.news_content_new h1",
        published_text="div.news_content_new div.date",
        modified_text="div.news_content_new div.date span",
        lead="div.news_content_new div.box_1",
        body="div.news_content_new div.box_2",
        figure="div.box_1",
        caption="h2",
        split_br=True,
    ),
)


class CNAParser:
    """Parse a CNA article page of any era into Article fields."""

    key = "cna"
    default_label = DEFAULT_LABEL
    complete_pages_only = True  # every CNA page of every era ends with </html>
    ids_in_urls = True  # every article URL names its id: the requested URL is an identity claim
    # every field is inside the article container: the parser needs an lxml tree from its start on
    scopes = tuple(dict.fromkeys(layout.scope for layout in LAYOUTS))
    scope_ends = {layout.scope: layout.scope_end for layout in LAYOUTS}

    def matches(self, page: PageDocument, meta: PageMeta, url: str) -> bool:
        for candidate in (meta.canonical, meta.og_url, url):
            if candidate and _CNA_HOST.match(candidate):
                return True
        return False

    def key_from_url(self, url: str) -> tuple[str, str] | None:
        key = article_key(url)
        return (self.key, key[1]) if key else None

    def layout(self, doc: etree._Element) -> Layout:
        for layout in LAYOUTS:
            if any_within(doc, layout.scope, layout.marker):
                return layout
        raise NotAnArticle("no CNA article layout recognised (not an article page?)")

    def parse(self, doc: etree._Element, meta: PageMeta, url: str) -> dict[str, Any]:
        category, article_id = self.identity(meta, url)
        layout = self.layout(doc)
        title = self.title(doc, layout)
        published = self.published(doc, meta, layout)
        body = self.body(doc, layout)
        return {
            "url": canonical_url(category, article_id),
            "site": self.key,
            "article_id": article_id,
            "category": category,
            "title": title,
            "published": published,
            "modified": self.modified(doc, meta, layout),
            "body_html": body,
        }

    # -- one method per field -------------------------------------------------------------

    def identity(self, meta: PageMeta, url: str) -> tuple[str, str]:
        for candidate in (meta.canonical, meta.og_url, url):
            key = article_key(candidate or "")
            if key:
                return key
        raise NotAnArticle("no article id in the page's canonical/og:url (list or home page?)")

    def title(self, doc: etree._Element, layout: Layout) -> str:
        title = text_of(_first(doc, layout, layout.title))
        if not title:
            raise NotAnArticle("no headline (<h1>) in the article block")
        return title

    def published(self, doc: etree._Element, meta: PageMeta, layout: Layout) -> datetime:
        value = meta.published(TAIPEI) or self._visible_time(doc, layout, layout.published_text)
        if value is None:
            raise NotAnArticle("no readable publication date on the page")
        return value

    def modified(self, doc: etree._Element, meta: PageMeta, layout: Layout) -> datetime | None:
        return meta.modified(TAIPEI) or self._visible_time(doc, layout, layout.modified_text)

    def body(self, doc: etree._Element, layout: Layout) -> str:
        blocks: list[str] = []
        for lead in select_within(doc, layout.scope, layout.lead):
            blocks.extend(self._media(lead, layout))
        container = _first(doc, layout, layout.body)
        if container is None:
            raise NotAnArticle("no article body found (truncated page?)")
        if text_contains(container, EXPIRED_NOTICE):
            raise NotAnArticle(f"expired article: CNA shows only the '{EXPIRED_NOTICE}' notice")
        paragraphs = self._split_br(container) if layout.split_br else self._children(container, layout)
        if not any(b.startswith("<p") for b in paragraphs):
            raise NotAnArticle("article body has no paragraphs (truncated page?)")
        return "".join(blocks + paragraphs)

    # -- helpers --------------------------------------------------------------------------

    def _visible_time(self, doc: etree._Element, layout: Layout, css: str) -> datetime | None:
        el = _first(doc, layout, css)
        if el is None:
            return None
        return parse_datetime(el.get("datetime"), TAIPEI) or parse_datetime(text_of(el), TAIPEI)

    def _children(self, container: etree._Element, layout: Layout) -> list[str]:
        out: list[str] = []
        for child in container:
            if not isinstance(child.tag, str):
                continue
            classes = (child.get("class") or "").split()
            if not _FURNITURE_CLASSES.isdisjoint(classes):
                continue
            if child.tag == "div" and "media" in classes:
                out.extend(self._media(child, layout))
            elif child.tag == "p":
                if has_text(child) or child.find(".//img") is not None:
                    out.append(paragraph_html(child))
            elif child.tag in _KEEP_TAGS:
                out.append(to_html(child))
        return out

    def _media(self, container: etree._Element, layout: Layout) -> list[str]:
        """Figures and embedded videos inside a lead/media container, in page order."""
        if matches(container, layout.figure):
            return [_figure_html(container, layout)]
        out: list[str] = []
        taken: list[etree._Element] = []
        for node in select(container, f"{layout.figure}, iframe"):
            if any(node in t.iterdescendants() for t in taken):
                continue  # an iframe inside a figure already written
            if node.tag == "iframe":
                if _is_video(node):
                    out.append(to_html(node))
            else:
                taken.append(node)
                out.append(_figure_html(node, layout))
        return out

    def _split_br(self, container: etree._Element) -> list[str]:
        """Old layouts: one <p> per article, paragraphs separated by <br><br>."""
        out: list[str] = []
        for p in container.iter("p"):
            for piece in re.split(r"(?:<br>\s*){2,}", inner_html(p)):
                frag = parse_fragment(piece)
                text = text_of(frag)
                if not text:
                    continue
                if text.startswith(_RELATED_MARKERS):
                    return out
                out.append(paragraph_html(frag))
        return out


def _first(doc: etree._Element, layout: Layout, css: str) -> etree._Element | None:
    found = select_within(doc, layout.scope, css)
    return found[0] if found else None


def _figure_html(el: etree._Element, layout: Layout) -> str:
    return to_html(el) if el.tag == "figure" else _build_figure(el, layout)


def _is_video(iframe: etree._Element) -> bool:
    src = iframe.get("src") or iframe.get("data-src") or ""
    return any(host in src for host in ("youtube.com/", "youtube-nocookie.com/", "youtu.be/"))


def _build_figure(container: etree._Element, layout: Layout) -> str:
    """A picture block without <figure> markup (img or <picture> + caption element) as a <figure>."""
    img = container.find(".//img")
    if img is None:
        return ""
    caption = text_of(first(container, layout.caption))
    fig = lxml.html.Element("figure", {"class": "floatImg center"})
    picture = container.find(".//picture")
    if picture is not None:
        styled = container.find(".//*[@style]")  # CNA puts the aspect ratio on a wrapper div
        picture = copy.deepcopy(picture)
        picture.tail = None
        if not picture.get("style") and styled is not None and "aspect-ratio" in styled.get("style", ""):
            picture.set("style", styled.get("style"))
        fig.append(picture)
    else:
        attrs = {"src": img.get("src") or img.get("data-src") or ""}
        attrs["alt"] = tidy_whitespace(img.get("alt") or "").strip() or caption
        fig.append(lxml.html.Element("img", attrs))
    if caption:
        cap = lxml.html.Element("figcaption", {"class": "picinfo"})
        cap.text = caption
        fig.append(cap)
    return to_html(fig)
