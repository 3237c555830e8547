"""The coordinator's side: one writer for the whole distributed crawl.

:class:`ResultConsumer` (a Scrapy extension, on while ``NEWSMIRROR_ROLE = coordinator``) takes
the workers' results from Redis and feeds each Article through the unchanged DedupePipeline and
WritePipeline, so posts and the seen-store exist only on the coordinator's machine and a
duplicate result (a slow worker whose lease ran out) lands in the same file as ``unchanged``.
:class:`CoordinatorLock` keeps a second coordinator off the same Redis database: two would split
the posts between two folders.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from scrapy import signals
from scrapy.exceptions import DropItem, NotConfigured
from twisted.internet import task

from ..pipelines import DedupePipeline, WritePipeline
from ..report import PageSkipped
from ..runtime import Runtime
from ..scrapy_parts.report import error_reason, where
from .codec import article_from_data
from .connection import OUTAGES, RedisGone
from .results import Result

logger = logging.getLogger(__name__)

CONSUME_EVERY_S = 0.2
BATCH = 200
WAITING_EVERY_S = 30.0


class ResultConsumer:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.loop: task.LoopingCall | None = None
        self.lock_value = crawler.settings.get("NEWSMIRROR_COORDINATOR_LOCK")
        self.last_activity = time.monotonic()
        self.last_renew = 0.0
        self.outages_seen = OUTAGES[0]

    @classmethod
    def from_crawler(cls, crawler: Any) -> ResultConsumer:
        if crawler.settings.get("NEWSMIRROR_ROLE") != "coordinator":
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        self.shared = self.crawler.newsmirror_shared
        runtime = Runtime.of(self.crawler)
        self.report = runtime.report
        self.dedupe = DedupePipeline.from_crawler(self.crawler)
        # a result is acknowledged in Redis once its post is written: no batches here
        self.write = WritePipeline.from_crawler(self.crawler, one_by_one=True)
        self.write.open_spider(spider)
        self.lock = CoordinatorLock(self.shared.server, self.shared.keys.coordinator, self.lock_value)
        recovered = self.shared.results.recover()
        if recovered:
            logger.info("%d results a previous coordinator did not finish are handled again", recovered)
        self.loop = task.LoopingCall(self.consume)
        self.loop.start(CONSUME_EVERY_S)

    def spider_closed(self, spider: Any, reason: str = "") -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()

    def consume(self) -> None:
        try:
            now = time.monotonic()
            if OUTAGES[0] != self.outages_seen:  # an LMOVE whose answer was lost sits in processing
                self.outages_seen = OUTAGES[0]
                self.shared.results.recover()
            if self.lock_value and now - self.last_renew > CoordinatorLock.TTL_S / 6:
                self.lock.renew()
                self.last_renew = now
            for _ in range(BATCH):
                raw = self.shared.results.take()
                if raw is None:
                    break
                self.handle(raw)
                self.last_activity = time.monotonic()
            self._say_if_waiting()
        except RedisGone as exc:
            self.shared.stop_for(exc)
            self.loop.stop()
        except Exception:  # never let the loop die: the next tick tries again
            logger.exception("consuming results failed")

    def handle(self, raw: bytes) -> None:
        """Write one result, then acknowledge it (and forget its fingerprint)."""
        try:
            result = Result.loads(raw)
        except ValueError as exc:
            result = Result("failed", "?", f"unreadable result in Redis: {exc}")
        if result.kind == "article":
            self._write(result)
        elif result.kind == "failed":
            self.report.fail(result.url, result.reason, result.final, source=result.source, kind=result.blame)
        else:
            self.report.skip(result.url, result.reason, result.final, source=result.source, kind=result.blame)
        with self.shared.server.pipeline() as pipe:
            self.shared.results.done(pipe, raw)
            if result.fingerprint:
                self.shared.df.forget(pipe, result.fingerprint)
            pipe.execute()

    def _write(self, result: Result) -> None:
        """Dedupe -> write, reported as the plain crawl's ReportExtension would; the spider
        remembers the URLs the article goes by, as it does for its own items."""
        spider = self.crawler.spider
        try:
            article = article_from_data(result.article or {})
        except (TypeError, ValueError, KeyError) as exc:  # a worker of another version, or not ours
            self.report.fail(result.url, f"unreadable result in Redis: {error_reason(exc)}", result.final)
            return
        try:
            item = self.write.process_item(self.dedupe.process_item(article))
        except DropItem as exc:
            url, final, post = where(article)
            post = getattr(exc, "post_path", "") or post
            if isinstance(exc, PageSkipped):
                self.report.skip(url, str(exc), final, post)
                if hasattr(spider, "remember_dropped"):
                    spider.remember_dropped(article, exception=exc)
            else:
                self.report.fail(url, str(exc), final, post)
        except Exception as exc:  # as ReportExtension.item_error: one line, the run goes on
            url, final, post = where(article)
            self.report.fail(url, error_reason(exc), final, post)
        else:
            requested, final, _ = where(item)
            self.report.done(item.outcome, item.url, item.post_path, requested, final)
            if hasattr(spider, "remember_scraped"):
                spider.remember_scraped(item)

    def _say_if_waiting(self) -> None:
        now = time.monotonic()
        if now - self.last_activity < WAITING_EVERY_S or self.report.quiet:
            return
        if not self.crawler.engine.spider_is_idle():
            return
        left = self.shared.outstanding()
        if any(left.values()):
            self.last_activity = now
            print(f"waiting for workers: {left['queued']} queued, {left['leased']} in progress, "
                  f"{left['results']} results (start `newsmirror worker --redis URL` on any machine)",
                  file=self.report.stream or sys.stderr, flush=True)


class CoordinatorBusy(Exception):
    """Another coordinator is using this Redis database."""


RENEW = """
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1 end
return 0
"""
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[2] then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3]) return 1 end
return 0
"""


class CoordinatorLock:
    """``host:pid:token`` in one key with a TTL the running coordinator renews.  A holder on this
    host whose process is gone (kill -9) is taken over at once; one on another machine must
    let its TTL run out."""

    TTL_S = 30

    def __init__(self, server: Any, key: str, value: str | None = None) -> None:
        self.server = server
        self.key = key
        self.value = value or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def acquire(self) -> None:
        if self.server.set(self.key, self.value, nx=True, ex=self.TTL_S):
            return
        holder = self.server.get(self.key)
        holder = holder.decode() if isinstance(holder, bytes) else holder
        stale = holder and _dead_here(holder)
        if stale and self.server.eval(TAKE_OVER, 1, self.key, self.value, holder, self.TTL_S):
            return
        raise CoordinatorBusy(f"another coordinator ({holder}) is using this Redis database")

    def renew(self) -> None:
        if not self.server.eval(RENEW, 1, self.key, self.value, self.TTL_S):
            logger.error("another coordinator took over this Redis database")

    def release(self) -> None:
        self.server.eval(RELEASE, 1, self.key, self.value)


def _dead_here(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextmanager
def coordinating(server: Any, key: str) -> Iterator[CoordinatorLock]:
    lock = CoordinatorLock(server, key)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()
