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
* every datetime is tz-aware; a time without an offset is in the source's zone (``default_tz``),
  Asia/Taipei -- CNA's -- when none is given.

Feeds and sitemaps that are not feeds or sitemaps at all (an HTML error page, an empty body)
raise :class:`DiscoveryError`, so a broken entry point is reported instead of looking like "no
new articles".  Single unreadable items inside a valid document are skipped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from html import escape as html_escape
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
from parsel import Selector
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap
from w3lib.encoding import html_to_unicode
from w3lib.html import remove_tags, replace_entities

from .dates import TAIPEI, UTC, _build, parse_datetime

__all__ = [
    "TAIPEI",
    "DiscoveryError",
    "Entry",
    "FeedItem",
    "filter_since",
    "parse_datetime",
    "parse_feed",
    "parse_feed_items",
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


def _maybe_gunzip(body: bytes, max_size: int) -> bytes:
    if body[:2] != b"\x1f\x8b":
        return body
    try:
        return gunzip(body, max_size=max_size)
    except Exception as exc:  # OSError/EOFError on corrupt data, Scrapy's size-limit error
        raise DiscoveryError(f"cannot gunzip sitemap: {exc}") from None


# --------------------------------------------------------------------------- feeds
#
# feedparser reads the feed: RSS 0.9x/1.0/2.0 and Atom, items beside <channel> (RSS 1.0),
# encodings (BOM, declared vs actual, GB2312/Big5/ISO-8859-1 ...), dc:date, escaped vs CDATA
# content, xml:base, feedburner:origLink.  It is well kept and tested against thousands of real
# feeds; a hand-written parser only ever caught up with the feeds its author had seen.


@dataclass(frozen=True)
class FeedItem:
    """One feed item with everything a post can be made of, not only its link."""

    key: str  # identity: guid/id, else link, else a hash of title and date
    url: str | None  # absolute article link (feedburner:origLink preferred); None if the item has none
    title: str | None
    published: datetime | None  # tz-aware
    modified: datetime | None  # tz-aware
    author: str | None = None
    content: str | None = None  # HTML: content:encoded, else Atom content, else description/summary
    full_text: bool = False  # content came from content:encoded / Atom content, not a summary
    thumbnail: str | None = None  # media:thumbnail (YouTube: the video's still)
    video_id: str | None = None  # yt:videoId
    description: str | None = None  # media:description (YouTube), plain text

    def entry(self) -> Entry | None:
        """The announcement a page parser needs, or ``None`` when the item has no link."""
        if self.url is None:
            return None
        return Entry(self.url, self.published, self.modified, self.title)


def _feed_date(entry: Any, name: str, default_tz: tzinfo | None) -> datetime | None:
    """Our reader first (it applies the source's zone to zone-less times); feedparser's parsed
    struct (always UTC) for the exotic formats it knows and we do not."""
    raw = dict.get(entry, name)  # plain dict lookup: FeedParserDict maps a missing updated to published
    if isinstance(raw, str):
        value = parse_datetime(raw, default_tz=default_tz)
        if value is not None:
            return value
        parsed = dict.get(entry, f"{name}_parsed")
        if parsed:
            try:
                return datetime(*parsed[:6], tzinfo=UTC)
            except (TypeError, ValueError):
                return None
    return None


def _plain(detail: Any, text: str | None) -> str | None:
    """A title as plain text: feedparser keeps markup of ``type="html"`` titles."""
    if text is None:
        return None
    if detail and "html" in str(detail.get("type", "")):
        text = replace_entities(remove_tags(text))
    return _clean(text)


def _content(entry: Any) -> tuple[str | None, bool]:
    """(HTML body, is it full text?) of an item."""
    for part in entry.get("content") or []:
        value = (part.get("value") or "").strip()
        if value:
            if "html" not in str(part.get("type", "")):
                value = html_escape(value).replace("\n\n", "</p><p>")
            return value, True
    summary = (entry.get("summary") or "").strip()
    if summary:
        detail = entry.get("summary_detail") or {}
        if "html" not in str(detail.get("type", "text/html")):
            summary = html_escape(summary)
        return summary, False
    return None, False


def _item(entry: Any, base_url: str, default_tz: tzinfo | None, rss: bool) -> FeedItem:
    origlink = entry.get("feedburner_origlink")
    url = _absolute(origlink, base_url) or _absolute(entry.get("link"), base_url)
    guid = (entry.get("id") or "").strip()
    title = _plain(entry.get("title_detail"), entry.get("title"))
    published = _feed_date(entry, "published", default_tz)
    modified = _feed_date(entry, "updated", default_tz)
    if rss and published is None and not dict.get(entry, "published"):
        # RSS has no "updated": feedparser files dc:date there, the item's one (publication) date
        published, modified = modified, None
        modified = None
    content, full = _content(entry)
    thumbs = entry.get("media_thumbnail") or []
    thumbnail = _absolute(thumbs[0].get("url"), base_url) if thumbs else None
    stamp = dict.get(entry, "published") or dict.get(entry, "updated") or ""
    key = guid or url or hashlib.sha1(f"{title or ''}|{stamp}".encode()).hexdigest()
    detail = entry.get("author_detail") or {}
    name = detail.get("name") or entry.get("author")
    author = _clean(name) if isinstance(name, str) else None
    description = entry.get("media_description") if isinstance(entry.get("media_description"), str) else None
    if entry.get("yt_videoid") and not description:  # feedparser files media:description as summary
        description = entry.get("summary") if isinstance(entry.get("summary"), str) else None
    return FeedItem(
        key=key,
        url=url,
        title=title,
        published=published,
        modified=modified,
        author=author,
        content=content,
        full_text=full,
        thumbnail=thumbnail,
        video_id=(entry.get("yt_videoid") or "").strip() or None,
        description=description.strip() if description else None,
    )


def parse_feed_items(
    body: bytes, base_url: str, *, default_tz: tzinfo | None = None, content_type: str | None = None
) -> list[FeedItem]:
    """Every item of an RSS or Atom feed, in feed order, de-duplicated by identity (first wins).

    ``default_tz`` is the zone of times written without an offset (the source's ``timezone``;
    Asia/Taipei when not given).  ``content_type`` is the HTTP header, whose charset feedparser
    weighs against the XML declaration (a GBK feed without one is GBK, not Latin-1 mojibake).
    Raises :class:`DiscoveryError` if the body is not a feed.
    """
    if not body or not body.strip():
        raise DiscoveryError("not a feed: empty body")
    headers = {"content-location": base_url}
    if content_type:
        headers["content-type"] = content_type
    import feedparser  # here, not at the top: a crawl of sitemaps only never loads it (~20 ms)

    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True, resolve_relative_uris=True)
    version = parsed.get("version") or ""
    if not version:
        if b"<urlset" in body[:2048] or b"<sitemapindex" in body[:2048]:
            raise DiscoveryError("not an RSS or Atom feed (root element <urlset>)")
        reason = parsed.get("bozo_exception") if parsed.get("bozo") else None
        raise DiscoveryError(f"not an RSS or Atom feed ({reason or 'no feed element found'})")
    items: list[FeedItem] = []
    seen: set[str] = set()
    for entry in parsed.entries:
        item = _item(entry, base_url, default_tz, rss=version.startswith("rss"))
        if item.key not in seen:
            seen.add(item.key)
            items.append(item)
    return items


def parse_feed(
    body: bytes, base_url: str, *, default_tz: tzinfo | None = None, content_type: str | None = None
) -> list[Entry]:
    """Article entries (items with a link) of an RSS 0.9x/1.0/2.0 or Atom feed, in feed order,
    de-duplicated by URL.  Raises :class:`DiscoveryError` if the body is not a feed."""
    items = parse_feed_items(body, base_url, default_tz=default_tz, content_type=content_type)
    entries = (item.entry() for item in items)
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
    body: bytes, base_url: str, *, max_size: int = SITEMAP_MAX_SIZE, default_tz: tzinfo | None = None
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
                published=parse_datetime(news.get("publication_date"), default_tz=default_tz),
                modified=parse_datetime(d.get("lastmod"), default_tz=default_tz),
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
