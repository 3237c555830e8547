"""Fallback for sites without a parser of their own, built on trafilatura.

trafilatura is the best-measured general-purpose main-text extractor we know of; it is an optional
dependency (``pip install newsmirror[generic]``) so a CNA-only mirror does not pull in its
dependency tree.  Identity, title, dates and the lead figure come from the page's own metadata:

* identity: the normalized canonical URL (``utm_*``/``fbclid``/``gclid``, host case, trailing
  slash, AMP and mobile variants all give one article id);
* title: JSON-LD headline, the headline ``<h1>``, else ``og:title``/``<title>`` without the
  site-name suffix;
* date: JSON-LD, meta, ``<time>``, then the date the page shows in text (``2024年04月24日23:52``,
  ``24.04.2024 16:10``, ``April 24, 2024``).  A time without an offset is read in the source's
  ``timezone`` (else the zone of the site's country domain, else UTC).  A page without a
  readable date is an error, never "now";
* lead figure: the body's first image with the page's caption for it, else ``og:image``.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree

from ..dates import parse_datetime, parse_visible_date, zone_for
from ..document import PageDocument
from ..html import inner_html, parse_fragment, select, text_of
from ..urlnorm import clean_url, identity_url
from .base import NotAnArticle, PageMeta

_TITLE_SEPARATOR = re.compile(r"\s*(?:\s[|｜\-–—_·:]\s|[|｜]|--|__|_)\s*")
_TRAILING_SEPARATORS = re.compile(r"[\s|｜\-–—_·:]+$")
_DATE_HINT = re.compile(r"date|time|pub|posted|byline|meta|info|channel|article-?head", re.IGNORECASE)
_FURNITURE_IMAGE = re.compile(
    r"(?:^|[/_.-])(?:logo|icon|sprite|avatar|spacer|pixel|share)s?(?:[/_.-]|$)", re.IGNORECASE
)
_IMAGE_STEM = re.compile(r"([^/?#]+?)(?:\.(?:jpe?g|png|gif|webp|avif))?(?:[?#].*)?$", re.IGNORECASE)


class GenericParser:
    key = "generic"
    default_label = ""  # filled from the site name

    def matches(self, page: PageDocument, meta: PageMeta, url: str) -> bool:
        return True

    def parse(self, doc: etree._Element, meta: PageMeta, url: str) -> dict[str, Any]:
        canonical = clean_url(meta.canonical or meta.og_url or url)
        site, article_id = self.key_from_url(canonical)
        zone = zone_for(meta.zone, urlsplit(canonical).hostname)
        title = self.title(doc, meta)
        # Only dates the page states count.  trafilatura/htmldate would also guess one from the
        # URL (/2026/11/ -> 1 November): a wrong date is worse than an error.
        published = meta.published(zone) or self.time_element(doc, zone) or self.shown_date(doc, zone)
        if published is None:
            raise NotAnArticle("no readable publication date on the page")
        body_html = self.body(doc, meta, canonical)
        return {
            "url": canonical,
            "site": site,
            "article_id": article_id,
            "category": "",
            "title": title,
            "published": published,
            "modified": meta.modified(zone),
            "body_html": body_html,
            "label_fallback": site,
        }

    def key_from_url(self, url: str) -> tuple[str, str]:
        """Site = host without www; id = hash of the URL's identity form (unknown sites have no
        ids), so every variant of one article URL gives the same id."""
        host = (urlsplit(url).hostname or "unknown").lower()
        ident = identity_url(url)
        return re.sub(r"^(?:www|m|amp|mobile)\.", "", host), hashlib.sha1(ident.encode()).hexdigest()[:12]

    # -- title ---------------------------------------------------------------------------------

    def title(self, doc: etree._Element, meta: PageMeta) -> str:
        if meta.jsonld and isinstance(meta.jsonld.get("headline"), str) and meta.jsonld["headline"].strip():
            return " ".join(meta.jsonld["headline"].split())
        page_title = (meta.og_title or text_of(doc.find(".//title"))).strip()
        headings = [t for t in (text_of(h) for h in doc.iter("h1")) if t]
        for heading in headings:  # the headline is the <h1> the page title starts with
            if page_title and page_title.startswith(heading):
                return heading
        if headings:
            return headings[0]
        if not page_title:
            raise NotAnArticle("no title on the page")
        return strip_site_name(page_title, meta.site_name)

    # -- dates ---------------------------------------------------------------------------------

    def time_element(self, doc: etree._Element, zone: tzinfo) -> datetime | None:
        for el in select(
            doc, "article time[datetime], time[pubdate][datetime], time[itemprop=datePublished]"
        ):
            value = parse_datetime(el.get("datetime"), default_tz=zone)
            if value is not None:
                return value
        return None

    def shown_date(self, doc: etree._Element, zone: tzinfo) -> datetime | None:
        """The date printed near the headline: elements named like dates (``class="date"``,
        ``pubtime``, ``channel``...) first, then the text right after the ``<h1>``."""
        body = doc.find(".//body")
        if body is None:
            return None
        for el in body.iter():
            if not isinstance(el.tag, str) or el.tag in ("script", "style", "a"):
                continue
            names = f"{el.get('class', '')} {el.get('id', '')}"
            if _DATE_HINT.search(names) and (value := parse_visible_date(text_of(el)[:200], zone)):
                return value
        for h1 in body.iter("h1"):
            if text_of(h1):
                following = "".join(t for el in h1.itersiblings() for t in el.itertext())
                if value := parse_visible_date(following[:600], zone):
                    return value
        return None

    # -- body ----------------------------------------------------------------------------------

    def body(self, doc: etree._Element, meta: PageMeta, url: str) -> str:
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
        for img in list(container.iter("img")):  # site furniture trafilatura kept
            if _FURNITURE_IMAGE.search(urlsplit(img.get("src") or "").path):
                img.drop_tree()
        for p in list(container):  # leading link-only paragraphs: source credits, not text
            if p.tag != "p" or len(p) != 1 or p[0].tag != "a" or text_of(p) != text_of(p[0]):
                break
            container.remove(p)
        captions = page_captions(doc)
        figure_images(container, captions)
        if container.find(".//img") is None and meta.og_image:
            add_lead_figure(container, urljoin(url, meta.og_image), meta.image_alt, captions)
        return inner_html(container).strip()


def strip_site_name(title: str, site_name: str | None) -> str:
    """``Story - Example News`` / ``Story | 新聞網`` / ``标题--时政--人民网`` -> the story's title.

    The site's name (``og:site_name``) is cut off the end; without one, short tails after the
    last separators are (at most two: section and site), never leaving less than 8 characters.
    """
    title = title.strip()
    name = (site_name or "").strip()
    if name and title.endswith(name) and len(title) > len(name):
        head = _TRAILING_SEPARATORS.sub("", title[: -len(name)])
        if len(head) >= 2 and head != title[: -len(name)]:  # the name really was a suffix
            return head
    for _ in range(2):
        matches = list(_TITLE_SEPARATOR.finditer(title))
        if not matches:
            break
        last = matches[-1]
        head, tail = title[: last.start()].strip(), title[last.end() :].strip()
        if len(head) < 8 or not tail or len(tail) > 30:
            break
        title = head
    return title


def _stem(src: str) -> str:
    m = _IMAGE_STEM.search(urlsplit(src).path or src)
    return m[1].lower() if m else ""


def page_captions(doc: etree._Element) -> dict[str, str]:
    """Image file stem -> the caption the page shows for it (``<figure>``'s ``<figcaption>``)."""
    captions: dict[str, str] = {}
    for fig in doc.iter("figure"):
        caption = re.sub(r"[ \t\n]+", " ", text_of(fig.find(".//figcaption")))
        if not caption:
            continue
        for img in fig.iter("img", "source"):
            for attr in ("src", "data-src", "srcset", "data-srcset"):
                for candidate in (img.get(attr) or "").split(","):
                    stem = _stem(candidate.strip().split(" ")[0])
                    if stem:
                        captions.setdefault(stem, caption)
    return captions


def figure_images(container: etree._Element, captions: dict[str, str]) -> None:
    """Bare ``<img>`` -> ``<figure><img><figcaption>`` with the page's caption (the sample's
    shape).  A caption trafilatura left as the paragraph after the image is moved into it."""
    for img in list(container.iter("img")):
        parent = img.getparent()
        if parent is None or any(a.tag == "figure" for a in img.iterancestors()):
            continue
        caption = captions.get(_stem(img.get("src", "")), "")
        following = img.getnext()
        alt = (img.get("alt") or "").strip()
        if following is not None and following.tag == "p" and alt and text_of(following) == alt:
            caption = caption or alt
            img.tail = (img.tail or "") + (following.tail or "")
            parent.remove(following)
        # an image that is all of a link: the figure holds the link
        target = img
        alone = not (parent.text or "").strip() and not (img.tail or "").strip()
        if parent.tag == "a" and len(parent) == 1 and alone:
            target = parent
        figure = etree.Element("figure")
        target.addprevious(figure)
        tail, target.tail = target.tail, None
        figure.append(target)
        figure.tail = tail
        if caption:
            etree.SubElement(figure, "figcaption").text = caption


def add_lead_figure(
    container: etree._Element, src: str, image_alt: str | None, captions: dict[str, str]
) -> None:
    """The page's share image (``og:image``) as lead figure of a body that has no image;
    ``image_alt`` is the page's ``og:image:alt`` (or ``twitter:image:alt``)."""
    caption = captions.get(_stem(src)) or image_alt or ""
    figure = etree.Element("figure")
    img = etree.SubElement(figure, "img", src=src)
    img.set("alt", caption)
    if caption:
        etree.SubElement(figure, "figcaption").text = caption
    figure.tail = container.text
    container.text = None
    container.insert(0, figure)
