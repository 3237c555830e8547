"""Every Redis key a distributed crawl uses, derived from the spider name (``discover``).

The queue key and its format are scrapy-redis's (``SCHEDULER_QUEUE_KEY``); the others are ours.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    queue: str  # ZSET: scrapy-redis PriorityQueue of encoded article requests
    leases: str  # ZSET: encoded request -> lease deadline (ms, Redis clock)
    deliveries: str  # HASH: encoded request -> times it was handed to a worker
    owners: str  # HASH: encoded request -> the worker process holding its lease
    dupefilter: str  # ZSET: request fingerprint -> when it was admitted (ms)
    results: str  # LIST: result messages, pushed by workers (LPUSH), consumed from the right
    processing: str  # LIST: results the coordinator took but has not written yet
    coordinator: str  # STRING: who coordinates (host:pid:token), with a TTL

    @classmethod
    def for_spider(cls, name: str, queue_key: str = "%(spider)s:requests") -> Keys:
        return cls(
            queue=queue_key % {"spider": name},
            leases=f"{name}:leases",
            deliveries=f"{name}:deliveries",
            owners=f"{name}:owners",
            dupefilter=f"{name}:seen-requests",
            results=f"{name}:results",
            processing=f"{name}:results:processing",
            coordinator=f"{name}:coordinator",
        )
