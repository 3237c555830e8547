"""Scrapy components that newsmirror wires in only through settings strings.

Scrapy loads these by dotted path (``EXTENSIONS``, ``HTTPCACHE_POLICY``, ``LOG_FORMATTER``), so no
module imports them; they live together here, where a reader of ``settings.py`` finds them:

- :mod:`.report`: feeds the run report from Scrapy's signals;
- :mod:`.httpcache`: the store-only HTTP cache policy (``--cache``);
- :mod:`.warc_writer`: a WARC of every response (``--warc``);
- :mod:`.idle`: keeps a Redis-fed worker alive up to ``--idle-timeout``;
- :mod:`.logformatter`: dropped pages at DEBUG (the run report prints them once);
- :mod:`.retry`: exponential backoff honouring ``Retry-After``;
- :mod:`.stored_media`: ``reprocess --download-images`` answers image requests from caches/WARCs.

The Redis scheduler, dupefilter and result consumer of distributed crawls are wired the same way
but live in :mod:`newsmirror.distributed`, with the rest of that design.
"""
