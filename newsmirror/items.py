"""The two items that flow through the pipelines.

Spiders only *find* pages: they yield a :class:`Page` (raw bytes plus where they came from).
The extract pipeline turns a ``Page`` into an :class:`Article`; every later pipeline works on
``Article``.  Both are dataclasses, so itemadapter, Scrapy's feed exports and plain Python code
all handle them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Page:
    """A fetched or stored HTML page, not yet parsed."""

    url: str  # where the bytes came from (request URL, cache/WARC record URL or file:// URL)
    body: bytes
    encoding: str | None = None  # from HTTP headers, when known
    origin: str = ""  # human-readable location for messages: a URL, a file path, "x.warc.gz#12"
    fetched_at: datetime | None = None
    label: str | None = None  # source label override (--label, sources file)
    hint_modified: datetime | None = None  # modification time a feed/sitemap announced
    timezone: str | None = None  # the source's IANA zone for times the page writes without an offset
    input_key: str = ""  # fingerprint of these bytes + code + options (see Runtime.input_key)
    requested_url: str = ""  # the URL asked for, before redirects ("" when nothing was fetched)
    source: str = ""  # name of the source (sources.toml) that announced it, for source health
    from_feed: bool = False  # a feed item's document built by the crawl (sites/feed.py), not a fetched page
    file: str = ""  # a bare file the extraction reads itself (body empty until then: newsmirror.inputs)

    @property
    def unread_file(self) -> bool:
        """A bare file whose bytes are not read yet: the extraction reads them (newsmirror.inputs)."""
        return bool(self.file) and not self.body

    def __repr__(self) -> str:
        # Scrapy logs items on errors and at DEBUG: never the page bytes (a 20 MB page is one line)
        size = "bytes not read yet" if self.unread_file else f"{len(self.body)} bytes"
        return f"Page(url={self.url!r}, origin={self.origin!r}, {size})"


@dataclass
class Figure:
    """An image with its caption, as the page shows it."""

    src: str
    alt: str = ""
    caption: str = ""
    srcset: str = ""
    sources: list[dict[str, str]] = field(default_factory=list)  # <source> attributes, in order


@dataclass
class Article:
    """One news article, identified by (site, article_id) -- never by URL or title."""

    url: str  # canonical article URL
    site: str  # short site key, e.g. "cna"
    article_id: str  # e.g. CNA's 12-digit number
    title: str
    published: datetime  # tz-aware
    body_html: str
    label: str  # source label written to author/tags/categories
    modified: datetime | None = None
    category: str = ""
    lead_figure: Figure | None = None
    date_source: str = ""  # which page signal gave `published` (newsmirror.provenance)
    fetched_at: datetime | None = None
    origin: str = ""  # where the page came from, for messages
    hint_modified: datetime | None = None
    input_key: str = ""
    author: str = ""  # the post's author line (a feed item's author); empty: the label
    # set by the later pipelines
    post_path: str = ""  # path of the written post, relative to the output root
    outcome: str = ""  # "new" | "updated" | "unchanged"
    requested_url: str = ""  # the URL asked for, before redirects
    fetched_url: str = ""  # the URL the page came from, after redirects
    source: str = ""  # the Page's source, for source health

    def __repr__(self) -> str:
        return f"Article(url={self.url!r}, site={self.site!r}, article_id={self.article_id!r})"
