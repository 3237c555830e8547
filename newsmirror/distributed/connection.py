"""Redis clients that survive a Redis restart: reconnect with exponential backoff, say so once.

Every command goes through redis-py's :class:`~redis.retry.Retry`; our backoff logs one warning
when Redis goes away and one line when it answers again, and gives up (the run stops with one
line) only after ``NEWSMIRROR_REDIS_MAX_OUTAGE`` seconds (0 = never, for worker services).
The retry sleeps in the calling thread, which is Scrapy's reactor: a process waiting for Redis
does nothing else, which is what we want -- nothing can be handed out or acknowledged anyway.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from redis.backoff import AbstractBackoff
from redis.retry import Retry

logger = logging.getLogger("newsmirror.redis")
RETRY_ERRORS = (redis.ConnectionError, redis.TimeoutError, ConnectionError, TimeoutError, OSError)


class RedisGone(redis.ConnectionError):
    """Redis stayed away longer than NEWSMIRROR_REDIS_MAX_OUTAGE: the run stops."""


OUTAGES = [0]  # how many outages ended in this process (the backoff is copied per connection)


class OutageBackoff(AbstractBackoff):
    """Exponential backoff (``base`` doubling up to ``cap`` seconds) that remembers when the
    outage began, so it can log it once and give up after ``max_outage`` seconds."""

    def __init__(self, base: float = 0.2, cap: float = 5.0, max_outage: float = 600.0) -> None:
        self.base, self.cap, self.max_outage = base, cap, max_outage
        self.down_since: float | None = None

    def reset(self) -> None:  # called before every command: a previous outage is over
        if self.down_since is not None:
            logger.warning("Redis answers again after %.1fs", time.monotonic() - self.down_since)
            self.down_since = None
            OUTAGES[0] += 1

    def compute(self, failures: int) -> float:
        now = time.monotonic()
        if self.down_since is None:
            self.down_since = now
            logger.warning("Redis unreachable; reconnecting with backoff (up to %.0fs apart)", self.cap)
        if self.max_outage and now - self.down_since > self.max_outage:
            self.down_since = None
            raise RedisGone(f"unreachable for more than {self.max_outage:.0f}s")
        return min(self.cap, self.base * 2 ** min(failures - 1, 16))


def redis_params(settings: Any) -> dict[str, Any]:
    """``REDIS_PARAMS`` for scrapy-redis's ``get_redis_from_settings``: timeouts, keepalive and
    the retry above.  Given explicitly by the user (``-s REDIS_PARAMS=...``), theirs win."""
    backoff = OutageBackoff(max_outage=settings.getfloat("NEWSMIRROR_REDIS_MAX_OUTAGE", 600.0))
    return {
        "socket_timeout": 30,
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
        "health_check_interval": 15,
        "retry": Retry(backoff, -1, RETRY_ERRORS),
        "retry_on_error": list(RETRY_ERRORS),
        **settings.getdict("REDIS_PARAMS"),
    }


def redacted(url: str) -> str:
    """The Redis URL for messages: its password stays out of logs."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if not parts.password:
        return url
    user = f"{parts.username}:" if parts.username else ":"
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{user}***@{parts.hostname}{port}").geturl()


def redis_from_settings(settings: Any) -> redis.Redis:
    """One client (its own connection pool) per component, built the scrapy-redis way."""
    from scrapy_redis.connection import get_redis

    params = redis_params(settings)
    url = settings.get("REDIS_URL")
    return get_redis(url=url, **params) if url else get_redis(**params)
