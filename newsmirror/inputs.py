"""Input keys; bare HTML files read where they are parsed (the main process sees a path and a stat).

Reprocessing a folder of saved pages used to read every file in the main process and pickle its
~190 KB through the extraction pool's pipe.  Now the spider yields a :class:`Page` with a path
(``page.file``) and no body; the extraction worker reads the file.  The main process still has to
decide *before* extraction whether an input is unchanged (the skip stage), so a bare file is also
known by a key made from its stat signature (device, inode, size, mtime and ctime in ns), like
git's index or make: a file rewritten in place gets a new ctime, which no ``touch``/``cp -p`` can
set back.

What is recorded for a post is what the worker actually read: the key of its bytes (the same key
a page with a body gets) and a stat key from the ``fstat`` of the open file, taken before and after
the read, never the stat the main process saw.  A file changed between listing and extraction is
so recorded under its new signature and bytes; one changed *while* it was read gets no stat key.

A signature is trusted only if the file was last changed ``RACY_S`` before the read began (git's
"racy" rule: a write in the same clock tick after our read would keep mtime and ctime).  A file
changed more recently gets a *settling* stat key instead: a later run that finds it still has to
read the bytes in the main process and match their key (one read and hash, as for every file
before), so a write within the timestamp's granularity is never mistaken for "unchanged".

A file whose bytes are unchanged but whose stat is not (touched, copied) is extracted again; its
post comes out byte-identical and is left alone (outcome "unchanged").
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from typing import NamedTuple

import xxhash

from .items import Page
from .report import PageFailed

RACY_S = 2.0  # a file changed this recently may change again within its timestamp's granularity
TRUSTED, SETTLING = b"stat", b"stat-settling"  # the kinds of stat key (content_key's ``kind``)
FILE_KEY = "_newsmirror_file_key"  # an Article's stat key: an instance attribute, never exported


def content_key(fingerprint: str, page: Page, data: bytes, kind: bytes = b"bytes") -> str:
    """The input key of ``page`` made of ``data``: its bytes (``kind`` ``bytes``) or, for a bare
    file, its stat signature (``kind`` ``stat``; the kind keeps the two from ever meeting)."""
    digest = xxhash.xxh3_128(fingerprint.encode())
    for part in (page.url, page.label or "", page.encoding or ""):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    digest.update(kind + b"\0")
    digest.update(data)
    return digest.hexdigest()


def signature(st: os.stat_result) -> bytes:
    """What identifies a file's contents without reading them (ctime: no user can set it)."""
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}".encode()


def stat_keys(fingerprint: str, page: Page) -> tuple[str, str]:
    """The main process's keys for a bare file, trusted and settling: one ``stat``, no read
    (``("", "")``: cannot stat; the page goes on to extraction, which says why)."""
    try:
        st = os.stat(page.file)
    except OSError:
        return "", ""
    sig = signature(st)
    return content_key(fingerprint, page, sig, TRUSTED), content_key(fingerprint, page, sig, SETTLING)


class FileRead(NamedTuple):
    """One read of a bare file: what :func:`read_file` tells about it."""

    body: bytes
    mtime: float  # of the fstat after the read
    key: str  # the bytes' key ("" without a fingerprint)
    file_key: str  # the stat key to record beside it: trusted, settling, or "" (changed while read)
    settled: bool  # file_key is a trusted one


def read_file(fingerprint: str | None, page: Page) -> FileRead:
    """Read a bare file once, with an ``fstat`` before and after: the bytes' key and a stat key
    from what was read, never from an earlier stat (``fingerprint`` None: no keys).  A file
    changed less than :data:`RACY_S` before the read gets a settling key.  Raises OSError."""
    started = time.time_ns()
    with open(page.file, "rb") as fh:
        before = os.fstat(fh.fileno())
        body = fh.read()
        after = os.fstat(fh.fileno())
    if fingerprint is None:
        return FileRead(body, after.st_mtime, "", "", False)
    key = content_key(fingerprint, page, body)
    sig = signature(after)
    if sig != signature(before) or len(body) != after.st_size:
        return FileRead(body, after.st_mtime, key, "", False)
    settled = max(after.st_mtime_ns, after.st_ctime_ns) < started - int(RACY_S * 1e9)
    file_key = content_key(fingerprint, page, sig, TRUSTED if settled else SETTLING)
    return FileRead(body, after.st_mtime, key, file_key, settled)


def read_input_file(page: Page, fingerprint: str | None) -> str:
    """In the extraction worker: fill ``page.body`` from ``page.file``, and make ``fetched_at``
    and ``input_key`` those of the bytes read; return the stat key to record beside it (``""``:
    none, the file changed while it was read, or no ``fingerprint``: no keys at all)."""
    try:
        read = read_file(fingerprint, page)
    except OSError as exc:
        raise PageFailed(f"cannot read file: {exc.strerror or exc}") from exc
    page.body = read.body
    page.fetched_at = datetime.fromtimestamp(read.mtime, tz=timezone.utc)
    page.input_key = read.key
    return read.file_key
