"""Archive every HTTP(S) response a crawl downloads into a WARC file.

Enable with ``NEWSMIRROR_WARC = "crawl.warc.gz"`` and
``EXTENSIONS = {"newsmirror.scrapy_parts.warc_writer.WarcWriter": 500}``; without the setting the extension
raises NotConfigured.  A path ending in ".gz" is written gzip-compressed (one gzip member per
record, as WARC readers expect), any other name uncompressed.

Why an extension on ``response_downloaded`` rather than ``response_received`` or a downloader
middleware: ``response_downloaded`` is sent by the downloader as soon as the handler returns, before
any downloader middleware's ``process_response``.  So the archive gets the response as it came off
the wire -- body still Content-Encoded, each redirect hop and each retried error on its own -- and
never an HTTP-cache hit (the cache answers in ``process_request``; archiving those would repeat old
pages under a new WARC-Date).  ``response_received`` fires after the middlewares have decompressed
and followed redirects; a middleware would see the same as this signal only when ordered above
HttpCacheMiddleware (>900), which is one more thing to get wrong in settings.

What is written per response: a ``request`` record (method, path, the headers Scrapy sent plus
Host, which Twisted adds itself) and a ``response`` record (status line with the standard reason
phrase -- Scrapy does not keep the server's --, headers as Scrapy has them, raw body), linked by
WARC-Concurrent-To, with WARC-Date = now and WARC-IP-Address when known.  warcio writes the pair
response first, then request (the order Heritrix uses too).  Twisted hands Scrapy no
hop-by-hop headers (Connection, Transfer-Encoding) and an already de-chunked body, so the records
describe that body consistently.

Crash behaviour: the file is opened for *appending* (a rerun adds to the archive, starting with a
new warcinfo record), and each request/response pair is serialised in memory and written with a
single ``write()`` followed by ``flush()``.  A crawl that crashes or is killed therefore leaves every
pair it finished readable; at worst (disk full, power loss) the last pair is torn, which readers
report as one bad record at the end.  The file is fsync'ed when the spider closes.  Do not rerun
into a file with a torn tail: WARC readers stop at the damage, so records appended after it would
be unreachable -- move it aside (or ``warcio recompress`` it) first.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterable
from http import HTTPStatus
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

logger = logging.getLogger(__name__)


class WarcWriter:
    """Scrapy extension: one request + response record pair per downloaded HTTP(S) response."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.gzip = self.path.name.lower().endswith(".gz")
        self._fh: IO[bytes] | None = None
        self._buffer = io.BytesIO()
        self._writer = WARCWriter(self._buffer, gzip=self.gzip)
        self.records_written = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcWriter:
        path = crawler.settings.get("NEWSMIRROR_WARC")
        if not path:
            raise NotConfigured("NEWSMIRROR_WARC is not set")
        ext = cls(path)
        crawler.signals.connect(ext.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        if urlsplit(response.url).scheme not in ("http", "https"):
            return
        if self._fh is None:
            self._open()
        req = self._request_record(request)
        resp = self._response_record(response)
        self._writer.write_request_response_pair(req, resp)
        self._commit()
        self.records_written += 2

    def spider_closed(self, spider: Spider) -> None:
        if self._fh is None:
            return
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None
        logger.info("WARC: %d records appended to %s", self.records_written, self.path)

    # -- internals ---------------------------------------------------------------------------

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "ab")  # noqa: SIM115 (kept open for the whole crawl)
        info = self._writer.create_warcinfo_record(
            self.path.name, {"software": "newsmirror (Scrapy, warcio)", "format": "WARC File Format 1.0"}
        )
        self._writer.write_record(info)
        self._commit()

    def _commit(self) -> None:
        """Write what the WARCWriter serialised into the buffer in one go, then flush."""
        assert self._fh is not None
        self._fh.write(self._buffer.getvalue())
        self._fh.flush()
        self._buffer.seek(0)
        self._buffer.truncate()

    def _request_record(self, request: Request) -> ArcWarcRecord:
        parts = urlsplit(request.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = _header_list(request.headers.items())
        if not any(name.lower() == "host" for name, _ in headers):
            headers.insert(0, ("Host", parts.netloc))
        http = StatusAndHeaders(f"{request.method} {target} HTTP/1.1", headers, is_http_request=True)
        body = request.body or b""
        return self._writer.create_warc_record(
            request.url, "request", payload=io.BytesIO(body), length=len(body), http_headers=http
        )

    def _response_record(self, response: Response) -> ArcWarcRecord:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        protocol = response.protocol or "HTTP/1.1"
        if not protocol.upper().startswith("HTTP/"):
            protocol = "HTTP/2" if protocol.lower() == "h2" else "HTTP/1.1"
        headers = _header_list(response.headers.items())
        headers = [(n, v) for n, v in headers if n.lower() != "transfer-encoding"]  # body is de-chunked
        http = StatusAndHeaders(f"{response.status} {reason}".rstrip(), headers, protocol=protocol)
        warc_headers: dict[str, str] = {}
        if response.ip_address is not None:
            warc_headers["WARC-IP-Address"] = str(response.ip_address)
        body = response.body
        return self._writer.create_warc_record(
            response.url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=http,
            warc_headers_dict=warc_headers,
        )


def _header_list(items: Iterable[tuple[bytes, list[bytes]]]) -> list[tuple[str, str]]:
    """Scrapy Headers items (bytes name, list of bytes values) -> (str, str) pairs, one per value."""
    out: list[tuple[str, str]] = []
    for name, values in items:
        for value in values:
            out.append((name.decode("latin-1"), value.decode("latin-1")))
    return out
