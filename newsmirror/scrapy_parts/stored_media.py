"""Answer ``reprocess --download-images`` image requests from the stores being reprocessed.

A crawl run with ``--cache --download-images`` keeps every image response in its HTTP cache
(under the request fingerprint), and ``--warc`` in its WARC.  This downloader middleware looks
each image request up in the cache folders (``NEWSMIRROR_STORED_MEDIA``) and the WARC files
(``NEWSMIRROR_STORED_WARCS``: indexed by URL on the first image request, image records only, by
offset) given to ``reprocess`` and answers it from there.  Anything not in them is refused
(``IgnoreRequest``), so reprocessing never touches the network and a missing image just keeps
its URL.  Entries are read by newsmirror's own store readers (safe unpickling, decoded bodies).
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


def warc_files(paths: list[Path]) -> list[Path]:
    """The .warc / .warc.gz files among *paths* (folders searched recursively)."""
    found: list[Path] = []
    for path in paths:
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        found += [p for p in candidates if p.name.endswith((".warc", ".warc.gz")) and p.is_file()]
    return found


def index_warc_images(path: Path) -> dict[str, int]:
    """URL -> offset of each image response record; a damaged file ends its index early."""
    from warcio.archiveiterator import ArchiveIterator

    index: dict[str, int] = {}
    try:
        with path.open("rb") as fh:
            records = ArchiveIterator(fh)
            for record in records:
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                kind = (record.http_headers.get_header("Content-Type") or "").lower()
                url = record.rec_headers.get_header("WARC-Target-URI")
                if url and kind.startswith("image/"):
                    index.setdefault(url, records.get_record_offset())
    except Exception:  # noqa: BLE001 - reprocess reports the damaged record itself
        pass
    return index


def read_warc_record(path: Path, offset: int) -> Any:
    from warcio.archiveiterator import ArchiveIterator

    from ..stores.warc import _read_record

    with path.open("rb") as fh:
        fh.seek(offset)
        return _read_record(next(ArchiveIterator(fh)), f"{path}@{offset}")


class StoredMediaMiddleware:
    def __init__(self, folders: list[Path], crawler: Any, warcs: list[Path] | None = None) -> None:
        self.folders = folders
        self.fingerprint = crawler.request_fingerprinter.fingerprint
        self.warcs = warcs or []
        self._warc_index: dict[str, tuple[Path, int]] | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> StoredMediaMiddleware:
        if crawler.settings.get("NEWSMIRROR_STORED_MEDIA") is None:
            raise NotConfigured
        folders = [Path(f) for f in crawler.settings.getlist("NEWSMIRROR_STORED_MEDIA")]
        return cls(folders, crawler, [Path(f) for f in crawler.settings.getlist("NEWSMIRROR_STORED_WARCS")])

    def process_request(self, request: Any, spider: Any = None) -> Response:
        key = self.fingerprint(request).hex()
        for folder in self.folders:
            entry = folder / key[:2] / key
            if not entry.is_dir():
                continue
            stored = read_cache_entry(entry)
            if getattr(stored, "status", None) == 200:
                return _response(request, stored)
        if self.warcs:
            stored = self._from_warcs(request.url)
            if getattr(stored, "status", None) == 200:
                return _response(request, stored)
        raise IgnoreRequest("not in the HTTP cache or WARC (reprocess fetches nothing)")

    def _from_warcs(self, url: str) -> Any:
        if self._warc_index is None:
            self._warc_index = {}
            for path in self.warcs:
                for found, offset in index_warc_images(path).items():
                    self._warc_index.setdefault(found, (path, offset))
        hit = self._warc_index.get(url)
        return read_warc_record(*hit) if hit else None


def _response(request: Any, stored: Any) -> Response:
    headers = {k: v for k, v in stored.headers.items() if k != "content-encoding"}
    return Response(
        request.url, status=200, headers=headers, body=stored.body, request=request, flags=["cached"]
    )
