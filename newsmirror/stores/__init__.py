"""Read pages back from wherever a crawl kept them: bare HTML files, Scrapy's HTTP cache, WARCs.

Reprocessing (re-extracting articles without touching the network) needs the same three things
from every store -- URL, bytes, HTTP status/headers -- so each reader turns its format into one
:class:`StoredPage`.  A damaged entry becomes a :class:`StoreError` instead of an exception, so one
bad record out of thousands costs one message, not the whole run.

Bodies are always *decoded*: a ``Content-Encoding`` (gzip, deflate, br/zstd when their modules are
installed) is undone and the header dropped, exactly what Scrapy's HttpCompressionMiddleware does
to a live response.  That matters because Scrapy's HTTP cache stores bodies *before* that
middleware runs, i.e. still compressed.  A truncated or garbled compressed body is a StoreError,
never silently cut short.
"""

from __future__ import annotations

import dbm
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

__all__ = ["StoreError", "StoredPage", "iter_stored_pages"]

HTML_SUFFIXES = (".html", ".htm")
WARC_SUFFIXES = (".warc", ".warc.gz")
# Scrapy's DbmCacheStorage opens "<spider>.db"; the dbm backend may add its own suffix.
_DBM_NAME = re.compile(r"^(.+?\.db)(?:\.(?:dat|dir|bak|pag|db))?$", re.IGNORECASE)


@dataclass
class StoredPage:
    """One response (or bare file) read back from a store."""

    url: str | None  # original URL when the store keeps it (HTTP cache, WARC); None for bare files
    body: bytes  # decoded: no transfer- or content-encoding left
    status: int | None  # HTTP status when known
    headers: dict[str, str]  # response headers, names lower-cased; {} for bare files
    origin: str  # human-readable location for messages: file path, cache entry dir, "x.warc.gz#record 12"
    fetched_at: datetime | None  # tz-aware UTC when the store knows it (cache timestamp, WARC-Date)
    file: str = ""  # a bare file not read yet (``read_files=False``): ``body`` is empty, read it here


@dataclass
class StoreError:
    """An entry that could not be read; iteration goes on with the next one."""

    origin: str
    reason: str  # one short line, e.g. "truncated gzip stream", "missing response_body"


def iter_stored_pages(path: str | Path, read_files: bool = True) -> Iterator[StoredPage | StoreError]:
    """Detect what `path` is and yield its pages, in a deterministic (sorted) order.

    `path` may be a .html/.htm file, a .warc/.warc.gz file, a Scrapy DBM cache file
    (``<spider>.db``), a Scrapy filesystem HTTP cache (HTTPCACHE_DIR, one spider's folder of it
    or a single entry), or any folder: folders are searched recursively for all of these.
    Hidden files and folders (".git", ...) are skipped.  With ``read_files=False`` a bare HTML
    file is only stat'ed: its StoredPage names it (``file``) and has no body yet.

    Raises FileNotFoundError for a path that does not exist and ValueError for a file of
    unknown kind.
    """
    # Not a generator itself, so that a bad path fails at the call, not at the first next().
    path = Path(path)
    if path.is_dir():
        return _walk(path, set(), read_files)
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    kind = _file_kind(path.name)
    if kind == "dbm":
        base = _dbm_base(path)
        if not dbm.whichdb(str(base)):
            raise ValueError(f"not a DBM database: {path}")
        return _read_dbm(base)
    if kind is None:
        raise ValueError(
            f"don't know how to read {path} (expected .html, .htm, .warc, .warc.gz, "
            "a Scrapy HTTP cache or a folder)"
        )
    return _read_file(kind, path, read_files)


def _file_kind(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(HTML_SUFFIXES):
        return "html"
    if lower.endswith(WARC_SUFFIXES):
        return "warc"
    if _DBM_NAME.match(name):
        return "dbm"
    return None


def _dbm_base(path: Path) -> Path:
    match = _DBM_NAME.match(path.name)
    return path.with_name(match.group(1)) if match else path


def _read_file(kind: str, path: Path, read_files: bool = True) -> Iterator[StoredPage | StoreError]:
    # Imported here: the readers import StoredPage/StoreError from this module.
    if kind == "html":
        from newsmirror.stores.files import read_html_file, stat_html_file

        yield read_html_file(path) if read_files else stat_html_file(str(path))
    else:
        from newsmirror.stores.warc import iter_warc

        yield from iter_warc(path)


def _read_dbm(base: Path) -> Iterator[StoredPage | StoreError]:
    from newsmirror.stores.httpcache import iter_dbm_cache

    yield from iter_dbm_cache(base)


def _walk(
    folder: Path, seen: set[tuple[int, int]], read_files: bool = True
) -> Iterator[StoredPage | StoreError]:
    """Depth-first, children in name order; a Scrapy cache entry folder is read as one page."""
    from newsmirror.stores.httpcache import ENTRY_FILES, read_cache_entry

    try:
        st = os.stat(folder)
        if (st.st_dev, st.st_ino) in seen:  # reached again through a symlink
            return
        seen.add((st.st_dev, st.st_ino))
        with os.scandir(folder) as it:
            children = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError as exc:
        yield StoreError(str(folder), f"cannot list folder: {exc.strerror or exc}")
        return
    if any(e.name in ENTRY_FILES for e in children):
        yield read_cache_entry(folder)
        return
    dbm_bases: set[str] = set()
    here = str(folder)  # a Path's own spelling: entry.path is it + "/" + name, but for "."
    for entry in children:
        child = entry.name if here == "." else entry.path  # == str(Path(entry.path)), made once
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            yield from _walk(Path(child), seen, read_files)
            continue
        kind = _file_kind(entry.name)
        if kind == "dbm":
            base = _dbm_base(Path(child))
            if str(base) not in dbm_bases and dbm.whichdb(str(base)):
                dbm_bases.add(str(base))
                yield from _read_dbm(base)
        elif kind == "html":  # the common case, one per page: the path stays a string
            from newsmirror.stores.files import read_html_file, stat_html_file

            yield read_html_file(child) if read_files else stat_html_file(child)
        elif kind is not None:
            yield from _read_file(kind, Path(child), read_files)


# -- helpers shared by the readers ------------------------------------------------------------


def header_dict(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-case names; repeated headers joined with ", " as HTTP allows (Set-Cookie aside)."""
    out: dict[str, str] = {}
    for name, value in pairs:
        key = name.strip().lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def decode_body(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """Undo Content-Encoding like Scrapy's HttpCompressionMiddleware, but strictly.

    Returns the decoded body and the headers without ``content-encoding``.  Raises ValueError
    with a short reason for unsupported codings and damaged (e.g. truncated) data.
    """
    value = headers.get("content-encoding", "")
    codings = [c.strip().lower() for c in value.split(",") if c.strip()]
    if not codings:
        return body, headers
    if body:
        for coding in reversed(codings):  # listed in the order they were applied
            body = _undo_coding(coding, body)
    headers = {k: v for k, v in headers.items() if k != "content-encoding"}
    return body, headers


def _undo_coding(coding: str, data: bytes) -> bytes:
    if coding == "identity":
        return data
    if coding in ("gzip", "x-gzip"):
        return gunzip(data, what="gzip content-encoding")
    if coding == "deflate":
        for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):  # zlib-wrapped, or raw as some servers send
            d = zlib.decompressobj(wbits)
            try:
                out = d.decompress(data) + d.flush()
            except zlib.error:
                continue
            if not d.eof:
                raise ValueError("truncated deflate content-encoding")
            return out
        raise ValueError("garbled deflate content-encoding")
    if coding == "br":
        try:
            import brotli  # type: ignore[import-not-found]
        except ImportError:
            raise ValueError("content-encoding br needs the brotli module") from None
        try:
            return brotli.decompress(data)
        except brotli.error as exc:
            raise ValueError(f"garbled br content-encoding: {exc}") from None
    if coding == "zstd":
        try:
            import zstandard  # type: ignore[import-not-found]
        except ImportError:
            raise ValueError("content-encoding zstd needs the zstandard module") from None
        try:
            return zstandard.ZstdDecompressor().decompressobj().decompress(data)
        except zstandard.ZstdError as exc:
            raise ValueError(f"garbled zstd content-encoding: {exc}") from None
    raise ValueError(f"unsupported content-encoding {coding!r}")


def gunzip(data: bytes, what: str = "gzip stream") -> bytes:
    """Strict multi-member gunzip: truncation is an error, padding after the last member is not."""
    out = bytearray()
    while True:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += d.decompress(data)
        except zlib.error:
            raise ValueError(f"garbled {what}") from None
        if not d.eof:
            raise ValueError(f"truncated {what}")
        data = d.unused_data
        if not data.startswith(b"\x1f\x8b"):
            return bytes(out)
