"""What every newsmirror spider shares: turning responses into Pages and failures into reasons."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure
from w3lib.encoding import http_content_type_encoding

from ..health import FETCH
from ..items import Page
from ..runtime import Runtime

ROBOTS_REFUSAL = "forbidden by robots.txt"
# request.meta key: hosts (subdomains included) a redirect may lead to, e.g. a source's allow_domains
ALLOW_HOSTS_META = "newsmirror_allow_hosts"
_HTML_TYPE = re.compile(r"^\s*(text/html|application/xhtml\+xml)\b", re.I)
# "www.cna.com.tw" and "cna.com.tw", "m.cna.com.tw": one site
_SITE_PREFIXES = ("www.", "m.", "amp.", "mobile.")


def strings(value: str | Iterable[str] | None) -> list[str]:
    """A spider argument as a list: under ``scrapy crawl -a name=...`` it is one string, which may
    hold several comma-separated (or space-separated) values; from Python it may be a list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    return [str(v) for v in value]


def _site_host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    for prefix in _SITE_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            return host[len(prefix):]
    return host


def same_site(a: str, b: str, allowed: Iterable[str] = ()) -> bool:
    """Whether a redirect from ``a`` to ``b`` stays on the site (or on a host allowed for it)."""
    host_a, host_b = _site_host(a), _site_host(b)
    if host_a == host_b or host_b.endswith("." + host_a) or host_a.endswith("." + host_b):
        return True
    host = (urlsplit(b).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in allowed)


def describe_failure(failure: Failure) -> str:
    """A one-line, human reason for a failed request."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status}"
    name = type(exc).__name__
    if name == "IgnoreRequest" and "robots" in str(exc).lower():
        return ROBOTS_REFUSAL
    text = str(exc).strip() or name
    if "DOWNLOAD_MAXSIZE" in text or "larger than download max size" in text:
        decompressed = " once decompressed" if "decompress" in text else ""
        return f"response larger than DOWNLOAD_MAXSIZE{decompressed}"
    if "DataLoss" in name or "DataLoss" in text:
        return "connection closed before the whole response arrived"
    if "max redirections reached" in text:
        return "too many redirects (a redirect loop?)"
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
        redirects = response.meta.get("redirect_urls") or []
        requested = redirects[0] if redirects else response.url
        # what the source served instead of an article counts toward its health (newsmirror.health)
        kwargs = response.request.cb_kwargs if response.request is not None else {}
        blame = {"source": kwargs.get("source", ""), "kind": FETCH}
        if redirects and not same_site(requested, response.url, response.meta.get(ALLOW_HOSTS_META, ())):
            # another site's page is not this source's article (a parked domain, a login wall...)
            reason = f"redirected off-site to {response.url}"
            self.report_failure(origin or requested, reason, response.url, **blame)
            return None
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        if not isinstance(response, TextResponse) or (content_type and not _HTML_TYPE.search(content_type)):
            # Scrapy makes JSON, XML and plain text TextResponses too: none of them is an article page
            reason = f"not an HTML page (Content-Type {content_type or '?'})"
            self.report_failure(origin or requested, reason, response.url, **blame)
            return None
        return Page(
            url=response.url,
            body=response.body,
            # the charset the server *declared*, not Scrapy's guess: decoding (html.choose_encoding)
            # weighs it against the BOM and the page's <meta> itself
            encoding=http_content_type_encoding(content_type),
            origin=origin or response.url,
            fetched_at=datetime.now(timezone.utc),
            label=self.label,
            requested_url=requested,
            **extra,
        )

    def request_failed(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.cb_kwargs.get("origin", request.url) if request is not None else "?"
        response = getattr(failure.value, "response", None)
        final_url = getattr(response, "url", "") or ""
        source, kind = _blame(request)
        self.report_failure(url, describe_failure(failure), final_url, source=source, kind=kind)

    def report_failure(
        self, url: str, reason: str, final_url: str = "", source: str = "", kind: str = ""
    ) -> None:
        Runtime.of(self.crawler).report.fail(url, reason, final_url, source=source, kind=kind)

    def report_skip(self, url: str, reason: str, source: str = "", kind: str = "") -> None:
        Runtime.of(self.crawler).report.skip(url, reason, source=source, kind=kind)


def _blame(request: Any) -> tuple[str, str]:
    """(source, kind) of a failed request, for source health: a discovery document or an article."""
    kwargs = request.cb_kwargs if request is not None else {}
    source = kwargs.get("source", "")
    return source, ("discovery" if "kind" in kwargs else "fetch") if source else ""
