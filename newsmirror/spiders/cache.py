"""Reprocessing: pages from saved HTML files, Scrapy's HTTP cache or WARC files, offline.

No request is made: ``start()`` reads the stores and yields :class:`Page` items straight into
the pipelines, so reprocessing thousands of cached pages costs parsing and writing only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

from w3lib.encoding import http_content_type_encoding

from ..inputs import page_of
from ..items import Page
from ..parallel import pages_done, room_for_pages
from ..stores import StoredPage, StoreError, iter_stored_pages
from .base import NewsSpider


class CacheSpider(NewsSpider):
    name = "cache"
    # nothing is fetched, so nothing to starve: parse on the reactor thread, in reading order
    custom_settings = {"ROBOTSTXT_OBEY": False, "NEWSMIRROR_PARSE_IN_THREAD": False}

    def __init__(
        self,
        path: str | None = None,
        paths: Iterable[str | Path] | str = (),
        label: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # `scrapy crawl cache -a paths=A,B` passes one string: split it, never iterate its characters
        self.paths = [Path(p) for p in [*_paths(paths), *_paths(path)]]
        if not self.paths:
            raise ValueError("give at least one path: scrapy crawl cache -a path=FOLDER")
        self.label = label

    async def start(self) -> AsyncIterator[Any]:
        for path in self.paths:
            try:
                # bare files are read by the extraction (a worker process), not here
                records = iter_stored_pages(path, read_files=False)
                for record in records:
                    page = self.to_page(record)
                    if page is not None:
                        await room_for_pages(getattr(self, "crawler", None))
                        yield page
            except (OSError, ValueError) as exc:
                self.report_failure(str(path), _reason(exc))
        await pages_done(getattr(self, "crawler", None))

    def to_page(self, record: StoredPage | StoreError) -> Page | None:
        if isinstance(record, StoreError):
            self.report_failure(record.origin, record.reason)
            return None
        if record.status not in (None, 200):
            self.report_skip(record.url or record.origin, f"stored response is HTTP {record.status}")
            return None
        content_type = record.headers.get("content-type", "")
        if content_type and "html" not in content_type.lower():  # robots.txt, feeds, sitemaps, images
            self.report_skip(record.url or record.origin, f"not HTML ({content_type})")
            return None
        folders = self.__dict__.setdefault("_resolved_folders", {})
        # a bare file's Page is the head start's too (newsmirror.headstart): one constructor
        return page_of(record, self.label, folders, http_content_type_encoding(content_type))


def _paths(value: str | Path | Iterable[str | Path] | None) -> list[str | Path]:
    """Paths may contain spaces, so a string is split on commas only."""
    if value is None:
        return []
    if isinstance(value, str | Path):
        return [p.strip() for p in str(value).split(",") if p.strip()]
    return list(value)


def _reason(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file or folder"
    if isinstance(exc, IsADirectoryError | PermissionError):
        return exc.strerror or type(exc).__name__
    return str(exc) or type(exc).__name__
