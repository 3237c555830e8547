"""One-off mirroring: fetch the given article URLs (``newsmirror mirror`` / ``scrapy crawl url``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import scrapy
from scrapy.http import Response

from .base import NewsSpider, strings


class UrlSpider(NewsSpider):
    name = "url"

    def __init__(
        self, url: str | None = None, urls: Iterable[str] | str = (), label: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        # `scrapy crawl url -a urls=A,B` passes one string: never iterate it character by character
        self.urls = [*strings(urls), *strings(url)]
        if not self.urls:
            raise ValueError("give at least one URL: scrapy crawl url -a url=https://...")
        self.label = label

    async def start(self) -> AsyncIterator[Any]:
        for url in self.urls:
            yield scrapy.Request(
                url,
                callback=self.parse_article,
                errback=self.request_failed,
                cb_kwargs={"origin": url},
                dont_filter=True,
            )

    def parse_article(self, response: Response, origin: str) -> Any:
        page = self.page_from(response, origin)
        if page is not None:
            yield page
