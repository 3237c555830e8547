"""Progress of a long run: done/total, rate, ETA and the counts by outcome.

On a terminal it is one live line, redrawn in place (``\\r``) a few times a second and wiped
before any other line is printed, so errors and listed posts scroll above it.  Off a terminal
(cron, systemd, CI logs) it is a plain line every few seconds.  Hand-written rather than rich or
tqdm: one line of text does not need a dependency, and the report decides what goes in it.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

LIST_LIMIT = 20  # runs up to this size name every post (one line each); longer runs show progress

LIVE_EVERY_S = 0.2


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    def __init__(self, report: Any) -> None:
        self.report = report
        self._last = time.monotonic()
        self._shown = False  # a live line is on the screen
        self._live: bool | None = None

    @property
    def live(self) -> bool:
        if self._live is None:
            stream = self.report.stream
            isatty = getattr(stream, "isatty", None)
            self._live = bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"
        return self._live

    def line(self) -> str:
        """``... 146/500 pages: 140 new, 6 failed (12.3/s, ETA 29s)``"""
        r = self.report
        done = r.processed
        total = r.expected or r.discovered or 0
        total = max(total, done) if total else 0
        elapsed = max(r.elapsed(), 1e-6)
        rate = done / elapsed
        extra = f"{rate:.1f}/s"
        if total and rate > 0 and total > done:
            extra += f", ETA {_duration((total - done) / rate)}"
        of = f"/{total}" if total else ""
        pages = "page" if done == 1 and not total else "pages"
        return f"... {done}{of} {pages}: {r.short_counts() or 'nothing yet'} ({extra})"

    def update(self, past_listing: bool, every_s: float) -> None:
        now = time.monotonic()
        if self.live:
            if now - self._last < LIVE_EVERY_S and self._shown:
                return
            self._last = now
            width = shutil.get_terminal_size((100, 20)).columns - 1
            self.report.stream.write("\r\x1b[K" + self.line()[:width])
            self.report.stream.flush()
            self._shown = True
        elif past_listing and now - self._last >= every_s:
            self._last = now
            print(self.line(), file=self.report.stream, flush=True)

    def clear(self) -> None:
        """Wipe the live line (before another line is printed, and at the end of the run)."""
        if self._shown:
            self.report.stream.write("\r\x1b[K")
            self._shown = False
