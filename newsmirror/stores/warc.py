"""Read HTTP responses back out of .warc / .warc.gz files with fastwarc.

Only ``response`` records for http(s) URIs are pages; warcinfo, request, metadata, revisit and
resource records are skipped (they still count in the "#record N" numbering, which is the
record's 1-based position in the file).

Why fastwarc (resiliparse) and not warcio, which still writes our WARCs: it frames records and
gunzips in native code, so the main process of a reprocess spends ~0.24 instead of ~0.47 ms of CPU
per 170 KB page of a .warc.gz (bench/README.md).  fastwarc only frames the records: the block is
read raw (``parse_http=False``) and the HTTP head is parsed here the way warcio parses it
(non-strict status line, utf-8 with a latin-1 fallback, folded lines), so pages, headers and
messages are what they were with warcio.  Chunked bodies are de-chunked by warcio's
ChunkedDataReader (which, like other WARC tools, falls back to the raw bytes when a record claims
chunking but holds a plain body), and Content-Encoding is undone strictly by ``stores.decode_body``.

Damage in the middle of a file costs one StoreError, then reading resumes (neither fastwarc nor
warcio resynchronises by itself): at the next gzip member that starts with a WARC record, or in an
uncompressed file at the next "WARC/1.x" line followed by a WARC-* field.  The records after it
keep their numbers when the damage is one record (a torn write, a garbled member or header);
unknown junk counts as one record.  Uncompressed, a record torn by a crash and followed by more
records (an appending rerun) has a Content-Length that reaches into them; fastwarc only trips over
the record after it, so each record's result is held back until the next one parses, and then the
held block is searched for the record it swallowed: the torn record is the error, not a page with
the next records glued to its body.

Neither library reports a file cut short either: fastwarc yields the record the file ends in with
whatever it holds, and passes silently over a gzip member cut before it decompressed to anything.
So here a truncated file gives exactly one StoreError for the record it ends in: a block shorter
than its Content-Length, a header block without the mandatory fields, or a gzip member after the
last record that ends before it holds anything.  Only a cut in a record's last bytes (gzip
trailer, closing blank lines) goes unreported, as nothing of the record is lost.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from fastwarc.warc import ArchiveIterator, WarcRecord
from warcio.bufferedreaders import ChunkedDataReader

from newsmirror.stores import StoredPage, StoreError, decode_body, header_dict

_GZIP_MAGIC = b"\x1f\x8b"
_HTTP_SCHEMES = ("http:", "https:")
_BLANK = b" \t\r\n"
_CHUNK = 1 << 16
# a WARC record header: "WARC/1.0" and a first WARC-* field (anywhere: a torn write ends mid-line)
_RECORD_START = re.compile(rb"WARC/1\.[01]\r\nWARC-[A-Za-z-]+: ")


def iter_warc(path: Path) -> Iterator[StoredPage | StoreError]:
    """Yield a StoredPage per HTTP response record of `path`, a StoreError per damaged record."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 (held open across yields)
    except OSError as exc:
        yield StoreError(str(path), f"cannot read file: {exc.strerror or exc}")
        return
    with fh:
        yield from _read_file(fh, str(path))


def read_record_at(path: Path, offset: int) -> StoredPage | StoreError | None:
    """The record starting at `offset` (a gzip member's start in a .warc.gz), as iter_warc reads it.

    For reprocess --download-images, which indexes image records by offset; origin "path@offset".
    """
    origin = f"{path}@{offset}"
    with open(path, "rb") as fh:
        fh.seek(offset)
        try:
            record = next(iter(ArchiveIterator(fh, parse_http=False)))
            if not _complete_header(record):
                return StoreError(origin, "damaged or truncated record header")
            return _read_record(record, origin)
        except StopIteration:
            return StoreError(origin, "no record at this offset")
        except Exception as exc:  # fastwarc raises OSError on damaged framing
            return StoreError(origin, _framing_error(exc))


def _read_file(fh: BinaryIO, path: str) -> Iterator[StoredPage | StoreError]:
    gz = fh.read(2) == _GZIP_MAGIC
    fh.seek(0)
    records = iter(ArchiveIterator(fh, parse_http=False))
    number = 0
    last: tuple[int, int] | None = None  # (start, Content-Length) of the last record read whole
    floor = failing = 0  # resynchronise past both: where the last resync resumed, the bad record
    failed = False
    # Uncompressed, a record cut short and followed by more records (a torn write, then an
    # appending run) swallows the next record's start, and fastwarc trips over the rest only at
    # the record after it.  So there the last record's result is held back until the next one
    # parses; if it does not, the held record's block is searched for the record it swallowed.
    held: tuple[StoredPage | StoreError | None, str, int, int] | None = None  # result, origin, start, length
    while True:
        number += 1
        origin = f"{path}#record {number}"
        resume: int | None
        try:
            record = next(records)
            failing = record.stream_pos
            if not _complete_header(record):  # fastwarc yields a header block cut short
                raise _Damaged("damaged or truncated record header")
            result = _read_record(record, origin)
        except StopIteration:
            if held and held[0] is not None:
                yield held[0]
            if not failed and _lost_tail(fh, last and last[0]):
                yield StoreError(origin, "truncated record: the file ends inside it")
            return
        except Exception as exc:  # fastwarc's iterator is finished after an error: find the next record
            swallowed = _swallowed_record(fh, held[2], held[3]) if held else None
            if held and swallowed is not None:
                yield StoreError(held[1], "truncated record: the next record starts inside it")
                number -= 1  # the swallowed record is this number
                resume = swallowed
            else:
                if held and held[0] is not None:
                    yield held[0]
                yield StoreError(origin, str(exc) if isinstance(exc, _Damaged) else _framing_error(exc))
                if not isinstance(exc, _Damaged):  # fastwarc failed on the record after the last one
                    failing = _skip_blank(fh, _record_end(fh, gz, last))
                resume = _next_record_start(fh, gz, max(floor, failing) + 1)
            held = None
        else:
            failed = isinstance(result, StoreError)
            last = (record.stream_pos, record.content_length)
            if held and held[0] is not None:
                yield held[0]
            held = None
            if gz:
                if result is not None:
                    yield result
            else:
                held = (result, origin, record.stream_pos, record.content_length)
            continue
        if resume is None:
            return
        fh.seek(floor := resume)
        records = iter(ArchiveIterator(fh, parse_http=False))
        failed = False


class _Damaged(Exception):
    """A record fastwarc yielded but that cannot be a record: resynchronise after it."""


def _read_record(record: WarcRecord, origin: str) -> StoredPage | StoreError | None:
    """A page for an HTTP response, None for other intact records, else a StoreError."""
    headers = record.headers
    rec_type = headers.get("WARC-Type")
    length = record.content_length
    uri = _target_uri(headers.get_bytes(b"WARC-Target-URI"))
    if rec_type != "response" or not length or not uri.startswith(_HTTP_SCHEMES):
        if record.reader.consume() < length:
            return StoreError(origin, f"truncated {rec_type} record")
        return None
    block = record.reader.read()
    if len(block) < length:  # fastwarc just stops where the file does
        return StoreError(origin, f"truncated record: {length - len(block)} bytes missing")
    try:
        return _page(block, uri, headers.get("WARC-Date"), origin)
    except ValueError as exc:
        return StoreError(origin, str(exc))
    except Exception as exc:  # damaged data inside the record
        return StoreError(origin, _one_line(exc) or type(exc).__name__)


def _page(block: bytes, uri: str, warc_date: str | None, origin: str) -> StoredPage:
    protocol, statusline, pairs, start = _http_head(block)
    if not protocol.upper().startswith("HTTP/"):
        raise ValueError("response record without an HTTP status line")
    try:
        status = int(statusline.split(" ", 1)[0])
    except ValueError:
        raise ValueError(f"bad HTTP status line {_printable(statusline)[:60]!r}") from None
    headers = header_dict(pairs)
    raw = block[start:]
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raw = ChunkedDataReader(io.BytesIO(raw)).read()
        headers.pop("transfer-encoding")
    body, headers = decode_body(raw, headers)
    return StoredPage(url=uri, body=body, status=status, headers=headers, origin=origin,
                      fetched_at=_warc_date(warc_date))


def _http_head(block: bytes) -> tuple[str, str, list[tuple[str, str]], int]:
    """Status line and headers as warcio parses them (verify_http off); returns where the body starts.

    Lines are right-stripped; the head ends at the first blank line; a line starting with a space
    or tab continues the previous header; a line without a colon is dropped.
    """
    lines: list[str] = []
    pos, size = 0, len(block)
    while pos < size:
        end = block.find(b"\n", pos)
        end = size if end < 0 else end + 1
        line = _decode_header(block[pos:end]).rstrip()
        pos = end
        if not line:
            break
        lines.append(line)
    if not lines:
        return "", "", [], pos
    protocol, _, statusline = lines[0].partition(" ")
    pairs: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line.startswith((" ", "\t")):
            if pairs:
                pairs[-1] = (pairs[-1][0], pairs[-1][1] + line)
            continue
        name, colon, value = line.partition(":")
        if colon:
            pairs.append((name.rstrip(" \t"), value.lstrip()))
        # warcio folds continuation lines only into a header it kept
    return protocol, statusline.strip(), pairs, pos


def _decode_header(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("iso-8859-1")


def _target_uri(raw: bytes | None) -> str:
    """WARC-Target-URI as warcio normalises it: wget 1.19's <...> removed, spaces %-encoded."""
    if not raw:
        return ""
    uri = _decode_header(raw).strip()
    if uri.startswith("<") and uri.endswith(">"):
        uri = uri[1:-1]
    return uri.replace(" ", "%20")


def _complete_header(record: WarcRecord) -> bool:
    """The fields every WARC record must have; Content-Length also tells where the next one starts."""
    headers = record.headers
    length = headers.get("Content-Length")
    return bool(
        len(headers.get_multiple("WARC-Type")) == 1  # two: a torn header ran into the next record's
        and len(headers.get_multiple("WARC-Record-ID")) == 1
        and headers.get("WARC-Date")
        and length
        and length.strip().isdigit()
    )


def _lost_tail(fh: BinaryIO, last: int | None) -> bool:
    """Did fastwarc pass over the start of a record after the last one it yielded?

    It does so silently for a gzip member cut before it decompressed to anything.  Walk the gzip
    members from the last record's (from the file's start when fastwarc's position is not a member
    start, as in a WARC that packs many records in one member): the file was cut there if it ends
    inside a member that holds nothing yet, or if non-gzip bytes other than blank lines follow the
    members.  An uncompressed WARC needs no check: fastwarc raises on any record cut short.
    """
    fh.seek(0)
    if fh.read(2) != _GZIP_MAGIC:
        return False
    fh.seek(last if last is not None and _member_starts_record(fh, last) else 0)
    data = fh.read(_CHUNK)
    while data:
        if not data.startswith(_GZIP_MAGIC[: len(data)]):  # not a gzip member: bytes after the last one
            return bool(data.strip(_BLANK) or fh.read(_CHUNK).strip(_BLANK))
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        held = False  # the member decompressed to something other than blank lines
        while not inflate.eof:
            if not data:
                data = fh.read(_CHUNK)
                if not data:
                    return not held  # the file ends inside this member
            try:
                out = inflate.decompress(data, _CHUNK)  # bounded output, the rest stays in the tail
            except zlib.error:
                return True
            held = held or bool(out.strip(_BLANK))
            data = inflate.unconsumed_tail
        data = inflate.unused_data or fh.read(_CHUNK)
    return False


def _record_end(fh: BinaryIO, gz: bool, last: tuple[int, int] | None) -> int:
    """Where the last record read whole ends (a lower bound when records share a gzip member)."""
    if last is None:
        return 0
    start, length = last
    fh.seek(start)
    if not gz:
        head = fh.read(_CHUNK)
        end = head.find(b"\r\n\r\n")
        return start + end + 4 + length + 4 if end >= 0 else start + length  # + the closing CRLFs
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    size = 0
    while not inflate.eof:
        data = inflate.unconsumed_tail or fh.read(_CHUNK)
        if not data:
            return start
        try:
            inflate.decompress(data, _CHUNK)
        except zlib.error:
            return start
        size += len(data) - len(inflate.unconsumed_tail)
    return start + size - len(inflate.unused_data)


def _swallowed_record(fh: BinaryIO, start: int, length: int) -> int | None:
    """Where a record header starts inside the block of the (uncompressed) record at `start`."""
    fh.seek(start)
    head = fh.read(_CHUNK)
    end = head.find(b"\r\n\r\n")
    if end < 0:
        return None
    fh.seek(start + end + 4)
    found = _RECORD_START.search(fh.read(length))
    return start + end + 4 + found.start() if found else None


def _skip_blank(fh: BinaryIO, offset: int) -> int:
    fh.seek(offset)
    data = fh.read(_CHUNK)
    return offset + len(data) - len(data.lstrip(_BLANK))


def _next_record_start(fh: BinaryIO, gz: bool, offset: int) -> int | None:
    """The first offset >= `offset` where a WARC record header (or a gzip member holding one) starts."""
    pos = offset
    while True:
        fh.seek(pos)
        window = fh.read(_CHUNK)
        if gz:
            found = window.find(_GZIP_MAGIC + b"\x08")
            while found >= 0:
                if _member_starts_record(fh, pos + found):
                    return pos + found
                found = window.find(_GZIP_MAGIC + b"\x08", found + 1)
        else:
            match = _RECORD_START.search(window)
            if match:
                return pos + match.start()
        if len(window) < _CHUNK:
            return None
        pos += len(window) - 64  # overlap: a marker split between two windows


def _member_starts_record(fh: BinaryIO, offset: int) -> bool:
    fh.seek(offset)
    head = fh.read(1 << 12)
    if not head.startswith(_GZIP_MAGIC):
        return False
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 16).startswith(b"WARC/")
    except zlib.error:
        return False


def _framing_error(exc: BaseException) -> str:
    """fastwarc's OSError messages, in the words the warcio-based reader used."""
    text = _one_line(exc)
    if "Invalid WARC header" in text:
        return "damaged or truncated record header"
    if "Gzip" in text or "decompression" in text:
        return f"garbled gzip member ({text})"
    return text or f"unreadable record ({type(exc).__name__})"


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
    """First line of an exception message, binary junk masked."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return _printable(lines[0][:120]) if lines else ""


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)
