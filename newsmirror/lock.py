"""One newsmirror run at a time per output folder.

Two overlapping runs (an hourly cron job that outlives its hour) would write the same posts and the
seen-store at once.  The lock is an ``fcntl.flock`` on ``OUT/.newsmirror/run.lock``: the kernel drops
it when the holder's file descriptor closes, including when the process is killed with SIGKILL, so a
crashed run never blocks the next one.  The pid written into the file is only for the error message;
it is never used to decide whether the lock is held, so a stale pid cannot block anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

__all__ = ["LockHeld", "RunLock"]


class LockHeld(Exception):
    """Another process holds the run lock; names the lock file and (if it wrote it yet) its pid."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        who = f"pid {pid}" if pid is not None else "another process (pid not yet written)"
        super().__init__(f"another newsmirror run is using this output folder: {path} is locked by {who}")


def _read_pid(fd: int) -> int | None:
    """The pid recorded in an open lock file, or ``None`` if it is empty or garbled."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 64).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class RunLock:
    """Non-blocking exclusive lock on a file; use as ``with RunLock(out / ".newsmirror/run.lock"):``.

    There is deliberately no ``__del__``: a lock object dropped without ``release()`` keeps the lock
    until the process exits, rather than silently unprotecting a run that is still going.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        # a read-only or full disk must surface from acquire(), as an OSError its caller turns into
        # one line, not from a constructor called outside the caller's error handling
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def held(self) -> bool:
        """Whether this object currently holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise :class:`LockHeld` at once (never waits); then record our pid."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this RunLock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # os.open makes the fd non-inheritable: exec'd children (subprocess) cannot keep the lock alive.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise LockHeld(self.path, pid) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except BaseException:
            os.close(fd)  # closing drops the flock too
            raise
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (idempotent).  The file stays: unlinking a flock'ed file races with waiters."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # so nobody reads our pid as a holder any more
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"RunLock({str(self.path)!r}, held={self.held})"
