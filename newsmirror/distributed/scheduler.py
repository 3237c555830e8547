"""The Scrapy scheduler of a distributed crawl (``SCHEDULER``), one class with two roles.

*Coordinator* (``crawl --redis``): discovery requests (feeds, sitemaps, list pages) stay in
Scrapy's own local scheduler -- only the coordinator reads sources, and they are re-fetched
every run -- while article requests go through the bounded dupefilter into the shared
scrapy-redis queue.  The coordinator never pops from that queue.

*Worker* (``worker --redis``): requests come only from the shared queue, each under a lease
(:mod:`.queue`); the lease is acknowledged with the result (:meth:`finish`).  A request the
worker sends back (a retry, a redirect) goes back to the shared queue and its lease is released
in the same transaction.  Both roles reap expired leases, so a dead worker's requests return.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

from scrapy import Request
from scrapy.core.scheduler import Scheduler as LocalScheduler
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.scheduler import Scheduler as RedisScheduler
from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from ..runtime import Runtime
from . import codec
from .connection import OUTAGES, RedisGone, redacted, redis_from_settings
from .dupefilter import DEFAULT_MAX, DEFAULT_TTL_S, BoundedDupeFilter
from .keys import Keys
from .queue import LeasedQueue
from .results import Result, ResultList

logger = logging.getLogger(__name__)

LEASE_META = "newsmirror_lease"  # the encoded request a worker holds a lease on
FP_META = "newsmirror_fp"  # fingerprint of the request the coordinator admitted
TICK_S = 1.0
MAX_HOLD_S = 1800  # a lease held this long without a result is let go (it comes back, counted)


RELEASE = """
for i = 1, #ARGV do
  redis.call('HDEL', KEYS[3], ARGV[i])
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then redis.call('ZADD', KEYS[2], 0, ARGV[i]) end
end
return 0
"""


@dataclass
class Lease:
    member: bytes
    fingerprint: str
    taken: float


def is_article(request: Request) -> bool:
    """Article requests are the ones workers do; everything else is discovery."""
    return getattr(request.callback, "__name__", "") == "parse_article"


class SharedScheduler(RedisScheduler):
    role = "worker"

    @classmethod
    def from_crawler(cls, crawler: Any) -> SharedScheduler:
        settings = crawler.settings
        server = redis_from_settings(settings)
        server.ping()
        self = cls(
            server=server,
            persist=True,
            queue_key=settings.get("SCHEDULER_QUEUE_KEY") or "%(spider)s:requests",
            queue_cls="newsmirror.distributed.queue.LeasedQueue",
            serializer=codec,
        )
        self.stats = crawler.stats
        self.crawler = crawler
        self.role = settings.get("NEWSMIRROR_ROLE", "worker")
        self.visibility_ms = int(settings.getfloat("NEWSMIRROR_LEASE_TIMEOUT", 120.0) * 1000)
        self.max_deliveries = settings.getint("NEWSMIRROR_MAX_DELIVERIES", 3)
        self.dupefilter_ttl = settings.getfloat("NEWSMIRROR_DUPEFILTER_TTL", DEFAULT_TTL_S)
        self.dupefilter_max = settings.getint("NEWSMIRROR_DUPEFILTER_MAX", DEFAULT_MAX)
        self.local = LocalScheduler.from_crawler(crawler) if self.role == "coordinator" else None
        self.leases: dict[str, list[Lease]] = {}
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._outages_seen = 0
        self._last_renew = 0.0
        self._loop: task.LoopingCall | None = None
        self.gone: RedisGone | None = None  # Redis stayed away too long: the run is stopping
        crawler.newsmirror_shared = self  # the result pipeline, report and consumer use it
        report = getattr(crawler, "newsmirror_report", None)
        if self.role == "worker" and hasattr(report, "attach"):
            report.attach(crawler)  # failures and skips go to the coordinator too
        return self

    # -- life cycle --------------------------------------------------------------------------

    def open(self, spider: Any) -> Any:
        self.spider = spider
        self.queue: LeasedQueue = LeasedQueue(self.server, spider, self.queue_key, serializer=self.serializer)
        self.keys: Keys = self.queue.keys
        self.df = BoundedDupeFilter(
            self.server, self.keys.dupefilter, self.dupefilter_ttl, self.dupefilter_max
        )
        self.results = ResultList(self.server, self.keys)
        self._loop = task.LoopingCall(self._tick)
        self._loop.start(TICK_S, now=False)
        return self.local.open(spider) if self.local is not None else None

    def close(self, reason: str) -> Any:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self.gone is None:
            self.release_all()
        return self.local.close(reason) if self.local is not None else None

    def _tick(self) -> None:
        """Reap expired leases (any process may), renew ours, and wake the engine: Scrapy's own
        heartbeat looks for new requests, and checks whether it is idle, only every 5 s."""
        try:
            if self.queue.reap():
                logger.info("requests whose worker stopped answering are back in the queue")
            if self.role == "worker":
                now = time.monotonic()
                if now - self._last_renew >= self.visibility_ms / 3000:
                    self._renew(now)
                if OUTAGES[0] != self._outages_seen:  # Redis was away: a pop may have lost its answer
                    self._outages_seen = OUTAGES[0]
                    held = [lease.member for leases in self.leases.values() for lease in leases]
                    if self.queue.requeue_orphans(self.worker_id, held):
                        logger.info("requests taken as Redis went away are back in the queue")
            slot = getattr(self.crawler.engine, "_slot", None)
            nextcall = getattr(slot, "nextcall", None)
            if nextcall is not None:
                nextcall.schedule()
        except RedisGone as exc:
            self.stop_for(exc)
        except Exception:  # a tick must never kill the loop; Redis errors retry inside the client
            logger.exception("distributed housekeeping failed")

    def stop_for(self, exc: RedisGone) -> None:
        """One error line in the run report (exit code 1), then a clean stop: what was queued,
        leased or pushed waits in Redis (and leases run out) for when it is back."""
        if self.gone is not None:
            return
        self.gone = exc
        where = f"Redis {redacted(self.crawler.settings.get('REDIS_URL') or '')}"
        Runtime.of(self.crawler).report.fail(where, f"{exc}; stopping")
        deferred_from_coro(self.crawler.stop_async())

    def _renew(self, now: float) -> None:
        self._last_renew = now
        held = []
        for origin, leases in list(self.leases.items()):
            for lease in list(leases):
                if now - lease.taken > MAX_HOLD_S:  # lost track of it: let it expire and come back
                    leases.remove(lease)
                else:
                    held.append(lease.member)
            if not leases:
                del self.leases[origin]
        self.queue.renew(held, self.visibility_ms)

    # -- what Scrapy calls ---------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.local) if self.local is not None else len(self.queue)

    def has_pending_requests(self) -> bool:
        if self.local is not None:
            return self.local.has_pending_requests()
        return self.gone is None and self._guard(lambda: len(self.queue) > 0, False)

    def _guard(self, call: Any, default: Any) -> Any:
        try:
            return call()
        except RedisGone as exc:
            self.stop_for(exc)
            return default

    def enqueue_request(self, request: Request) -> bool:
        if self.local is not None and not is_article(request):
            return self.local.enqueue_request(request)
        return self.gone is None and self._guard(lambda: self._enqueue_shared(request), False)

    def _enqueue_shared(self, request: Request) -> bool:
        lease = request.meta.pop(LEASE_META, None)
        if lease is None:
            if not request.dont_filter and self.df.request_seen(request):
                self.df.log(request, self.spider)
                return False
            request.meta.setdefault(FP_META, self.df.request_fingerprint(request))
        with self.server.pipeline() as pipe:
            self.queue.push_many(pipe, request)
            if lease is not None:  # a retry or redirect of a request this worker holds
                self.queue.ack(pipe, lease)
            pipe.execute()
        if lease is not None:
            self._forget_lease(lease)
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if self.local is not None:
            return self.local.next_request()
        return None if self.gone else self._guard(self._next_shared, None)

    def _next_shared(self) -> Request | None:
        for _ in range(100):  # skip requests given up on, but never spin for long
            popped = self.queue.pop_leased(self.visibility_ms, self.worker_id)
            if popped is None:
                return None
            member, deliveries = popped
            try:
                request = self.queue.decode(member)
            except Exception as exc:  # written by something else, or a newer newsmirror
                self._settle(member, Result("failed", "?", f"unreadable queued request: {exc}"))
                continue
            origin = request.cb_kwargs.get("origin", request.url)
            fingerprint = request.meta.get(FP_META, "")
            if deliveries > self.max_deliveries:
                reason = (f"given up after {deliveries - 1} deliveries: the workers handling it died or "
                          "stopped answering")
                self._settle(member, Result("failed", origin, reason, fingerprint=fingerprint))
                continue
            request.meta[LEASE_META] = member
            self.leases.setdefault(origin, []).append(Lease(member, fingerprint, time.monotonic()))
            if self.stats:
                self.stats.inc_value("scheduler/dequeued/redis")
            return request
        return None

    # -- results -------------------------------------------------------------------------------

    def finish(self, origin: str, result: Result, *other_urls: str) -> None:
        """Hand a result to the coordinator and acknowledge the lease it answers, atomically.
        The lease is looked up by the request's origin (or, failing that, the other URLs the
        report knows the page by)."""
        for url in (origin, *other_urls):
            if url in self.leases:
                origin = url
                break
        self._settle(self._answered(origin, result), result)

    def finish_in_thread(self, origin: str, result: Result) -> Deferred:
        """:meth:`finish`, with the Redis round trip (an fsync with ``appendfsync always``) in a
        thread, as scrapy-redis's item pipeline does, so the reactor goes on downloading."""
        return deferToThread(self._settle, self._answered(origin, result), result)

    def _answered(self, origin: str, result: Result) -> bytes | None:
        leases = self.leases.get(origin)
        lease = leases.pop(0) if leases else None
        if leases == []:
            del self.leases[origin]
        if lease is None:
            return None
        result.fingerprint = result.fingerprint or lease.fingerprint
        return lease.member

    def drop_lease(self, origin: str) -> None:
        """Acknowledge without a result (the result went out under another URL)."""
        leases = self.leases.get(origin)
        if leases:
            lease = leases.pop(0)
            with self.server.pipeline() as pipe:
                self.queue.ack(pipe, lease.member)
                pipe.execute()

    def _settle(self, member: bytes | None, result: Result) -> None:
        result.worker = self.worker_id
        with self.server.pipeline() as pipe:
            self.results.push(pipe, result)
            if member is not None:
                self.queue.ack(pipe, member)
            pipe.execute()

    def _forget_lease(self, member: bytes) -> None:
        for origin, leases in list(self.leases.items()):
            leases[:] = [lease for lease in leases if lease.member != member]
            if not leases:
                del self.leases[origin]

    def release_all(self) -> None:
        """A worker stopping cleanly gives its unfinished requests back at once."""
        members = [lease.member for leases in self.leases.values() for lease in leases]
        self.leases.clear()
        if not members:
            return
        # only what is still leased: a lease that already expired may be someone else's now
        self.server.eval(RELEASE, 3, self.keys.leases, self.queue.key, self.keys.owners, *members)

    def busy(self) -> bool:
        """Is there shared work this process should wait for?  A worker waits while requests are
        queued or leased (a dead worker's leases come back); the coordinator also for results."""
        left = None if self.gone else self._guard(self.outstanding, None)
        if left is None:
            return False
        return bool(left["queued"] or left["leased"] or (self.role == "coordinator" and left["results"]))

    def outstanding(self) -> dict[str, int]:
        queued, leased = self.queue.outstanding()
        return {"queued": queued, "leased": leased, "results": self.results.pending()}
