"""An append-only list of JSON-able entries that lives on disk past its first few.

A run report names every post, failure and skip in its JSON, one entry per page: kept in memory,
a 100 000-page reprocess would hold them all to the end (~1 KiB each, and a deep copy of them
while the report is written).  A :class:`Spool` keeps the first ``keep`` entries in memory and
appends the rest, one compact JSON line each, to an anonymous temporary file: it has no name
(``tempfile.TemporaryFile``), so a crash leaves nothing behind, and it is gone when closed.
Reading it back (iteration, slices) streams the file in blocks, so memory stays flat.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any, Generic, TypeVar, overload

T = TypeVar("T")
KEEP = 64  # entries kept in memory (small runs never touch the disk)
READ_BLOCK = 1 << 16


class Spool(Generic[T]):
    """A list of entries (appended, iterated, counted, sliced), spilled to disk past ``keep``.

    *dump* turns an entry into a JSON-able value and *load* turns it back, so the entries read
    back from disk are the same kind of object as the ones kept in memory."""

    def __init__(
        self,
        dump: Callable[[T], Any] = lambda entry: entry,
        load: Callable[[Any], T] = lambda value: value,
        keep: int = KEEP,
    ) -> None:
        self.dump = dump
        self.load = load
        self.keep = keep
        self.folder: Path | None = None  # where the temporary file goes (None: the system's)
        self._head: list[T] = []
        self._file: IO[bytes] | None = None
        self._spilled = 0
        self._end = 0  # bytes of whole lines in the file
        # after a failed write (a full disk): in memory from then on, without trying the disk
        # again -- order is kept, and a run on a full disk is failing anyway
        self._tail: list[T] = []

    def append(self, entry: T) -> None:
        """Never raises for a full or failing disk: the report must count every page, and
        it is fed from Scrapy signal handlers (the entries then stay in memory)."""
        if len(self._head) < self.keep:
            self._head.append(entry)
            return
        if not self._tail:
            line = json.dumps(self.dump(entry), ensure_ascii=False, separators=(",", ":"))
            data = line.encode("utf-8", "surrogatepass") + b"\n"
            try:
                written = os.pwrite(self._open().fileno(), data, self._end)
            except OSError:
                written = -1
            if written == len(data):
                self._end += written
                self._spilled += 1
                return
        self._tail.append(entry)

    def __len__(self) -> int:
        return len(self._head) + self._spilled + len(self._tail)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[T]:
        yield from list(self._head)
        for value in self._spilled_values():
            yield self.load(value)
        yield from list(self._tail)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            return list(islice(self, start, stop, step))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("spool index out of range")
        return next(islice(self, index, None))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Spool | list):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def values(self) -> Iterator[Any]:
        """The entries as JSON-able values (what the report writes), read back in blocks."""
        for entry in list(self._head):
            yield self.dump(entry)
        yield from self._spilled_values()
        for entry in list(self._tail):
            yield self.dump(entry)

    def _spilled_values(self) -> Iterator[Any]:
        if self._file is None:
            return
        fd, offset, end, rest = self._file.fileno(), 0, self._end, b""
        while offset < end:  # pread: appends during the iteration do not move what is read
            block = os.pread(fd, min(READ_BLOCK, end - offset), offset)
            if not block:
                break
            offset += len(block)
            *lines, rest = (rest + block).split(b"\n")
            for line in lines:
                yield json.loads(line.decode("utf-8", "surrogatepass"))

    def close(self) -> None:
        """Drop the temporary file (the entries on disk are gone; the kept ones stay)."""
        if getattr(self, "_file", None) is not None:
            self._file.close()
            self._file = None
            self._spilled = self._end = 0

    def _open(self) -> IO[bytes]:
        if self._file is None:
            try:
                self._file = tempfile.TemporaryFile(prefix=".spool-", dir=self.folder, buffering=0)  # noqa: SIM115
            except OSError:  # e.g. the output folder went away: the system's temporary folder
                self._file = tempfile.TemporaryFile(prefix="newsmirror-spool-", buffering=0)  # noqa: SIM115
        return self._file

    def __del__(self) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Spool({len(self)} entries, {self._spilled} on disk)"
