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

import hashlib
import os
import time
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote_from_bytes

import xxhash

from .items import Page
from .stores import StoredPage

RACY_S = 2.0  # a file changed this recently may change again within its timestamp's granularity
TRUSTED, SETTLING = b"stat", b"stat-settling"  # the kinds of stat key (content_key's ``kind``)
FILE_KEY = "_newsmirror_file_key"  # an Article's stat key: an instance attribute, never exported


# Libraries whose output ends up in the posts: an upgrade may change bytes, so it changes keys.
_OUTPUT_LIBRARIES = ("lxml", "nh3", "markdownify", "PyYAML", "w3lib", "trafilatura")


@lru_cache(maxsize=8)
def code_fingerprint(*options: str | None) -> str:
    """Hash of the package's own files, the libraries that shape the output and the options:
    a parser fix or a library upgrade changes every input key.  Made once per process and
    options (~8 ms: it reads every module), whoever asks first (the head start, the Runtime)."""
    from importlib.metadata import PackageNotFoundError, version

    def lib_version(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "-"

    libraries = [(name, lib_version(name)) for name in _OUTPUT_LIBRARIES]
    digest = hashlib.sha256(repr((options, libraries)).encode())
    package = Path(__file__).parent
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def run_fingerprint(label: str | None, filename_style: str, body_format: str, download_images: bool) -> str:
    """:func:`code_fingerprint` of a run's options (the Runtime's, the head start's alike)."""
    images = ("download_images",) if download_images else ()  # other post bytes
    return code_fingerprint(label, filename_style, body_format, *images)


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


def file_signature(path: str) -> bytes:
    """:func:`signature` of the file at ``path`` now (``b""``: cannot stat)."""
    try:
        return signature(os.stat(path))
    except OSError:
        return b""


def stat_keys(fingerprint: str, page: Page, sig: bytes | None = None) -> tuple[str, str]:
    """The main process's keys for a bare file, trusted and settling: one ``stat`` (or ``sig``,
    its :func:`file_signature`), no read (``("", "")``: cannot stat; the page goes on to
    extraction, which says why)."""
    sig = file_signature(page.file) if sig is None else sig
    if not sig:
        return "", ""
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


def page_of(
    record: StoredPage, label: str | None, folders: dict[str, str], encoding: str | None = None
) -> Page:
    """The Page of a stored page as the spider lists it (a bare file: ``record.file``, no bytes
    yet, the worker reads them), ``folders`` caching :func:`resolved_uri`'s folders for a run,
    ``encoding`` the one its headers declare.  The spider and the head start build it here alike,
    so an early result is known by plain equality."""
    return Page(
        url=record.url or resolved_uri(record.origin, folders),
        body=record.body,
        encoding=encoding,
        origin=record.origin,
        fetched_at=record.fetched_at,
        label=label,
        file=record.file,
    )


def resolved_uri(origin: str, folders: dict[str, str]) -> str:
    """``Path(origin).resolve().as_uri()``, with each folder resolved once per run (a resolve
    walks every component of the path): only a file that is itself a symlink is resolved whole."""
    folder, name = os.path.split(origin)
    if not name or name in (".", "..") or os.path.islink(origin):
        return Path(origin).resolve().as_uri()
    real = folders.get(folder)
    if real is None:
        real = folders[folder] = str(Path(folder or ".").resolve())
    # Path(real, name).as_uri() without pathlib (real is absolute and normalized, name one part)
    return "file://" + quote_from_bytes(os.fsencode(os.path.join(real, name)))
