"""Distributed crawls that share nothing but Redis.

``newsmirror crawl --redis URL`` is the *coordinator*: it reads the sources, decides what is new
against its seen-store and pushes article requests into the shared scrapy-redis queue.  It is the
only writer: it consumes the workers' results and runs dedupe -> write -> remember.
``newsmirror worker --redis URL`` fetches, extracts and cleans, then hands the Article (or the
one-line failure) back through Redis.  The pieces:

- :mod:`.connection`  Redis clients that reconnect with backoff (a Redis restart is survived)
- :mod:`.keys`        every Redis key, in one place
- :mod:`.queue`       scrapy-redis's priority queue plus *leases* (visibility timeout) and acks
- :mod:`.dupefilter`  scrapy-redis's fingerprint filter, bounded (TTL + cap, forgotten on result)
- :mod:`.scheduler`   coordinator: discovery stays local, articles go to Redis; worker: pops leases
- :mod:`.codec`       Article / request <-> JSON (no pickle crosses the network)
- :mod:`.results`     the result list with a processing list (nothing lost between pop and write)
- :mod:`.worker`      worker side: the result pipeline, the report that forwards failures
- :mod:`.coordinator` coordinator side: the consumer feeding DedupePipeline -> WritePipeline
"""
