"""Answer ``reprocess --download-images`` image requests from a Scrapy HTTP cache, offline.

A crawl run with ``--cache --download-images`` keeps every image response in its HTTP cache,
under the request fingerprint.  This downloader middleware looks each image request up in the
cache folders given to ``reprocess`` (``NEWSMIRROR_STORED_MEDIA``) and answers it from there;
anything not in them is refused (``IgnoreRequest``), so reprocessing never touches the network
and a missing image just keeps its URL.  Entries are read by newsmirror's own cache reader
(safe unpickling, decoded bodies).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from ..stores.httpcache import read_cache_entry


def cache_spider_folders(paths: list[Path]) -> list[Path]:
    """The ``HTTPCACHE_DIR/<spider>`` folders among *paths*: a whole cache or one spider's folder
    (entries are ``<spider>/<fp[:2]>/<fp>/pickled_meta``)."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            continue
        if next(path.glob("??/*/pickled_meta"), None) is not None:
            found.append(path)
        else:
            found.extend(p for p in sorted(path.iterdir()) if next(p.glob("??/*/pickled_meta"), None))
    return found


class StoredMediaMiddleware:
    def __init__(self, folders: list[Path], crawler: Any) -> None:
        self.folders = folders
        self.fingerprint = crawler.request_fingerprinter.fingerprint

    @classmethod
    def from_crawler(cls, crawler: Any) -> StoredMediaMiddleware:
        if crawler.settings.get("NEWSMIRROR_STORED_MEDIA") is None:
            raise NotConfigured
        return cls([Path(f) for f in crawler.settings.getlist("NEWSMIRROR_STORED_MEDIA")], crawler)

    def process_request(self, request: Any, spider: Any = None) -> Response:
        key = self.fingerprint(request).hex()
        for folder in self.folders:
            entry = folder / key[:2] / key
            if not entry.is_dir():
                continue
            stored = read_cache_entry(entry)
            if getattr(stored, "status", None) == 200:
                headers = {k: v for k, v in stored.headers.items() if k != "content-encoding"}
                return Response(
                    request.url,
                    status=200,
                    headers=headers,
                    body=stored.body,
                    request=request,
                    flags=["cached"],
                )
        raise IgnoreRequest("not in the HTTP cache (reprocess fetches nothing)")
