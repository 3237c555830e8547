"""What every newsmirror spider shares: turning responses into Pages and failures into reasons."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from ..items import Page
from ..runtime import Runtime

ROBOTS_REFUSAL = "forbidden by robots.txt"


def describe_failure(failure: Failure) -> str:
    """A one-line, human reason for a failed request."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status}"
    name = type(exc).__name__
    if name == "IgnoreRequest" and "robots" in str(exc).lower():
        return ROBOTS_REFUSAL
    text = str(exc).strip() or name
    if "DNS lookup failed" in text:
        return text
    if "DNSLookupError" in name or "CannotResolveHost" in name:
        return f"DNS lookup failed: {text}"
    if "TimeoutError" in name:
        return "timed out"
    if "ConnectionRefused" in name:
        return "connection refused"
    return f"{name}: {text}" if text != name else name


class NewsSpider(scrapy.Spider):
    """Base spider: yields :class:`Page` items and reports failed requests to the run report."""

    label: str | None = None

    def page_from(self, response: Response, origin: str | None = None, **extra: Any) -> Page | None:
        if not isinstance(response, TextResponse):
            self.report_failure(
                origin or response.url,
                f"not an HTML page (Content-Type {response.headers.get('Content-Type', b'?').decode()})",
            )
            return None
        return Page(
            url=response.url,
            body=response.body,
            encoding=response.encoding,
            origin=origin or response.url,
            fetched_at=datetime.now(timezone.utc),
            label=self.label,
            **extra,
        )

    def request_failed(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.cb_kwargs.get("origin", request.url) if request is not None else "?"
        self.report_failure(url, describe_failure(failure), *_blame(request))

    def report_failure(self, url: str, reason: str, source: str = "", kind: str = "") -> None:
        Runtime.of(self.crawler).report.fail(url, reason, source, kind)

    def report_skip(self, url: str, reason: str, source: str = "", kind: str = "") -> None:
        Runtime.of(self.crawler).report.skip(url, reason, source, kind)


def _blame(request: Any) -> tuple[str, str]:
    """(source, kind) of a failed request, for source health: a discovery document or an article."""
    kwargs = request.cb_kwargs if request is not None else {}
    source = kwargs.get("source", "")
    return source, ("discovery" if "kind" in kwargs else "fetch") if source else ""
