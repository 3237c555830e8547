"""The result list: workers push, the coordinator takes with a processing list, then acks.

A worker pushes its result and acknowledges its lease in one MULTI/EXEC, so a result is either
in Redis or the request is still leased (and comes back).  The coordinator moves a result to a
processing list atomically (LMOVE), writes the post and remembers it, and only then removes it
from the processing list.  A coordinator killed in between finds the result there at its next
start and handles it again: the write is idempotent (same bytes -> ``unchanged``) and dedupe is
by (site, article id), so a result handled twice makes one post.  Results pushed while no
coordinator runs simply wait in the list for the next run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .keys import Keys

KINDS = ("article", "failed", "skipped")


@dataclass
class Result:
    kind: str  # "article" | "failed" | "skipped"
    url: str  # the article URL as announced (the request's origin)
    reason: str = ""
    article: dict[str, Any] | None = None
    fingerprint: str = ""  # of the admitted request, forgotten by the dupefilter once consumed
    worker: str = ""
    final: str = ""  # the URL the page came from, after redirects, when known
    source: str = ""  # the sources.toml source, and whose fault a failure is (newsmirror.health)
    blame: str = ""

    def dumps(self) -> bytes:
        data = {"v": 1, "kind": self.kind, "url": self.url, "reason": self.reason, "article": self.article,
                "fp": self.fingerprint, "worker": self.worker, "final": self.final,
                "source": self.source, "blame": self.blame}
        return json.dumps(data, ensure_ascii=False).encode("utf-8")

    @classmethod
    def loads(cls, raw: bytes) -> Result:
        data = json.loads(raw)
        if data.get("kind") not in KINDS:
            raise ValueError(f"unknown result kind {data.get('kind')!r}")
        return cls(data["kind"], data.get("url", "?"), data.get("reason", ""), data.get("article"),
                   data.get("fp", ""), data.get("worker", ""), data.get("final", ""),
                   data.get("source", ""), data.get("blame", ""))


class ResultList:
    def __init__(self, server: Any, keys: Keys) -> None:
        self.server = server
        self.keys = keys

    def push(self, pipe: Any, result: Result) -> None:
        pipe.lpush(self.keys.results, result.dumps())

    def recover(self) -> int:
        """Results a previous coordinator took but did not finish go back first in line."""
        moved = 0
        while self.server.lmove(self.keys.processing, self.keys.results, "LEFT", "RIGHT") is not None:
            moved += 1
        return moved

    def take(self) -> bytes | None:
        return self.server.lmove(self.keys.results, self.keys.processing, "RIGHT", "LEFT")

    def done(self, pipe: Any, raw: bytes) -> None:
        pipe.lrem(self.keys.processing, 1, raw)

    def pending(self) -> int:
        with self.server.pipeline(transaction=False) as pipe:
            pipe.llen(self.keys.results).llen(self.keys.processing)
            results, processing = pipe.execute()
        return int(results) + int(processing)
