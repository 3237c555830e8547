"""Read HTTP responses back out of .warc / .warc.gz files with warcio.

Only ``response`` records for http(s) URIs are pages; warcinfo, request, metadata, revisit and
resource records are skipped (they still count in the "#record N" numbering, which is the
record's 1-based position in the file).

The payload is read from warcio's ``raw_stream`` and decoded here rather than through
``content_stream()``, because (warcio 1.8) ``content_stream()`` silently returns an empty or short
body for a truncated gzip payload, and crashes on ``Content-Encoding: br`` with brotli installed.
Chunked bodies are still de-chunked by warcio's ChunkedDataReader (which, like other WARC tools,
falls back to the raw bytes when a record claims chunking but holds a plain body).

warcio cannot resynchronise after a damaged record header or gzip member, so a damaged record
ends the file with one StoreError.  warcio also reports no error at all for a file cut short; here
a truncated file gives exactly one StoreError for the record it ends in: a payload shorter than
its Content-Length, a header block without the mandatory fields, or bytes left over after the last
record warcio could parse.  Only a cut in a record's last bytes (gzip trailer, closing blank lines)
goes unreported, as nothing of the record is lost.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord

from newsmirror.stores import StoredPage, StoreError, decode_body, header_dict


def iter_warc(path: Path) -> Iterator[StoredPage | StoreError]:
    """Yield a StoredPage per HTTP response record of `path`, a StoreError per damaged record."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 (held open across yields)
    except OSError as exc:
        yield StoreError(str(path), f"cannot read file: {exc.strerror or exc}")
        return
    with fh:
        records = ArchiveIterator(fh)
        number = end = 0  # end: where the last complete record ended, as warcio counts offsets
        failed = False
        while True:
            number += 1
            origin = f"{path}#record {number}"
            try:
                record = next(records)
            except StopIteration:
                # warcio takes a record (or gzip member) cut off before its first full line for
                # the end of the file; anything but blank lines after `end` means the file was cut.
                if not failed and _has_data_after(fh, end):
                    yield StoreError(origin, "truncated record: the file ends inside it")
                return
            except ArchiveLoadFailed as exc:
                yield StoreError(origin, _one_line(exc) or "unreadable record")
                return  # warcio's iterator is finished after an error
            except Exception as exc:  # warcio trips over headers cut short (AttributeError, EOFError...)
                yield StoreError(origin, f"damaged or truncated record header ({type(exc).__name__})")
                return
            if not _complete_header(record):  # warcio accepts a header block cut short at EOF
                yield StoreError(origin, "damaged or truncated record header")
                return
            result = _read_record(record, origin)
            with contextlib.suppress(Exception):  # if warcio can't tell, the tail check reports it
                end = records.get_record_offset() + records.get_record_length()
            failed = isinstance(result, StoreError)
            if result is not None:
                yield result


def _read_record(record: ArcWarcRecord, origin: str) -> StoredPage | StoreError | None:
    """A page for an HTTP response, None for other intact records, else a StoreError."""
    try:
        if record.rec_type == "response" and record.http_headers is not None:
            return _page(record, origin)
        if _drain(record.raw_stream):
            return StoreError(origin, f"truncated {record.rec_type} record")
        return None
    except ValueError as exc:
        return StoreError(origin, str(exc))
    except Exception as exc:  # damaged data inside the record
        return StoreError(origin, _one_line(exc) or type(exc).__name__)


def _has_data_after(fh: BinaryIO, offset: int) -> bool:
    size = os.fstat(fh.fileno()).st_size
    if size <= offset:
        return False
    fh.seek(offset)
    return bool(fh.read(1 << 16).strip(b"\r\n")) or size - offset > 1 << 16


def _page(record: ArcWarcRecord, origin: str) -> StoredPage:
    stream = record.raw_stream
    raw = stream.read()
    if getattr(stream, "limit", 0) > 0:  # warcio just stops where the file does
        raise ValueError(f"truncated record: {stream.limit} bytes missing")
    http = record.http_headers
    if not http.protocol.upper().startswith("HTTP/"):
        raise ValueError("response record without an HTTP status line")
    try:
        status = int(http.get_statuscode())
    except ValueError:
        raise ValueError(f"bad HTTP status line {_printable(http.statusline)[:60]!r}") from None
    headers = header_dict(http.headers)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raw = ChunkedDataReader(io.BytesIO(raw)).read()
        headers.pop("transfer-encoding")
    body, headers = decode_body(raw, headers)
    return StoredPage(
        url=record.rec_headers.get_header("WARC-Target-URI"),
        body=body,
        status=status,
        headers=headers,
        origin=origin,
        fetched_at=_warc_date(record.rec_headers.get_header("WARC-Date")),
    )


def _complete_header(record: ArcWarcRecord) -> bool:
    """The fields every WARC record must have; Content-Length also tells where the next one starts."""
    headers = record.rec_headers
    length = headers.get_header("Content-Length")
    return bool(
        record.rec_type
        and headers.get_header("WARC-Record-ID")
        and headers.get_header("WARC-Date")
        and length
        and length.strip().isdigit()
    )


def _drain(stream: object) -> bool:
    """Read a skipped record to its end; True if the file ended before the record did."""
    while stream.read(1 << 16):  # type: ignore[attr-defined]
        pass
    return getattr(stream, "limit", 0) > 0


def _warc_date(value: str | None) -> datetime | None:
    """WARC-Date is ISO 8601 UTC, "2024-05-01T12:00:00Z", WARC 1.1 allows fractions to 9 digits."""
    if not value:
        return None
    text = value.strip().removesuffix("Z")
    main, _, frac = text.partition(".")
    try:
        when = datetime.fromisoformat(main)
    except ValueError:
        return None
    if frac.isdigit():
        when = when.replace(microsecond=int(frac[:6].ljust(6, "0")))
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _one_line(exc: BaseException) -> str:
    """First line of an exception message, binary junk (warcio quotes the bad bytes) masked."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return _printable(lines[0][:120]) if lines else ""


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)
