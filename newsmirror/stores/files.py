"""Bare saved HTML files (e.g. "Save page as" or a wget mirror): only the bytes and an mtime."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone
from pathlib import Path

from newsmirror.stores import StoredPage, StoreError


def read_html_file(path: Path | str) -> StoredPage | StoreError:
    """A file knows no URL, status or headers; its mtime is the best guess at when it was fetched."""
    try:
        with open(path, "rb") as fh:  # one open: its fstat gives the mtime
            mtime = os.fstat(fh.fileno()).st_mtime
            body = fh.read()
    except OSError as exc:
        return StoreError(str(path), f"cannot read file: {exc.strerror or exc}")
    return StoredPage(
        url=None,
        body=body,
        status=None,
        headers={},
        origin=str(path),
        fetched_at=datetime.fromtimestamp(mtime, tz=timezone.utc),
    )


def stat_html_file(path: str) -> StoredPage | StoreError:
    """The same page without its bytes (``file`` names them): for a reader that reads them
    later, elsewhere (reprocess's extraction workers, newsmirror.inputs)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return StoreError(str(path), f"cannot read file: {exc.strerror or exc}")
    if not stat.S_ISREG(st.st_mode):  # a FIFO would hang the worker that opens it
        return StoreError(str(path), "cannot read file: not a regular file")
    return StoredPage(
        url=None,
        body=b"",
        status=None,
        headers={},
        origin=str(path),
        fetched_at=datetime.fromtimestamp(st.st_mtime, tz=timezone.utc),
        file=str(path),
    )
