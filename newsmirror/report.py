"""What a run did: counts, failures with reasons, progress lines and the end-of-run summary.

It knows nothing of Scrapy's engine: :class:`newsmirror.scrapy_parts.report.ReportExtension`
feeds it from signals, and spider errbacks call :meth:`RunReport.fail`, so every page ends up in
exactly one bucket: new, updated, unchanged, skipped or failed.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from scrapy.exceptions import DropItem

OUTCOMES = ("new", "updated", "unchanged")
LIST_LIMIT = 20  # runs up to this size name every post
PROGRESS_EVERY_S = 2.0


class PageFailed(DropItem):
    """A page that could not become a post; the message is the one-line reason.  ``post_path``
    names the post it was going to, when a late stage (writing) failed: Scrapy reports a dropped
    item as it entered the pipelines (the Page), not as the stage that dropped it saw it."""

    def __init__(self, message: str, post_path: str = "") -> None:
        super().__init__(message)
        self.post_path = post_path


class PageSkipped(DropItem):
    """A page deliberately not processed (already mirrored in this run, too old, robots...)."""


class PageUnchanged(DropItem):
    """The exact input that made an existing, intact post: nothing to do."""

    def __init__(self, url: str, post_path: str) -> None:
        super().__init__(f"unchanged input for {post_path}")
        self.url = url
        self.post_path = post_path


@dataclass
class Failure:
    """One failed or skipped page: the URL (or file) that was asked for, the reason, the URL the
    answer came from after redirects and the post the page was going to (when known)."""

    url: str
    reason: str
    final_url: str = ""
    post: str = ""


@dataclass
class RunReport:
    command: str = ""
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*OUTCOMES, "skipped", "failed"), 0))
    discovered: int = 0
    failures: list[Failure] = field(default_factory=list)
    skipped: list[Failure] = field(default_factory=list)
    posts: list[dict[str, str]] = field(default_factory=list)  # written (new/updated) posts
    duration_s: float = 0.0
    expected: int | None = None  # total pages, when known up front (for progress)

    def __post_init__(self) -> None:
        self._t0 = time.monotonic()
        self._last_progress = self._t0
        self.stream: IO[str] | None = None
        self.verbose = False
        self.quiet = False
        self.dry_run = False  # list every post that would change
        self.summary_on_close = False  # print the summary when the spider closes (no CLI around)
        self.write_error = ""  # the JSON report itself could not be written

    # -- recording ---------------------------------------------------------------------------

    def done(self, outcome: str, url: str, post_path: str, requested: str = "", final_url: str = "") -> None:
        self.counts[outcome] += 1
        if outcome != "unchanged":
            self.posts.append(
                {
                    "outcome": outcome,
                    "url": url,
                    "post": post_path,
                    "requested": requested or final_url or url,
                    "final_url": final_url or url,
                }
            )
        # every post is named while a run is small; big runs get periodic progress lines instead
        if (
            self.verbose
            or (not self.quiet and self.processed <= LIST_LIMIT)
            or (self.dry_run and outcome != "unchanged")
        ):
            self._print(f"{outcome:<9} {post_path}  <- {url}")
        self._progress()

    def fail(self, url: str, reason: str, final_url: str = "", post: str = "") -> None:
        reason = " ".join(str(reason).split()) or "unknown error"
        self.counts["failed"] += 1
        self.failures.append(Failure(url, reason, final_url or url, post))
        self._print(f"error: {url}: {reason}")
        self._progress()

    def skip(self, url: str, reason: str, final_url: str = "", post: str = "") -> None:
        self.counts["skipped"] += 1
        self.skipped.append(Failure(url, reason, final_url or url, post))
        if self.verbose:
            self._print(f"skipped   {url}: {reason}")
        self._progress()

    # -- output -------------------------------------------------------------------------------

    @property
    def processed(self) -> int:
        return sum(self.counts.values())

    @property
    def exit_code(self) -> int:
        return 1 if self.counts["failed"] or self.write_error else 0

    def summary(self) -> str:
        c = self.counts
        parts = [f"{c['new']} new", f"{c['updated']} updated", f"{c['unchanged']} unchanged"]
        if c["skipped"]:
            parts.append(f"{c['skipped']} skipped")
        parts.append(f"{c['failed']} failed")
        head = f"{self.command}: " if self.command else ""
        found = f"{self.discovered} discovered, " if self.discovered else ""
        dry = " (dry run: nothing written)" if self.dry_run else ""
        return f"{head}{found}{', '.join(parts)} in {self.elapsed():.1f}s{dry}"

    def elapsed(self) -> float:
        return self.duration_s or (time.monotonic() - self._t0)

    def finish(self) -> None:
        self.duration_s = round(time.monotonic() - self._t0, 3)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("expected")
        data["exit_code"] = self.exit_code
        return data

    def write_json(self, path: Path) -> bool:
        """Write the report atomically; a full or read-only disk is one error line and a non-zero
        exit code, not a crash (the posts and seen-store rows written before stay valid)."""
        from .atomic import atomic_write_text, describe_os_error

        try:
            atomic_write_text(path, json.dumps(self.to_json(), ensure_ascii=False, indent=2) + "\n")
        except OSError as exc:
            self.write_error = f"cannot write the run report {path}: {describe_os_error(exc)}"
            self._print(f"error: {self.write_error}")
            return False
        return True

    def _print(self, line: str) -> None:
        if self.stream is not None:
            print(line, file=self.stream, flush=True)

    def _progress(self) -> None:
        """Every few seconds, once posts are no longer listed one by one."""
        now = time.monotonic()
        if self.quiet or self.processed <= LIST_LIMIT or now - self._last_progress < PROGRESS_EVERY_S:
            return
        self._last_progress = now
        total = f"/{self.expected}" if self.expected else ""
        self._print(f"... {self.processed}{total} pages: {self._short_counts()}")

    def _short_counts(self) -> str:
        return ", ".join(f"{v} {k}" for k, v in self.counts.items() if v)
