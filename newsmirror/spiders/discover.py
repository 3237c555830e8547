"""Scheduled crawls: read sitemaps, feeds and list pages; fetch only new or updated articles.

Discovery documents are fetched on every run (``dont_filter``); an article page is fetched only
when the seen-store does not know its (site, article id) yet, or when the feed/sitemap announces
a modification newer than the one already mirrored.  Everything else -- scheduling, robots.txt,
AutoThrottle, retries, JOBDIR, the HTTP cache -- is Scrapy's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from datetime import datetime, timezone
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.http import Response

from ..dates import parse_datetime, to_ms
from ..discovery import (
    DiscoveryError,
    Entry,
    FeedItem,
    filter_since,
    parse_feed,
    parse_feed_items,
    parse_list_page,
    parse_since,
    parse_sitemap,
)
from ..items import Article, Page
from ..runtime import Runtime
from ..sites import key_from_url
from ..sites.feed import feed_item_document
from ..sources import Source, load_sources, source_from_urls
from ..urlnorm import identity_url
from .base import ALLOW_HOSTS_META, ROBOTS_REFUSAL, NewsSpider, describe_failure, strings

KINDS = {"sitemap": parse_sitemap, "feed": parse_feed, "list": parse_list_page}


class DiscoverSpider(NewsSpider):
    name = "discover"

    def __init__(
        self,
        sources: Iterable[Source] | str | None = None,
        since: datetime | str | None = None,
        worker: bool = False,
        **kwargs: Any,
    ) -> None:
        sitemaps, feeds = strings(kwargs.pop("sitemap", None)), strings(kwargs.pop("feed", None))
        parser = kwargs.pop("parser", None)
        super().__init__(**kwargs)
        # `scrapy crawl discover [-a sources=FILE] [-a since=2h]` passes strings (or nothing);
        # `-a sitemap=URL[,URL]` / `-a feed=URL[,URL]` give entry points instead of a sources file
        if (sitemaps or feeds) and sources is None:
            self.sources = [source_from_urls(sitemaps, feeds, kwargs.get("label"), parser=parser)]
        elif sources is None or isinstance(sources, str):
            self.sources = load_sources(sources)
        else:
            self.sources = list(sources)
        self.since = parse_since(since, datetime.now(timezone.utc)) if isinstance(since, str) else since
        self.worker = worker  # a distributed worker only takes requests from the shared queue
        self.announced: set[str] = set()  # article URLs seen in any source this run
        self.decided: set[str] = set()  # ... of which fetched or found already mirrored
        self.pending_skips: dict[str, str] = {}  # url -> reason, reported at the end unless fetched

    async def start(self) -> AsyncIterator[Any]:
        if self.worker:
            return
        for source in self.sources:
            for kind, urls in (
                ("sitemap", source.sitemaps),
                ("feed", source.feeds),
                ("list", source.list_pages),
            ):
                for url in urls:
                    yield self.discovery_request(url, kind, source)

    def discovery_request(self, url: str, kind: str, source: Source) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_discovery,
            errback=self.request_failed,
            dont_filter=True,
            cb_kwargs={"origin": url, "kind": kind, "source": source.name},
            priority=10,
        )

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> DiscoverSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.remember_scraped, signal=signals.item_scraped)
        crawler.signals.connect(spider.remember_dropped, signal=signals.item_dropped)
        return spider

    def source(self, name: str) -> Source:
        return next(s for s in self.sources if s.name == name)

    def parse_discovery(self, response: Response, origin: str, kind: str, source: str) -> Any:
        src = self.source(source)
        try:
            if kind == "feed":
                if src.parser == "feed":
                    yield from self.feed_items(response, origin, src)
                    return
                entries = parse_feed(
                    response.body, response.url, default_tz=src.zone, content_type=_content_type(response)
                )
            elif kind == "sitemap":
                entries, children = parse_sitemap(response.body, response.url, default_tz=src.zone)
                for child in children:
                    yield self.discovery_request(child, "sitemap", src)
            else:
                entries = KINDS[kind](response.body, response.url)
        except DiscoveryError as exc:
            self.report_failure(origin, f"not a {kind}: {exc}", source=source, kind="discovery")
            return
        for entry in entries:
            request = self.consider(entry, src)
            if request is not None:
                yield request

    def consider(self, entry: Entry, source: Source) -> scrapy.Request | None:
        """Decide whether an announced article needs fetching."""
        report = Runtime.of(self.crawler).report
        if entry.url in self.decided:  # listed by several sources: fetched (or known) once
            return None
        if entry.url not in self.announced:
            self.announced.add(entry.url)
            report.discovered += 1
        if not _allowed(entry.url, source.allow_domains):
            self._skip_once(entry.url, f"outside allow_domains of source {source.name!r}")
            return None
        if self.since and not filter_since([entry], self.since):
            self._skip_once(entry.url, "older than --since")
            return None
        self.decided.add(entry.url)
        runtime = Runtime.of(self.crawler)
        record = self.known_record(source.parser, entry.url)
        refetch = False
        if record is not None:
            known = parse_datetime(record.modified or record.published)
            newer = bool(entry.modified and known and to_ms(entry.modified) > known)
            if not newer and (runtime.output / record.post_path).is_file():
                report.done("unchanged", entry.url, record.post_path)
                return None
            refetch = True  # the source announces a newer version, or the post file is gone
        return scrapy.Request(
            entry.url,
            callback=self.parse_article,
            errback=self.request_failed,
            dont_filter=refetch,
            cb_kwargs={
                "origin": entry.url,
                "label": self.label or source.label,  # a distributed worker uses the crawl's label
                "hint": entry.modified.isoformat() if entry.modified else None,
                "source": source.name,
            },
            meta={ALLOW_HOSTS_META: source.allow_domains, "newsmirror_timezone": source.timezone},
        )

    # -- full-text feeds (parser = "feed") and URL aliases ---------------------------------------

    def feed_items(self, response: Response, origin: str, source: Source) -> Any:
        """Posts straight from the items of a full-text feed: each item becomes a Page-like
        document (see newsmirror.sites.feed) and no article page is fetched.  Items carrying
        only a summary go to their linked page instead when the source says
        ``fetch_summary_only``."""
        items = parse_feed_items(
            response.body, response.url, default_tz=source.zone, content_type=_content_type(response)
        )
        for item in items:
            if source.fetch_summary_only and not item.full_text and not item.video_id:
                entry = item.entry()
                if entry is not None:
                    request = self.consider(entry, _as_page_source(source))
                    if request is not None:
                        yield request
                    continue
            page = self.feed_item_page(item, source, response.url)
            if page is not None:
                yield page

    def feed_item_page(self, item: FeedItem, source: Source, feed_url: str) -> Page | None:
        report = Runtime.of(self.crawler).report
        origin = item.url or f"{feed_url}#{item.key}"
        if origin in self.decided:  # the same item in two feeds of a run
            return None
        if origin not in self.announced:
            self.announced.add(origin)
            report.discovered += 1
        announced = Entry(origin, item.published, item.modified, item.title)
        if self.since and not filter_since([announced], self.since):
            self._skip_once(origin, "older than --since")
            return None
        self.decided.add(origin)
        author = item.author if source.author == "item" and item.author else source.label
        # Always handed on: building it costs no request, and the skip stage drops it unparsed
        # when these exact bytes already made the post (an edited item is rewritten).
        return Page(
            url=item.url or feed_url,
            body=feed_item_document(item, source=source.name, feed_url=feed_url, author=author),
            encoding="utf-8",
            origin=origin,
            fetched_at=None,  # nothing fetched: the item is as new as the feed says (hint_modified)
            label=self.label or source.label,
            hint_modified=item.modified,
            timezone=source.timezone,
            source=source.name,
            from_feed=True,
        )

    def known_record(self, parser: str, url: str) -> Any:
        """The seen-store row of the article at ``url``: by the id the URL shows (CNA), else by
        any URL it was announced or fetched under before (aliases)."""
        store = Runtime.of(self.crawler).store
        key = key_from_url(parser, url)
        record = store.get(*key) if key else None
        if record is None and (alias := store.article_for_url(url)):
            record = store.get(*alias)
        return record

    def remember_scraped(self, item: Any, response: Any = None, spider: Any = None) -> None:
        """An article was handled: remember the URLs it was announced and fetched under."""
        if isinstance(item, Article) and item.site and item.article_id:
            urls = [item.origin, item.url]
            request = getattr(response, "request", None)
            if request is not None and getattr(request, "callback", None) == self.parse_article:
                urls.append(response.url)  # the article page as fetched (after redirects), not a feed
            self._add_aliases(item.site, item.article_id, urls)

    def remember_dropped(
        self, item: Any, response: Any = None, exception: Any = None, spider: Any = None
    ) -> None:
        """A page dropped as unchanged or as a second copy still names a known article."""
        if isinstance(item, Article) and item.site and item.article_id:
            self._add_aliases(item.site, item.article_id, [item.origin])
        elif isinstance(item, Page) and item.input_key:
            known = Runtime.of(self.crawler).store.article_for_input(item.input_key)
            if known:
                self._add_aliases(*known, [item.origin, item.url])

    @cached_property
    def entry_point_identities(self) -> frozenset[str]:
        return frozenset(identity_url(u) for s in self.sources for u in s.entry_urls)

    def _add_aliases(self, site: str, article_id: str, urls: list[str]) -> None:
        store = Runtime.of(self.crawler).store
        if store.get(site, article_id) is None:  # only for articles really mirrored (not --dry-run)
            return
        # a linkless feed item's post points at its feed: the feed is no alias of the article
        keep = [u for u in dict.fromkeys(urls) if u and identity_url(u) not in self.entry_point_identities]
        store.add_aliases(site, article_id, keep)

    def _skip_once(self, url: str, reason: str) -> None:
        # another source may still announce the article in a way that gets it fetched, and the
        # order in which sources answer must not change the report: decide at the end
        self.pending_skips.setdefault(url, reason)

    def closed(self, reason: str) -> None:
        for url, why in self.pending_skips.items():
            if url not in self.decided:
                self.report_skip(url, why)

    def request_failed(self, failure: Any) -> None:
        """A scheduled crawl counts robots.txt refusals as skipped, not failed: the site said no."""
        if describe_failure(failure) == ROBOTS_REFUSAL:
            request = failure.request
            source = request.cb_kwargs.get("source", "")
            kind = "discovery" if "kind" in request.cb_kwargs else ""
            origin = request.cb_kwargs.get("origin", request.url)
            self.report_skip(origin, ROBOTS_REFUSAL, source=source, kind=kind)
        else:
            super().request_failed(failure)

    def parse_article(
        self, response: Response, origin: str, label: str, hint: str | None, source: str = ""
    ) -> Any:
        page = self.page_from(response, origin, hint_modified=parse_datetime(hint))
        if page is not None:
            page.label = self.label or label
            page.source = source
            page.timezone = response.meta.get("newsmirror_timezone")
            yield page


def _as_page_source(source: Source) -> Source:
    """A feed source's summary-only items are read from their pages by the generic extractor;
    ``allow_domains`` means nothing for a feed source, so none applies."""
    return replace(source, parser="generic", allow_domains=())


def _allowed(url: str, domains: tuple[str, ...]) -> bool:
    if not domains:
        return True
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)


def _content_type(response: Response) -> str | None:
    value = response.headers.get("Content-Type")
    return value.decode("latin-1") if value else None
