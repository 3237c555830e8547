"""Read Scrapy's HTTP cache without Scrapy: plain file IO plus a locked-down unpickler.

FilesystemCacheStorage (the default) keeps one folder per request::

    HTTPCACHE_DIR/<spider>/<fp[0:2]>/<fp>/
        pickled_meta      pickle of {"url", "method", "status", "response_url", "timestamp"}
        meta              repr() of the same dict (not read)
        response_headers  raw "Name: value" lines joined by CRLF, no status line
        response_body     the body *as received*: still Content-Encoded (the cache middleware
                          sits below HttpCompressionMiddleware), so it is decoded here
        response_data, request_headers, request_body   (not needed, not read)

With HTTPCACHE_GZIP every one of those files is a gzip stream.  That is detected per entry from
``pickled_meta`` (a pickle never starts with the gzip magic, a body might), so one reader handles
both settings and mixed caches.

DbmCacheStorage keeps ``HTTPCACHE_DIR/<spider>.db`` with ``<fp>_time`` (str of a float) and
``<fp>_data`` (pickled dict with url/status/headers/body).  It is read through the stdlib
:mod:`dbm`, so only databases whose backend this Python has (always dbm.dumb) can be opened;
others give a StoreError.

Pickles are loaded with an unpickler that never imports anything: every global it meets (e.g.
``ipaddress.IPv4Address`` in Scrapy 2.19's response dict) becomes an inert placeholder.  The
fields we need are builtins, and a cache copied from elsewhere cannot run code on load.
"""

from __future__ import annotations

import dbm
import io
import pickle
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from newsmirror.stores import StoredPage, StoreError, decode_body, gunzip, header_dict

# Any of these in a folder marks it as one cache entry.
ENTRY_FILES = frozenset({"pickled_meta", "response_body", "response_headers"})


def read_cache_entry(entry: Path) -> StoredPage | StoreError:
    """Read one FilesystemCacheStorage entry folder; every failure becomes a StoreError."""
    try:
        return _read_entry(entry)
    except ValueError as exc:
        return StoreError(str(entry), str(exc))


def _read_entry(entry: Path) -> StoredPage:
    raw_meta = _read(entry, "pickled_meta")
    gz = raw_meta.startswith(b"\x1f\x8b")
    meta = _unpickle(gunzip(raw_meta, "gzip stream in pickled_meta") if gz else raw_meta, "pickled_meta")
    if not isinstance(meta, dict) or "status" not in meta:
        raise ValueError("pickled_meta is not a Scrapy cache meta dict")
    url = meta.get("response_url") or meta.get("url")
    raw_headers = _read(entry, "response_headers", gz)
    body = _read(entry, "response_body", gz)
    headers = header_dict(_parse_raw_headers(raw_headers))
    body, headers = decode_body(body, headers)
    return StoredPage(
        url=url if isinstance(url, str) else None,
        body=body,
        status=_int_or_none(meta.get("status")),
        headers=headers,
        origin=str(entry),
        fetched_at=_utc(meta.get("timestamp")),
    )


def _read(entry: Path, name: str, gz: bool = False) -> bytes:
    try:
        data = (entry / name).read_bytes()
    except FileNotFoundError:
        raise ValueError(f"missing {name}") from None
    except OSError as exc:
        raise ValueError(f"cannot read {name}: {exc.strerror or exc}") from None
    return gunzip(data, f"gzip stream in {name}") if gz else data


def _parse_raw_headers(raw: bytes) -> Iterator[tuple[str, str]]:
    """Same rules as w3lib's headers_raw_to_dict, which Scrapy uses to read this file back."""
    for line in raw.splitlines():
        name, sep, value = line.partition(b":")
        if sep:
            yield name.strip().decode("latin-1"), value.strip().decode("latin-1")


def iter_dbm_cache(base: Path) -> Iterator[StoredPage | StoreError]:
    """Read a DbmCacheStorage database (`base` is the name Scrapy opened, ``<spider>.db``)."""
    try:
        db = dbm.open(str(base), "r")  # noqa: SIM115 (closed below; open errors are StoreErrors)
    except Exception as exc:  # dbm.error, or a backend this Python lacks
        yield StoreError(str(base), f"cannot open DBM cache: {exc}")
        return
    with db:
        fingerprints = sorted(k[:-5] for k in db if k.endswith(b"_time"))
        for fp in fingerprints:
            origin = f"{base}#{fp.decode('ascii', 'replace')}"
            try:
                yield _read_dbm_entry(db, fp, origin)
            except ValueError as exc:
                yield StoreError(origin, str(exc))
            except KeyError:
                yield StoreError(origin, "missing _data")


def _read_dbm_entry(db: Any, fp: bytes, origin: str) -> StoredPage:
    try:
        timestamp = float(db[fp + b"_time"])
    except ValueError:
        raise ValueError("unreadable _time") from None
    data = _unpickle(db[fp + b"_data"], "_data")
    if not isinstance(data, dict) or not isinstance(data.get("body"), bytes):
        raise ValueError("_data is not a Scrapy response dict")
    pairs: list[tuple[str, str]] = []
    for name, values in (data.get("headers") or {}).items():
        for value in values if isinstance(values, (list, tuple)) else [values]:
            pairs.append((_text(name), _text(value)))
    body, headers = decode_body(data["body"], header_dict(pairs))
    url = data.get("url")
    return StoredPage(
        url=url if isinstance(url, str) else None,
        body=body,
        status=_int_or_none(data.get("status")),
        headers=headers,
        origin=origin,
        fetched_at=_utc(timestamp),
    )


class _Inert:
    """Stands in for any class a pickle names; accepts and ignores whatever it is given."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __setstate__(self, state: object) -> None:
        pass


class _NoImportUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> type:
        return _Inert


def _unpickle(data: bytes, what: str) -> Any:
    try:
        return _NoImportUnpickler(io.BytesIO(data)).load()
    except Exception as exc:  # a damaged pickle can raise almost anything
        raise ValueError(f"unreadable {what} ({type(exc).__name__})") from None


def _text(value: object) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _utc(timestamp: object) -> datetime | None:
    if not isinstance(timestamp, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(timestamp, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
