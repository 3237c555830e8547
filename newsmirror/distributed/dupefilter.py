"""scrapy-redis's request fingerprint filter, bounded.

scrapy-redis keeps every fingerprint forever in one SET (scrapy-redis #144): a mirror that runs
hourly for years would grow it without end.  Article identity lives in the coordinator's
seen-store anyway; here the filter only has to stop a restarted coordinator from queueing an
article that is still queued or in a worker's hands.  So a fingerprint is *forgotten* as soon as
its result is consumed, and as a backstop every entry expires after ``NEWSMIRROR_DUPEFILTER_TTL``
seconds and the set never holds more than ``NEWSMIRROR_DUPEFILTER_MAX`` (oldest dropped first).
Discovery requests (feeds, sitemaps) are ``dont_filter`` and never enter it.
"""

from __future__ import annotations

from typing import Any

from scrapy_redis.dupefilter import RFPDupeFilter

SEEN = """
local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ttl = tonumber(ARGV[2])
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if old and tonumber(old) > now - ttl then return 1 end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
local n = redis.call('ZCARD', KEYS[1])
if n > tonumber(ARGV[3]) then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - tonumber(ARGV[3]) - 1) end
return 0
"""

DEFAULT_TTL_S = 6 * 3600
DEFAULT_MAX = 200_000


class BoundedDupeFilter(RFPDupeFilter):
    """A ZSET fingerprint -> admission time (Redis clock), trimmed on every admission."""

    def __init__(
        self, server: Any, key: str, ttl_s: float = DEFAULT_TTL_S, max_size: int = DEFAULT_MAX
    ) -> None:
        super().__init__(server, key)
        self.ttl_ms = int(ttl_s * 1000)
        self.max_size = max_size
        self._seen = server.register_script(SEEN)

    def request_seen(self, request: Any) -> bool:
        return self.seen_fingerprint(self.request_fingerprint(request))

    def seen_fingerprint(self, fp: str) -> bool:
        return bool(self._seen(keys=[self.key], args=[fp, self.ttl_ms, self.max_size]))

    def forget(self, pipe: Any, fp: str) -> None:
        pipe.zrem(self.key, fp)

    def close(self, reason: str = "") -> None:
        """scrapy-redis deletes the whole filter on close; ours outlives a run (it is bounded)."""

    def __len__(self) -> int:
        return int(self.server.zcard(self.key))
