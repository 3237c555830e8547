"""HTTP cache policy for crawls: keep every response for offline reprocessing, never serve one.

Scrapy's default policy answers a repeated request from the cache forever, so a scheduled crawl
with ``--cache`` would read yesterday's feeds and never see a new or updated article.  Here the
cache is an archive, not a shortcut: each response is downloaded and stored (replacing the
entry), and ``newsmirror reprocess OUT/.newsmirror/httpcache`` reads it back later.
"""

from __future__ import annotations

from typing import Any

from scrapy.extensions.httpcache import DummyPolicy


class StoreOnlyPolicy(DummyPolicy):
    def is_cached_response_fresh(self, cachedresponse: Any, request: Any) -> bool:
        return False

    def is_cached_response_valid(self, cachedresponse: Any, response: Any, request: Any) -> bool:
        return False
