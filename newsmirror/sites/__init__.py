"""Site parsers and the one entry point that picks among them: :func:`extract`.

The site is identified from the page itself (canonical link, og:url) before falling back to the
URL it was fetched from, so cached files and loopback test servers behave like the live site.
"""

from __future__ import annotations

from datetime import datetime

from ..html import parse_html
from ..items import Article, Page
from ..provenance import date_signal
from .base import NotAnArticle, SiteParser, read_meta
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
        doc = parse_html(page.body, page.encoding)
    except ValueError as exc:  # empty body, undecodable bytes
        raise NotAnArticle(f"unreadable HTML: {exc}") from exc
    meta = read_meta(doc, page.url)
    meta.zone = page.timezone
    parser = next(p for p in PARSERS if p.matches(doc, meta, page.url))
    if getattr(parser, "complete_pages_only", False) and b"</html" not in page.body[-4096:].lower():
        # lxml closes whatever a cut-off download left open: without this, a page truncated in
        # the middle of the text would parse as a shorter article and replace the complete post
        raise NotAnArticle("truncated page: the HTML does not end with </html>")
    fields = parser.parse(doc, meta, page.url)
    published: datetime = fields["published"]
    if published.tzinfo is None:  # parsers must return aware times; be strict rather than guess
        raise NotAnArticle("publication date has no time zone")
    label_fallback = fields.pop("label_fallback", "")
    fields.setdefault("date_source", date_signal(doc, meta.jsonld, published))
    return Article(
        label=page.label or default_label or parser.default_label or label_fallback,
        fetched_at=page.fetched_at,
        origin=page.origin or page.url,
        hint_modified=page.hint_modified,
        input_key=page.input_key,
        **fields,
    )


def key_from_url(parser_key: str, url: str) -> tuple[str, str] | None:
    """(site, article id) an article URL will have once parsed, so a crawl can skip pages it
    already mirrored without fetching them; ``None`` when the URL does not tell."""
    return parser_for(parser_key).key_from_url(url)
