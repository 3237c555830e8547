"""Keep an article's images inside the site (``--download-images``, or a source's
``download_images = true``).

Publishers' image CDNs block hot-linking, rename files and drop old photos, so a mirror that only
links to them slowly loses its pictures.  This stage runs between clean and dedupe: it fetches
every image the cleaned body uses (``img src``/``srcset`` and ``source srcset``) through Scrapy's
:class:`~scrapy.pipelines.files.FilesPipeline` -- so robots.txt, AutoThrottle, retries and the
HTTP cache apply, with the article as Referer -- stores each under
``OUT/assets/img/<site>/<article id>/<hash of the URL>.<ext>`` and rewrites the body's URLs to
those site-relative paths.  Nothing else in the post changes.

- A file already on disk is not fetched again (the store's ``stat_file``; images never expire).
- A failed image (404, refused, robots.txt) keeps its original URL, is counted in the run report
  and printed as one warning line; the post is still written.
- Files are written atomically (temp file, then rename), like posts.
"""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import NotConfigured
from scrapy.pipelines.files import FilesPipeline, FSFilesStore

from ..atomic import atomic_write_bytes
from ..clean import lead_figure
from ..items import Article
from ..runtime import Runtime

IMAGE_DIR = "assets/img"
_EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg", ".bmp"}
# attribute values as nh3 serializes them: always double-quoted, & and " escaped
_URL_ATTR = re.compile(r'(?<=\s)(src|srcset)="([^"]*)"')
# only images: an <iframe src> (a YouTube player) or an <a href> is not an image to store
_IMAGE_TAG = re.compile(r'<(?:img|source)\b(?:[^>"]|"[^"]*")*>')


class ImageFailed(Exception):
    """One image could not be fetched; the message is the one-line reason."""


def body_image_urls(body_html: str) -> list[str]:
    """Absolute http(s) URLs of every image the body uses, in order, without repeats."""
    urls: list[str] = []
    attrs = (a for tag in _IMAGE_TAG.findall(body_html) for a in _URL_ATTR.findall(tag))
    for attr, value in attrs:
        for url in _candidates(attr, html.unescape(value)):
            if urlsplit(url).scheme in ("http", "https") and url not in urls:
                urls.append(url)
    return urls


def rewrite_image_urls(body_html: str, local: dict[str, str]) -> str:
    """Replace the URLs found in *local* inside the src/srcset values of <img> and <source>;
    every other byte stays."""

    def one(m: re.Match[str]) -> str:
        attr, value = m[1], html.unescape(m[2])
        if attr == "src":
            new = local.get(value.strip(), value)
        else:
            parts = []
            for candidate in value.split(","):
                words = candidate.split()
                if words and words[0] in local:
                    words[0] = local[words[0]]
                    candidate = (" " if candidate.startswith(" ") else "") + " ".join(words)
                parts.append(candidate)
            new = ",".join(parts)
        return m[0] if new == value else f'{attr}="{html.escape(new, quote=True)}"'

    return _IMAGE_TAG.sub(lambda tag: _URL_ATTR.sub(one, tag[0]), body_html)


def _candidates(attr: str, value: str) -> list[str]:
    if attr == "src":
        return [value.strip()] if value.strip() else []
    return [c.split()[0] for c in value.split(",") if c.split()]


def image_path(site: str, article_id: str, url: str) -> str:
    """``assets/img/cna/202309110310/3f2a...e1.jpg``: stable for a URL, so a re-run finds it."""
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:20]  # noqa: S324 (a name, not security)
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    return (
        f"{IMAGE_DIR}/{_safe(site)}/{_safe(article_id)}/{digest}{suffix if suffix in _EXTENSIONS else '.img'}"
    )


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", part).strip(".") or "_"


class AtomicFSFilesStore(FSFilesStore):
    """Scrapy's file store, writing through a temp file so a killed run leaves no half image, and
    making folders only when it writes (a dry run or a run without images creates nothing)."""

    def __init__(self, basedir: str) -> None:
        self.basedir = basedir.split("://", 1)[1] if "://" in basedir else basedir
        self.created_directories: dict[Any, set[str]] = {}

    def persist_file(
        self, path: str | Path, buf: Any, info: Any, meta: Any = None, headers: Any = None
    ) -> None:
        atomic_write_bytes(Path(self.basedir, path), buf.getvalue())


class ImagesToSitePipeline(FilesPipeline):
    """FilesPipeline whose store is the output folder and whose result is a rewritten body."""

    STORE_SCHEMES = {**FilesPipeline.STORE_SCHEMES, "": AtomicFSFilesStore, "file": AtomicFSFilesStore}
    EXPIRES = 365_000  # a news photo does not change: never fetch one the site already has
    LOG_FAILED_RESULTS = False  # failures are counted and printed by the run report

    def __init__(self, store_uri: str, *, crawler: Any) -> None:
        super().__init__(store_uri, crawler=crawler)
        runtime = Runtime.of(crawler)
        self.report = runtime.report
        self.dry_run = runtime.dry_run
        self.everywhere = crawler.settings.getbool("NEWSMIRROR_DOWNLOAD_IMAGES")

    @classmethod
    def from_crawler(cls, crawler: Any) -> ImagesToSitePipeline:
        """Not in the chain at all unless some article may want its images (no cost otherwise)."""
        sources = getattr(crawler.spider, "sources", ()) or ()
        if not (
            crawler.settings.getbool("NEWSMIRROR_DOWNLOAD_IMAGES")
            or any(getattr(s, "download_images", False) for s in sources)
        ):
            raise NotConfigured  # no message: Scrapy then drops it without a warning line
        return cls(str(Runtime.of(crawler).output.resolve()), crawler=crawler)

    def wanted(self, item: Any, spider: Any) -> bool:
        if not isinstance(item, Article) or self.dry_run:
            return False
        if self.everywhere:
            return True
        sources = getattr(spider, "sources", ()) or ()
        return any(s.name == item.source and getattr(s, "download_images", False) for s in sources)

    def get_media_requests(self, item: Any, info: Any) -> list[scrapy.Request]:
        if not self.wanted(item, info.spider):
            return []
        referer = item.origin if urlsplit(item.origin).scheme in ("http", "https") else item.url
        return [scrapy.Request(url, headers={"Referer": referer}) for url in body_image_urls(item.body_html)]

    def file_path(self, request: Any, response: Any = None, info: Any = None, *, item: Any = None) -> str:
        return image_path(item.site, item.article_id, request.url)

    async def media_downloaded(self, response: Any, request: Any, info: Any, *, item: Any = None) -> Any:
        if response.status != 200:
            raise ImageFailed(f"HTTP {response.status}")
        if not response.body:
            raise ImageFailed("empty response")
        return await super().media_downloaded(response, request, info, item=item)

    def media_failed(self, failure: Any, request: Any, info: Any) -> Any:
        from ..spiders.base import describe_failure

        if isinstance(failure.value, ImageFailed):
            raise failure.value
        raise ImageFailed(describe_failure(failure))

    def item_completed(self, results: list[tuple[bool, Any]], item: Any, info: Any) -> Any:
        if not isinstance(item, Article) or not results:
            return item
        requests = body_image_urls(item.body_html)
        local: dict[str, str] = {}
        for url, (ok, value) in zip(requests, results, strict=False):
            if ok:
                local[url] = "/" + value["path"]
                self.report.image(value.get("status", "downloaded"), url, item.origin or item.url)
            else:
                reason = " ".join(str(value.value).split()) or type(value.value).__name__
                self.report.image("failed", url, item.origin or item.url, reason)
        if local:
            item.body_html = rewrite_image_urls(item.body_html, local)
            item.lead_figure = lead_figure(item.body_html)
        return item
