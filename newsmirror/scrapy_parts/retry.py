"""Retries with real backoff: exponential delays, and a server's ``Retry-After`` honoured.

Scrapy's own RetryMiddleware re-schedules a failed request at once, so three retries of a 503
arrive within a second.  This subclass keeps its decisions (which codes and exceptions, how many
times) and only waits before handing the retry back: ``base * 2**n`` seconds for the n-th retry
(n = 0, 1, ...), or the server's ``Retry-After`` when that is longer, both capped.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from twisted.internet.task import deferLater


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("NEWSMIRROR_RETRY_BACKOFF", 1.0)
        self.cap = settings.getfloat("NEWSMIRROR_RETRY_BACKOFF_MAX", 60.0)

    def delay_for(self, request: Request, response: Response | None = None) -> float:
        """Seconds to wait before the retry of ``request`` (its ``retry_times`` so far = n)."""
        delay = self.base * 2 ** request.meta.get("retry_times", 0)
        if response is not None:
            asked = retry_after_seconds(response.headers.get("Retry-After"))
            if asked is not None:
                delay = max(delay, asked)
        return min(delay, self.cap)

    async def _later(self, result: Any, delay: float) -> Any:
        if isinstance(result, Request) and delay > 0:
            from scrapy.utils.defer import maybe_deferred_to_future
            from twisted.internet import reactor  # the one Scrapy installed; never at import time

            await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))
        return result

    # coroutines, not Deferreds: Scrapy deprecates a middleware method returning a Deferred.
    # A response that is not retried (nearly all) is handed back as it is, without a coroutine
    # or a look at Retry-After: Scrapy awaits whatever this returns.
    def process_response(self, request: Request, response: Response) -> Any:  # type: ignore[override]
        result = super().process_response(request, response)
        if not isinstance(result, Request):
            return result
        return self._later(result, self.delay_for(request, response))

    async def process_exception(self, request: Request, exception: Exception) -> Any:  # type: ignore[override]
        result = super().process_exception(request, exception)
        return await self._later(result, self.delay_for(request)) if result is not None else None


__all__ = ["BackoffRetryMiddleware", "retry_after_seconds"]
