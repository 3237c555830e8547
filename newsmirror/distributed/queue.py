"""scrapy-redis's priority queue with leases: a popped request is not gone until acknowledged.

Choice: a *visibility timeout*, renewed while the worker lives.  Popping moves the encoded
request from the queue into a lease set scored by a deadline (Redis's own clock, so machines'
clocks never matter); the worker acknowledges it in the same transaction that pushes its result;
a live worker extends its leases every third of the timeout.  A worker that dies (kill -9, power
loss, lost network) stops renewing, and after the timeout any process's reaper puts the request
back in the queue for another worker.  A per-machine processing list would need a liveness check
of its own to notice a dead machine -- a timeout by another name -- while a lease set is one key
all processes can reap.  Redis also records which worker holds each lease, so a pop whose
answer was lost as Redis died is given back by that worker once Redis is back.  A request
handed out ``max_deliveries`` times without a result (a page that kills workers) is given up
as a failure instead of looping forever.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy_redis.queue import PriorityQueue

from .keys import Keys

_NOW_MS = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)"

POP = f"""{_NOW_MS}
local item = redis.call('ZRANGE', KEYS[1], 0, 0)
if #item == 0 then return false end
redis.call('ZREM', KEYS[1], item[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), item[1])
local n = redis.call('HINCRBY', KEYS[3], item[1], 1)
redis.call('HSET', KEYS[4], item[1], ARGV[2])
return {{item[1], n}}
"""

RENEW = f"""{_NOW_MS}
local n = 0
for i = 2, #ARGV do n = n + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[i]) end
return n
"""

REAP = f"""{_NOW_MS}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZADD', KEYS[2], 0, m)
  redis.call('HDEL', KEYS[3], m)
end
return #due
"""

# A worker's leases that it does not know it holds: Redis ran a pop whose answer was lost (Redis
# died just then, the client retried).  ARGV[1] = the worker's token, ARGV[2..] = what it holds.
ORPHANS = """
local held = {}
for i = 2, #ARGV do held[ARGV[i]] = true end
local owned = redis.call('HGETALL', KEYS[3])
local n = 0
for i = 1, #owned, 2 do
  local m, owner = owned[i], owned[i + 1]
  if owner == ARGV[1] and not held[m] then
    redis.call('HDEL', KEYS[3], m)
    if redis.call('ZREM', KEYS[1], m) == 1 then redis.call('ZADD', KEYS[2], 0, m) n = n + 1 end
  end
end
return n
"""


class LeasedQueue(PriorityQueue):
    """The scrapy-redis queue format (a ZSET scored by -priority), popped under a lease."""

    def __init__(self, server: Any, spider: Any, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        self.keys = Keys.for_spider(spider.name, key)
        self._pop = server.register_script(POP)
        self._renew = server.register_script(RENEW)
        self._reap = server.register_script(REAP)
        self._orphans = server.register_script(ORPHANS)

    def encode(self, request: Request) -> bytes:
        return self._encode_request(request)

    def decode(self, data: bytes) -> Request:
        return self._decode_request(data)

    def push_many(self, pipe: Any, request: Request) -> bytes:
        """Queue a request inside a caller's transaction; its encoded form is returned."""
        data = self.encode(request)
        pipe.execute_command("ZADD", self.key, -request.priority, data)
        return data

    def pop_leased(self, visibility_ms: int, owner: str) -> tuple[bytes, int] | None:
        """The next request (encoded) and how many times it has been handed out, now leased."""
        keys = [self.key, self.keys.leases, self.keys.deliveries, self.keys.owners]
        found = self._pop(keys=keys, args=[visibility_ms, owner])
        return (found[0], int(found[1])) if found else None

    def renew(self, members: list[bytes], visibility_ms: int) -> int:
        if not members:
            return 0
        return int(self._renew(keys=[self.keys.leases], args=[visibility_ms, *members]))

    def reap(self, limit: int = 500) -> int:
        """Put requests whose lease ran out back in the queue; how many."""
        return int(self._reap(keys=[self.keys.leases, self.key, self.keys.owners], args=[limit]))

    def requeue_orphans(self, owner: str, held: list[bytes]) -> int:
        """Give back leases Redis says ``owner`` holds but ``owner`` never received."""
        return int(self._orphans(keys=[self.keys.leases, self.key, self.keys.owners], args=[owner, *held]))

    def ack(self, pipe: Any, member: bytes) -> None:
        pipe.zrem(self.keys.leases, member)
        pipe.hdel(self.keys.deliveries, member)
        pipe.hdel(self.keys.owners, member)

    def outstanding(self) -> tuple[int, int]:
        """(queued, leased)."""
        with self.server.pipeline(transaction=False) as pipe:
            pipe.zcard(self.key).zcard(self.keys.leases)
            queued, leased = pipe.execute()
        return int(queued), int(leased)
