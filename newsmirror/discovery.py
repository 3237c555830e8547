"""Turn discovery documents (feeds, sitemaps, list pages) into article entries.

Everything here is a pure function of bytes: no network, no clock.  The spider fetches the
documents (obeying robots.txt) and hands the bodies to these parsers; keeping them pure means they
are tested against saved copies and behave the same for live responses, cache hits and WARC
records.

Conventions shared by all parsers:

* URLs are made absolute against ``base_url`` (the URL the document was fetched from) and only
  ``http``/``https`` links are kept;
* entries are de-duplicated by URL, the first occurrence wins (feeds and lists are newest-first,
  so the first is the freshest announcement);
* every datetime is tz-aware; a time without an offset is CNA's local time, Asia/Taipei.

Feeds and sitemaps that are not feeds or sitemaps at all (an HTML error page, an empty body)
raise :class:`DiscoveryError`, so a broken entry point is reported instead of looking like "no
new articles".  Single unreadable items inside a valid document are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
from parsel import Selector
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap
from w3lib.encoding import html_to_unicode
from w3lib.html import remove_tags, replace_entities

from .dates import TAIPEI, _build, parse_datetime

__all__ = [
    "TAIPEI",
    "DiscoveryError",
    "Entry",
    "filter_since",
    "parse_datetime",
    "parse_feed",
    "parse_list_page",
    "parse_since",
    "parse_sitemap",
]


#: Uncompressed size limit for gzipped sitemaps: the sitemaps.org maximum (50 MB).
SITEMAP_MAX_SIZE = 50 * 1024 * 1024


class DiscoveryError(ValueError):
    """The body is not the kind of document the parser was asked to read."""


@dataclass(frozen=True)
class Entry:
    """One article announced by a discovery source."""

    url: str  # absolute article URL as given by the source
    published: datetime | None  # tz-aware
    modified: datetime | None  # tz-aware (sitemap lastmod, Atom updated)
    title: str | None


_SINCE_RE = re.compile(r"^(\d+)\s*([smhdw])$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """``--since`` value -> a tz-aware instant.

    Relative ages (``30m``, ``2h``, ``3d``, ``1w``; ``s`` for seconds too) count back from
    ``now``; absolute values are anything :func:`parse_datetime` reads, such as ``2026-11-01``
    (midnight in Taipei) or ``2026-11-01T08:00:00+00:00``.  ``m`` is minutes, never months.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("parse_since: 'now' must be timezone-aware")
    value = (text or "").strip()
    if m := _SINCE_RE.match(value):
        try:
            return now - timedelta(**{_UNITS[m[2].lower()]: int(m[1])})
        except OverflowError:
            raise ValueError(f"--since {text!r}: that is too far back") from None
    if when := parse_datetime(value):
        return when
    raise ValueError(
        f"--since {text!r}: expected an age such as 30m, 2h, 3d, 1w "
        "or a date/time such as 2026-11-01 or 2026-11-01T08:00+08:00"
    )


def filter_since(entries: Iterable[Entry], since: datetime) -> list[Entry]:
    """Keep entries announced at or after ``since`` (their ``modified``, else ``published``).

    Entries without any date are kept: dropping them could silently lose articles, and the
    article page itself carries the real date.
    """
    if since.tzinfo is None or since.utcoffset() is None:
        raise ValueError("filter_since: 'since' must be timezone-aware")
    kept = []
    for entry in entries:
        when = entry.modified or entry.published
        if when is None or when >= since:
            kept.append(entry)
    return kept


# --------------------------------------------------------------------------- helpers


def _absolute(href: str | None, base_url: str) -> str | None:
    """Absolute http(s) URL for ``href``, or ``None`` for empty/javascript:/mailto: links."""
    if not href or not href.strip():
        return None
    url = urljoin(base_url, href.strip())
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def _dedupe(entries: Iterable[Entry]) -> list[Entry]:
    seen: set[str] = set()
    out = []
    for entry in entries:
        if entry.url not in seen:
            seen.add(entry.url)
            out.append(entry)
    return out


_ASCII_SPACE_RE = re.compile(r"[ \t\r\n\f\v]+")


def _clean(text: str | None) -> str | None:
    """Collapse runs of ASCII whitespace; empty -> ``None``."""
    if text is None:
        return None
    # ASCII whitespace only: CNA titles use U+3000 (ideographic space) as a separator on purpose
    text = _ASCII_SPACE_RE.sub(" ", text).strip(" ")
    return text or None


def _local(tag: Any) -> str:
    if not isinstance(tag, str):  # comments, processing instructions
        return ""
    return tag.rpartition("}")[2]


def _xml_root(body: bytes, what: str) -> lxml.etree._Element:
    """Parse XML safely: no entity expansion, no network, recover from small errors."""
    parser = lxml.etree.XMLParser(
        recover=True, resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False
    )
    try:
        root = lxml.etree.fromstring(body.strip(), parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"not a {what}: {exc}") from None
    if root is None:
        raise DiscoveryError(f"not a {what}: no XML element found")
    return root


def _maybe_gunzip(body: bytes, max_size: int) -> bytes:
    if body[:2] != b"\x1f\x8b":
        return body
    try:
        return gunzip(body, max_size=max_size)
    except Exception as exc:  # OSError/EOFError on corrupt data, Scrapy's size-limit error
        raise DiscoveryError(f"cannot gunzip sitemap: {exc}") from None


# --------------------------------------------------------------------------- feeds


def _child(elem: lxml.etree._Element, name: str) -> lxml.etree._Element | None:
    for child in elem:
        if _local(child.tag) == name:
            return child
    return None


def _child_text(elem: lxml.etree._Element, *names: str) -> str | None:
    """Text of the first child with one of ``names`` (local names, any namespace)."""
    for name in names:
        for child in elem:
            # every match, not just the first: an RSS item may hold an empty <atom:link href=..>
            # before its <link>
            if _local(child.tag) == name and (text := "".join(child.itertext()).strip()):
                return text
    return None


def _rss_entry(item: lxml.etree._Element, base_url: str) -> Entry | None:
    href = _child_text(item, "link")
    if not href:
        # a guid is a permalink unless it says isPermaLink="false" (CNA's are "CNA/2026-09-24/<id>")
        guid = _child(item, "guid")
        if guid is not None and (guid.get("isPermaLink") or "true").lower() == "true":
            href = (guid.text or "").strip()
    url = _absolute(href, base_url)
    if url is None:
        return None
    return Entry(
        url=url,
        published=parse_datetime(_child_text(item, "pubDate", "date", "published")),
        modified=parse_datetime(_child_text(item, "updated", "modified")),
        title=_clean(_child_text(item, "title")),
    )


def _atom_link(entry: lxml.etree._Element) -> str | None:
    fallback = None
    for child in entry:
        if _local(child.tag) != "link" or not child.get("href"):
            continue
        rel = child.get("rel", "alternate")
        if rel == "alternate" and child.get("type", "text/html") in ("text/html", "application/xhtml+xml"):
            return child.get("href")
        if rel == "alternate" and fallback is None:
            fallback = child.get("href")
    return fallback


def _atom_entry(entry: lxml.etree._Element, base_url: str) -> Entry | None:
    # lxml's .base is the xml:base chain of the entry and its ancestors
    base = urljoin(base_url, entry.base) if entry.base else base_url
    url = _absolute(_atom_link(entry), base)
    if url is None:
        return None
    return Entry(
        url=url,
        published=parse_datetime(_child_text(entry, "published", "issued")),
        modified=parse_datetime(_child_text(entry, "updated", "modified")),
        title=_atom_title(entry),
    )


def _atom_title(entry: lxml.etree._Element) -> str | None:
    """Plain-text title; ``type="html"`` titles carry escaped markup, which is removed."""
    title = _child(entry, "title")
    if title is None:
        return None
    text = "".join(title.itertext())
    if title.get("type") == "html":
        text = replace_entities(remove_tags(text))
    return _clean(text)


def parse_feed(body: bytes, base_url: str) -> list[Entry]:
    """Entries of an RSS 2.0 (also 0.9x/1.0) or Atom 1.0 feed, in feed order.

    RSS ``pubDate`` becomes ``published``; Atom ``published``/``updated`` become
    ``published``/``modified``.  Raises :class:`DiscoveryError` if the body is not a feed.
    """
    root = _xml_root(body, "feed")
    kind = _local(root.tag)
    entries: list[Entry | None]
    if kind == "rss":
        channel = _child(root, "channel")
        items = [c for c in channel if _local(c.tag) == "item"] if channel is not None else []
        entries = [_rss_entry(item, base_url) for item in items]
    elif kind == "RDF":  # RSS 1.0: items are siblings of the channel
        entries = [_rss_entry(item, base_url) for item in root if _local(item.tag) == "item"]
    elif kind == "feed":
        entries = [_atom_entry(e, base_url) for e in root if _local(e.tag) == "entry"]
    else:
        raise DiscoveryError(f"not an RSS or Atom feed (root element <{kind or root.tag}>)")
    return _dedupe(e for e in entries if e is not None)


# --------------------------------------------------------------------------- sitemaps


class _NewsSitemap(Sitemap):
    """Scrapy's sitemap parser, keeping Google News ``<news:news>`` children.

    Scrapy flattens each ``<url>`` to its direct children's text and clears nested elements, so
    ``news:publication_date`` and ``news:title`` would be lost.  This hooks the per-element step
    to copy them (as ``d["news"]``) first.  The hook is a private Scrapy method; the Google News
    tests fail loudly if a Scrapy upgrade renames it.
    """

    __slots__ = ()

    def _process_sitemap_element(self, elem: lxml.etree._Element) -> dict[str, Any] | None:
        news: dict[str, str] = {}
        for child in elem:
            if _local(child.tag) == "news":
                for sub in child.iter():
                    name = _local(sub.tag)
                    if name in ("publication_date", "title") and sub.text and sub.text.strip():
                        news.setdefault(name, sub.text.strip())
        d = super()._process_sitemap_element(elem)
        if d is not None and news:
            d["news"] = news
        return d


def _iter_sitemap(sitemap: Sitemap) -> Iterable[dict[str, Any]]:
    try:
        yield from sitemap
    except lxml.etree.XMLSyntaxError as exc:  # recover=True makes this rare: a truncated body
        raise DiscoveryError(f"broken sitemap: {exc}") from None


def parse_sitemap(
    body: bytes, base_url: str, *, max_size: int = SITEMAP_MAX_SIZE
) -> tuple[list[Entry], list[str]]:
    """``(url entries, child sitemap URLs)`` of a sitemap, sitemap index or Google News sitemap.

    A gzipped body is unpacked first (at most ``max_size`` bytes).  ``lastmod`` becomes
    ``modified``; Google News ``publication_date``/``title`` become ``published``/``title``.
    A ``<urlset>`` gives no child URLs and a ``<sitemapindex>`` no entries.  Raises
    :class:`DiscoveryError` if the body is not a sitemap.
    """
    xml = _maybe_gunzip(body, max_size).strip()
    if not xml:
        raise DiscoveryError("not a sitemap: empty body")
    try:
        sitemap = _NewsSitemap(xml)
    except (lxml.etree.XMLSyntaxError, StopIteration) as exc:
        raise DiscoveryError(f"not a sitemap: {str(exc) or 'no XML element found'}") from None
    if sitemap.type not in ("urlset", "sitemapindex"):
        raise DiscoveryError(f"not a sitemap (root element <{sitemap.type}>)")

    entries: list[Entry] = []
    children: list[str] = []
    for d in _iter_sitemap(sitemap):
        url = _absolute(d.get("loc"), base_url)
        if url is None:
            continue
        if sitemap.type == "sitemapindex":
            if url not in children:
                children.append(url)
            continue
        news = d.get("news", {})
        entries.append(
            Entry(
                url=url,
                published=parse_datetime(news.get("publication_date")),
                modified=parse_datetime(d.get("lastmod")),
                title=_clean(news.get("title")),
            )
        )
    return _dedupe(entries), children


# --------------------------------------------------------------------------- list pages

# /news/<section>/<YYYYMMDD><NNNN>.aspx, old pages with a "-1" page suffix and mixed case
_ARTICLE_PATH_RE = re.compile(r"^/news/[a-z0-9]+/(?P<id>\d{12})(?:-\d+)?\.aspx$", re.IGNORECASE)
_MONTH_DAY_TIME_RE = re.compile(r"^(?P<mo>\d{1,2})/(?P<d>\d{1,2})\s+(?P<h>\d{1,2}):(?P<mi>\d{2})$")
_DOC_END_RE = re.compile(r"</html\s*>", re.IGNORECASE)


def _article_url(href: str | None, base_url: str) -> str | None:
    """Absolute URL if ``href`` is a CNA article link on the list's own site, else ``None``.

    "Own site" is the host the list was fetched from (a loopback copy in tests) or cna.com.tw,
    so video links (YouTube), ads and other sites' links are left out.
    """
    url = _absolute(href, base_url)
    if url is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    own = host == (urlsplit(base_url).hostname or "") or host == "cna.com.tw" or host.endswith(".cna.com.tw")
    return url if own and _ARTICLE_PATH_RE.match(parts.path) else None


def _documents(body: bytes) -> list[str]:
    """Decode an HTML body; split captures that hold several documents back to back."""
    _, text = html_to_unicode(None, body)
    if len(re.findall(r"<html[\s>]", text, re.IGNORECASE)) < 2:
        return [text]
    return [part for part in _DOC_END_RE.split(text) if part.strip()]


def _list_2026(sel: Selector, base_url: str) -> list[Entry]:
    entries = []
    for a in sel.css("ul#jsMainList > li > a[href]"):
        url = _article_url(a.attrib.get("href"), base_url)
        if url is None:
            continue
        title = _clean(" ".join(a.css("h2 > span ::text").getall())) or _clean(
            " ".join(a.css("h2 ::text").getall())
        )
        time = a.css("time.date")
        published = parse_datetime(time.attrib.get("datetime")) or parse_datetime(
            " ".join(time.css("::text").getall())
        )
        entries.append(Entry(url=url, published=published, modified=None, title=title))
    return entries


def _year_from_id(url: str, month: int, day: int) -> int | None:
    """The 2014 list shows ``MM/DD HH:MM`` without a year: take it from the article id's
    ``YYYYMMDD``, stepping to the next year when a December article is listed in January."""
    m = _ARTICLE_PATH_RE.match(urlsplit(url).path)
    if not m:
        return None
    id_year, id_month = int(m["id"][:4]), int(m["id"][4:6])
    return id_year + 1 if id_month == 12 and month == 1 else id_year


def _list_2014(sel: Selector, base_url: str) -> list[Entry]:
    """``div.news_list_content`` holds a table: ``<td><h2>MM/DD HH:MM</h2></td>``
    ``<td><h1><a href="/news/<section>/<id>-1.aspx">title</a></h1></td>`` per row."""
    entries = []
    for row in sel.css("div.news_list_content table tr"):
        a = row.css("td h1 a[href]")
        if not a:
            continue
        url = _article_url(a[0].attrib.get("href"), base_url)
        if url is None:
            continue
        published = None
        m = _MONTH_DAY_TIME_RE.match(" ".join(" ".join(row.css("td h2 ::text").getall()).split()))
        if m:
            year = _year_from_id(url, int(m["mo"]), int(m["d"]))
            if year is not None:
                try:
                    published = _build(m, TAIPEI, year=year)
                except ValueError:
                    published = None
        title = _clean(" ".join(a[0].css("::text").getall()))
        entries.append(Entry(url=url, published=published, modified=None, title=title))
    return entries


def parse_list_page(body: bytes, base_url: str) -> list[Entry]:
    """Article entries of a CNA list page (``/list/<code>.aspx``), in page order.

    Only the article list is read, never navigation menus, "popular" boxes or footers:
    the 2026 layout's ``ul#jsMainList``, or the 2014 layout's ``div.news_list_content`` table.
    Links that are not CNA article URLs (video links, ads) are skipped.  A body holding several
    saved documents back to back is read document by document.  Returns ``[]`` when the page
    has no recognisable list.
    """
    entries: list[Entry] = []
    for doc in _documents(body):
        sel = Selector(text=doc)
        entries.extend(_list_2026(sel, base_url))
        entries.extend(_list_2014(sel, base_url))
    return _dedupe(entries)
