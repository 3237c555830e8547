"""Site parsers and the one entry point that picks among them: :func:`extract`.

The site is identified from the page itself (canonical link, og:url) before falling back to the
URL it was fetched from, so cached files and loopback test servers behave like the live site.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from ..dates import utc_iso_ms
from ..document import PageDocument
from ..html import decodes_cleanly
from ..items import Article, Page
from ..provenance import date_signal
from .base import NotAnArticle, PageMeta, SiteParser, read_meta
from .cna import CNAParser
from .feed import FeedItemParser
from .generic import GenericParser
from .youtube import YouTubeParser

__all__ = ["NotAnArticle", "PARSERS", "extract", "key_from_url", "parser_for"]

# Feed item documents first (they carry their article's canonical link, which may be CNA's),
# then specific sites; the generic fallback matches any page.
PARSERS: tuple[SiteParser, ...] = (YouTubeParser(), FeedItemParser(), CNAParser(), GenericParser())


def parser_for(key: str) -> SiteParser:
    for parser in PARSERS:
        if parser.key == key:
            return parser
    raise KeyError(f"unknown parser {key!r} (known: {', '.join(p.key for p in PARSERS)})")


def extract(page: Page, default_label: str | None = None) -> Article:
    """Parse a page into an Article, or raise :class:`NotAnArticle` with a one-line reason."""
    try:
        document = PageDocument(page.body, page.encoding)
    except ValueError as exc:  # empty body, undecodable bytes
        raise NotAnArticle(f"unreadable HTML: {exc}") from exc
    try:
        meta = read_meta(document, page.url)
    except ValueError as exc:  # a link urljoin cannot read ("Invalid IPv6 URL")
        raise NotAnArticle(f"unreadable page metadata: {exc}") from exc
    meta.zone = page.timezone
    # A feed item's document is built by the crawl itself: a fetched or stored page that carries
    # one (a crafted page) must never pose as a feed item or a video and take over its post.
    parser, doc = _parser_and_tree(page, document, meta)
    fields = parser.parse(doc, meta, page.url)
    check_identity(parser, meta, page, fields)
    check_decoding(fields, page)
    published: datetime = fields["published"]
    if published.tzinfo is None:  # parsers must return aware times; be strict rather than guess
        raise NotAnArticle("publication date has no time zone")
    # Jekyll hides future posts, and a refetch would move a published article out of the site
    if published > (page.fetched_at or datetime.now(timezone.utc)) + FUTURE_SLACK:
        raise NotAnArticle(f"publication date {utc_iso_ms(published)} is in the future")
    label_fallback = fields.pop("label_fallback", "")
    label = page.label or default_label or parser.default_label or label_fallback
    if not label.strip():  # author/tags/categories would be empty
        raise NotAnArticle("no source label (set `label` in the sources file, or --label)")
    fields.setdefault("date_source", date_signal(document, meta.jsonld, published))
    return Article(
        label=label,
        fetched_at=page.fetched_at,
        origin=page.origin or page.url,
        hint_modified=page.hint_modified,
        input_key=page.input_key,
        requested_url=page.requested_url or page.origin or page.url,
        fetched_url=page.url,
        **fields,
    )


def _parser_and_tree(page: Page, document: PageDocument, meta: PageMeta) -> tuple[SiteParser, Any]:
    """The parser that reads this page, and the lxml tree it gets (see :mod:`..document`)."""
    # A feed item's document is built by the crawl itself: a fetched or stored page that carries
    # one (a crafted page) must never pose as a feed item or a video and take over its post.
    parsers = (p for p in PARSERS if getattr(p, "feed_documents", False) == page.from_feed)
    try:
        parser = next((p for p in parsers if p.matches(document, meta, page.url)), None)
        if parser is None:
            raise NotAnArticle("unreadable feed item document")
        if getattr(parser, "complete_pages_only", False) and b"</html" not in page.body[-4096:].lower():
            # lxml closes whatever a cut-off download left open: without this, a page truncated in
            # the middle of the text would parse as a shorter article and replace the complete post
            raise NotAnArticle("truncated page: the HTML does not end with </html>")
        scopes: tuple[str, ...] = getattr(parser, "scopes", ())
        doc = document.container(scopes, getattr(parser, "scope_ends", None)) if scopes else None
        return parser, doc if doc is not None else document.lxml()
    except (ValueError, etree.ParserError) as exc:  # what libxml2 cannot read at all
        raise NotAnArticle(f"unreadable HTML: {exc}") from exc


FUTURE_SLACK = timedelta(days=1)  # time zones and clock skew; a wrong year is far beyond this
REPLACEMENT = "\ufffd"


def check_decoding(fields: dict[str, Any], page: Page) -> None:
    """U+FFFD in the title or body means the bytes were decoded with the wrong charset (or are
    broken): a post of mojibake must never be written, let alone replace a good one.  A page
    whose bytes decode cleanly but carry U+FFFD themselves (a publisher's own mojibake) is read
    as it is."""
    for name in ("title", "body_html"):
        count = str(fields.get(name, "")).count(REPLACEMENT)
        if count and not decodes_cleanly(page.body, page.encoding):
            where = "title" if name == "title" else "body"
            raise NotAnArticle(f"mis-decoded page: {count} replacement characters (U+FFFD) in the {where}")


def check_identity(parser: SiteParser, meta: PageMeta, page: Page, fields: dict[str, Any]) -> None:
    """What the page claims to be (canonical links, og:url, JSON-LD) must agree with itself and
    with the URL asked for when that URL names an article of this site; else it is an error, so a
    page can never overwrite another article's post."""
    claims = meta.identity_claims()
    if getattr(parser, "ids_in_urls", False):
        # the requested URL (before redirects) and the final one, when they name an article
        for signal, url in (("requested URL", page.requested_url), ("final URL", page.url)):
            if url and not url.startswith("file:"):
                claims.append((signal, url))
        article = (fields["site"], fields["article_id"])
        named = [(signal, url, parser.key_from_url(url)) for signal, url in claims]
        for signal, url, key in named:
            if key is not None and key != article:
                first = next(((s, u) for s, u, k in named if k == article), ("parsed article", fields["url"]))
                raise NotAnArticle(
                    f"conflicting article identity: {first[0]} {first[1]} vs {signal} {url}"
                )
        return
    # no ids in URLs (generic sites): the page's own signals must name one page
    seen: dict[str, tuple[str, str]] = {}
    for signal, url in claims:
        seen.setdefault(_page_key(url), (signal, url))
    if len(seen) > 1:
        (s1, u1), (s2, u2) = list(seen.values())[:2]
        raise NotAnArticle(f"conflicting article identity: {s1} {u1} vs {s2} {u2}")
    # a CMS whose canonical names its home or a section page would give every article one
    # identity, each overwriting the last: a claim that is an ancestor of the fetched page is wrong
    fetched = page.url if page.url.startswith(("http://", "https://")) else ""
    if seen and fetched:
        here = _page_key(fetched)
        for key, (signal, url) in seen.items():
            if key != here and here.startswith(key.rstrip("/") + "/"):
                raise NotAnArticle(
                    f"conflicting article identity: {signal} {url} names a page above final URL {fetched}"
                )


def _page_key(url: str) -> str:
    """The part of a URL that surely names a page: host without www./m., path without a trailing
    slash or /amp.  Queries are left out (tracking parameters vary between signals): lenient,
    so that only a real disagreement is an error."""
    parts = urlsplit(url.strip())
    host = re.sub(r"^(www|m|amp|mobile)\.", "", (parts.hostname or "").lower())
    path = re.sub(r"(/amp)?/*$", "", parts.path) or "/"
    return f"{host}{path}"


def key_from_url(parser_key: str, url: str) -> tuple[str, str] | None:
    """(site, article id) an article URL will have once parsed, so a crawl can skip pages it
    already mirrored without fetching them; ``None`` when the URL does not tell."""
    return parser_for(parser_key).key_from_url(url)
