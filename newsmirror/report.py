"""What a run did: counts, failures with reasons, progress lines and the end-of-run summary.

It knows nothing of Scrapy's engine: :class:`newsmirror.scrapy_parts.report.ReportExtension`
feeds it from signals, and spider errbacks call :meth:`RunReport.fail`, so every page ends up in
exactly one bucket: new, updated, unchanged, skipped or failed.

Memory stays flat however long the run: the summary is counters, and the entries the JSON
report names one by one (posts, failures, skips, failed images) are :class:`~newsmirror.spool.Spool`
lists, which keep the first few in memory and the rest in an anonymous temporary file;
:meth:`RunReport.write_json` streams them into the report (temp file, then rename).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from scrapy.exceptions import DropItem

from .health import DISCOVERY, ENTRY, HealthMonitor
from .progress import LIST_LIMIT, Progress
from .spool import Spool

OUTCOMES = ("new", "updated", "unchanged")
PROGRESS_EVERY_S = 10.0  # off a terminal, one progress line this often


class PageFailed(DropItem):
    """A page that could not become a post; the message is the one-line reason.  ``post_path``
    names the post it was going to, when a late stage (writing) failed: Scrapy reports a dropped
    item as it entered the pipelines (the Page), not as the stage that dropped it saw it.
    ``blame`` is set only by the stages that judge the page itself (``health.PARSE``,
    ``health.EMPTY``): any other failure -- a full disk, a seen-store error, a bug -- is ours, and
    never makes a source look broken."""

    def __init__(self, message: str, post_path: str = "", blame: str = "") -> None:
        super().__init__(message)
        self.post_path = post_path
        self.blame = blame


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


def _failures() -> Spool[Failure]:
    return Spool(asdict, lambda value: Failure(**value))


# The report's per-page lists: Spools, streamed into the JSON report (keys and order as before).
_SPOOLED = ("failures", "skipped", "posts", "image_failures")


@dataclass
class RunReport:
    command: str = ""
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*OUTCOMES, "skipped", "failed"), 0))
    discovered: int = 0
    failures: Spool[Failure] = field(default_factory=_failures)
    skipped: Spool[Failure] = field(default_factory=_failures)
    posts: Spool[dict[str, str]] = field(default_factory=Spool)  # written (new/updated) posts
    images: dict[str, int] = field(default_factory=dict)  # --download-images: status -> count
    image_failures: Spool[dict[str, str]] = field(default_factory=Spool)
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
        self.listing: IO[str] | None = None  # where --dry-run lists posts (the CLI: stdout)
        self.health = HealthMonitor()  # per-source counts and verdicts (newsmirror.health)
        self.progress = Progress(self)
        self.progress_every: float | None = None  # seconds between plain progress lines

    # -- recording ---------------------------------------------------------------------------

    def done(
        self,
        outcome: str,
        url: str,
        post_path: str,
        requested: str = "",
        final_url: str = "",
        date_source: str = "",
    ) -> None:
        self.counts[outcome] += 1
        if outcome != "unchanged":
            entry = {
                "outcome": outcome,
                "url": url,
                "post": post_path,
                "requested": requested or final_url or url,
                "final_url": final_url or url,
            }
            if date_source:  # which page signal the date came from (newsmirror.provenance)
                entry["date_source"] = date_source
            self.posts.append(entry)
        # every post is named while a run is small; big runs get periodic progress lines instead
        if (
            self.verbose
            or (not self.quiet and self.processed <= LIST_LIMIT)
            or (self.dry_run and outcome != "unchanged")
        ):
            listed = self.dry_run and outcome != "unchanged" and self.listing is not None
            dated = f"  (date: {date_source})" if self.verbose and date_source else ""
            self._print(f"{outcome:<9} {post_path}  <- {url}{dated}", self.listing if listed else None)
        self._progress()

    def fail(
        self, url: str, reason: str, final_url: str = "", post: str = "", source: str = "", kind: str = ""
    ) -> None:
        """*kind* says whose fault it is (see newsmirror.health): the source's, or local if empty."""
        reason = " ".join(str(reason).split()) or "unknown error"
        self.counts["failed"] += 1
        self.failures.append(Failure(url, reason, final_url or url, post))
        self.health.failed(source, kind, url, reason)
        self._print(f"error: {url}: {reason}")
        self._progress()

    def skip(
        self, url: str, reason: str, final_url: str = "", post: str = "", source: str = "", kind: str = ""
    ) -> None:
        self.counts["skipped"] += 1
        self.skipped.append(Failure(url, reason, final_url or url, post))
        if kind in (ENTRY, DISCOVERY):  # an entry point robots.txt forbids gives no articles either
            self.health.failed(source, DISCOVERY, url, reason)
        if self.verbose:
            self._print(f"skipped   {url}: {reason}")
        self._progress()

    def image(self, status: str, url: str, article: str, reason: str = "") -> None:
        """One image of an article: downloaded, uptodate (already in the site) or failed.  A
        failed image is not a failed page: the post keeps the image's original URL."""
        self.images[status] = self.images.get(status, 0) + 1
        if status == "failed":
            self.image_failures.append({"url": url, "reason": reason, "article": article})
            self._print(f"warning: image {url}: {reason} (the post of {article} keeps this URL)")

    # -- output -------------------------------------------------------------------------------

    @property
    def processed(self) -> int:
        return sum(self.counts.values())

    @property
    def exit_code(self) -> int:
        if self.health.broken:
            return 4
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
        images = ""
        if self.images:
            images = "; images: " + ", ".join(f"{n} {status}" for status, n in sorted(self.images.items()))
        return f"{head}{found}{', '.join(parts)} in {self.elapsed():.1f}s{images}{dry}"

    def elapsed(self) -> float:
        return self.duration_s or (time.monotonic() - self._t0)

    def finish(self) -> None:
        self.duration_s = round(time.monotonic() - self._t0, 3)

    def spool_in(self, folder: Path) -> None:
        """Put the entries past the first few in a temporary file in *folder* (the output's
        ``.newsmirror``, beside the reports) rather than the system's temporary folder."""
        for name in _SPOOLED:
            getattr(self, name).folder = folder

    def _fields(self) -> dict[str, Any]:
        """The JSON report's top level; the spooled lists are left as Spools (streamed)."""
        data: dict[str, Any] = {
            "command": self.command,
            "started_at": self.started_at,
            "counts": dict(self.counts),
            "discovered": self.discovered,
            "failures": self.failures,
            "skipped": self.skipped,
            "posts": self.posts,
            "images": dict(self.images),
            "image_failures": self.image_failures,
            "duration_s": self.duration_s,
        }
        if not self.images:
            data.pop("images")
            data.pop("image_failures")
        if self.health.sources:
            data["sources"] = self.health.to_json()
        data["exit_code"] = self.exit_code
        return data

    def to_json(self) -> dict[str, Any]:
        """The whole report as one dict (every entry in memory: for tests and small runs; the
        CLI writes it with :meth:`write_json`, which streams)."""
        return {k: list(v.values()) if isinstance(v, Spool) else v for k, v in self._fields().items()}

    def json_chunks(self) -> Iterator[bytes]:
        """``json.dumps(self.to_json(), ensure_ascii=False, indent=2) + "\\n"``, byte for byte,
        in pieces: one per spooled entry, so no copy of all of them is ever in memory."""
        yield b"{"
        for i, (key, value) in enumerate(self._fields().items()):
            head = ("," if i else "") + "\n  " + json.dumps(key, ensure_ascii=False) + ": "
            if not isinstance(value, Spool):
                yield (head + _indented(value, "\n  ")).encode("utf-8")
            elif not value:
                yield (head + "[]").encode("utf-8")
            else:
                yield (head + "[").encode("utf-8")
                for j, entry in enumerate(value.values()):
                    yield (("," if j else "") + "\n    " + _indented(entry, "\n    ")).encode("utf-8")
                yield b"\n  ]"
        yield b"\n}\n"

    def write_json(self, path: Path) -> bool:
        """Write the report atomically; a full or read-only disk is one error line and a non-zero
        exit code, not a crash (the posts and seen-store rows written before stay valid)."""
        from .atomic import atomic_write_bytes, describe_os_error

        try:
            atomic_write_bytes(path, self.json_chunks())
        except OSError as exc:
            self.write_error = f"cannot write the run report {path}: {describe_os_error(exc)}"
            self._print(f"error: {self.write_error}")
            return False
        return True

    def _print(self, line: str, stream: IO[str] | None = None) -> None:
        stream = stream or self.stream
        if stream is not None:
            self.progress.clear()
            print(line, file=stream, flush=True)

    def _progress(self) -> None:
        """A live line on a terminal; off it, a plain line every few seconds once posts are no
        longer listed one by one."""
        if not self.quiet and self.stream is not None:
            every = PROGRESS_EVERY_S if self.progress_every is None else self.progress_every
            self.progress.update(self.processed > LIST_LIMIT, every)

    def short_counts(self) -> str:
        return ", ".join(f"{v} {k}" for k, v in self.counts.items() if v)


_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) quotes strings with


def _indented(value: Any, newline: str) -> str:
    """*value* as ``json.dumps(indent=2)`` writes it nested: its line breaks carry the depth
    (strings have none of their own: JSON escapes them).  A report entry (a flat dict of
    strings, one per page) is written here directly, the same bytes without json's pure-Python
    indenting encoder; anything else goes to json."""
    if type(value) is dict and value and all(type(k) is str and type(v) is str for k, v in value.items()):
        inner = newline + "  "
        items = ",".join(inner + _string(k) + ": " + _string(v) for k, v in value.items())
        return "{" + items + newline + "}"
    return json.dumps(value, ensure_ascii=False, indent=2).replace("\n", newline)
