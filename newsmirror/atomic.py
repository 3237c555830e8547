"""Atomic file writes: a reader (or a crash) never sees half a post.

Temp files are named ``.<name>.<host>-<pid>.<random>.tmp`` so that a later run can tell a temp
file a killed process left behind (its pid is gone on this host) from one a live worker is
still writing: :func:`remove_orphan_temp_files` removes the first kind at once.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import socket
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

STALE_TEMP_S = 600  # a temp file of another host (or an older name) untouched this long is dead
_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:40] or "host"
_STAGED = itertools.count()  # stage_bytes' temp file names
_OWNER = re.compile(r"\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)\.[^.]+\.tmp$")

# Short words for the errors a full, read-only or locked-down disk gives (the strerror is kept).
DISK_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG, errno.EIO}


def describe_os_error(exc: OSError) -> str:
    """``No space left on device`` rather than ``[Errno 28] No space left on device: '/x/.y.tmp'``
    (the caller names the file the user knows about, not our temp file)."""
    return exc.strerror or str(exc) or type(exc).__name__


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable: without it a power cut can lose a post already counted."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # some file systems refuse fsync on folders
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write to a temp file in the same folder, fsync, rename over ``path``, fsync the folder.
    *data* may come in chunks (the run report streams its spooled entries)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():  # os.replace would say "Is a directory" about our temp file's rename
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_HOST}-{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.writelines([data] if isinstance(data, bytes | bytearray) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def stage_bytes(path: Path | str, data: bytes, no_folder_there: bool = False) -> Path:
    """The first half of :func:`atomic_write_bytes`, for writers that make many files durable
    at once (pipelines/write.py): ``data`` in a temp file beside ``path`` (named so that
    ``remove_orphan_temp_files`` knows it), not yet synced or renamed.  Cheaper per file than
    ``mkstemp``: a counter instead of random letters (``O_EXCL`` still refuses a name taken),
    the folder made only when it is missing, plain ``os.write`` (no file object), and no stat
    for a folder at ``path`` when the caller's own stat just found none (``no_folder_there``)."""
    folder = os.path.dirname(path)
    name = os.path.basename(path)
    if not no_folder_there and os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _attempt in range(100):
        tmp = os.path.join(folder, f".{name}.{_HOST}-{os.getpid()}.{next(_STAGED):x}s.tmp")
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileExistsError:
            continue
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(tmp, flags, 0o600)
        break
    else:
        raise FileExistsError(errno.EEXIST, "no free temp file name", str(path))
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, 0o644)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def sync_files(paths: list[Path]) -> None:
    """Make the data of many files durable: one ``syncfs`` of their file system where Linux has
    it (a few ms for the lot, where an fsync each costs ~1 ms per file), else an fsync each."""
    if not paths:
        return
    syncfs = _syncfs()
    if syncfs is not None:
        fd = os.open(paths[0].parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            folders = {p.parent for p in paths}
            if len(folders) == 1 and syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_dir(folder: Path) -> None:
    _fsync_dir(folder)


def _syncfs() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_orphan_temp_files(folder: Path, now: float | None = None) -> list[Path]:
    """Remove the temp files in ``folder`` that no live process owns: at once when the owner
    was a process of this host that is gone, after :data:`STALE_TEMP_S` otherwise."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    cutoff = (time.time() if now is None else now) - STALE_TEMP_S
    for leftover in folder.glob(".*.tmp"):
        m = _OWNER.search(leftover.name)
        with contextlib.suppress(OSError):
            mine = m is not None and m["host"] == _HOST
            if mine and int(m["pid"]) == os.getpid():
                continue
            dead = (mine and not _pid_alive(int(m["pid"]))) or leftover.stat().st_mtime < cutoff
            if dead:
                leftover.unlink()
                removed.append(leftover)
    return removed
