"""Per-run shared state: output folder, options, seen-store and report.

Scrapy builds pipelines, extensions and spiders separately; they all reach the same
:class:`Runtime` through ``Runtime.of(crawler)``, which builds it once from the settings.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy import signals

from .inputs import FileRead, content_key, read_file, run_fingerprint, stat_keys
from .items import Page
from .report import RunReport
from .state import SeenStore, default_state_path
from .writer import BODY_FORMATS, FILENAME_STYLES


def _standalone_report() -> RunReport:
    """Under plain ``scrapy crawl`` there is no CLI to print errors and the summary: the report
    prints its one-line errors to stderr itself, and the summary when the spider closes."""
    report = RunReport(command="scrapy crawl")
    report.stream = sys.stderr
    report.summary_on_close = True
    return report


@dataclass
class Runtime:
    output: Path
    label: str | None
    filename_style: str
    body_format: str
    dry_run: bool
    show_diff: bool
    state_path: Path | None
    report: RunReport
    exclusive: bool = False  # this process holds the output's run lock
    download_images: bool = False  # --download-images: the post's image URLs point into the site
    _store: SeenStore | None = None
    _fingerprint: str = ""

    @classmethod
    def of(cls, crawler: Any) -> Runtime:
        runtime = getattr(crawler, "_newsmirror_runtime", None)
        if runtime is None:
            runtime = cls.from_settings(crawler.settings, getattr(crawler, "newsmirror_report", None))
            crawler._newsmirror_runtime = runtime
            crawler.signals.connect(runtime.spider_closed, signal=signals.spider_closed)
        return runtime

    @classmethod
    def from_settings(cls, settings: Any, report: RunReport | None = None) -> Runtime:
        output = Path(settings.get("NEWSMIRROR_OUTPUT") or "output")
        filename_style = settings.get("NEWSMIRROR_FILENAME", "id")
        body_format = settings.get("NEWSMIRROR_BODY", "html")
        if filename_style not in FILENAME_STYLES:
            raise ValueError(f"NEWSMIRROR_FILENAME must be one of {FILENAME_STYLES}")
        if body_format not in BODY_FORMATS:
            raise ValueError(f"NEWSMIRROR_BODY must be one of {BODY_FORMATS}")
        state = settings.get("NEWSMIRROR_STATE")
        return cls(
            output=output,
            label=settings.get("NEWSMIRROR_LABEL") or None,
            filename_style=filename_style,
            body_format=body_format,
            dry_run=settings.getbool("NEWSMIRROR_DRY_RUN"),
            show_diff=settings.getbool("NEWSMIRROR_DIFF"),
            state_path=Path(state) if state else default_state_path(output),
            report=report or _standalone_report(),
            exclusive=settings.getbool("NEWSMIRROR_EXCLUSIVE"),
            download_images=settings.getbool("NEWSMIRROR_DOWNLOAD_IMAGES"),
        )

    @property
    def store(self) -> SeenStore:
        if self._store is None:
            fresh = self.state_path is None or not self.state_path.exists()
            # a dry run reads an existing store but must not create one
            self._store = SeenStore.memory() if fresh and self.dry_run else SeenStore(self.state_path)
        return self._store

    @property
    def fingerprint(self) -> str:
        """This newsmirror's code, output libraries and options: the part every input key shares
        (handed to the extraction workers, which key the bare files they read)."""
        if not self._fingerprint:
            self._fingerprint = run_fingerprint(
                self.label, self.filename_style, self.body_format, self.download_images
            )
        return self._fingerprint

    def input_key(self, page: Page) -> str:
        """Identifies an input *and* everything that shapes its post: the page's URL, label,
        declared encoding and bytes, this newsmirror's code, the output libraries' versions and
        the output options.  XXH3-128, not SHA-256: the skip stage hashes every page's bytes
        (~180 KiB) on the one reactor thread, 0.004 ms instead of 0.13.  A key only names an
        input (a chance collision, 2^-128, would keep an old post; a post is still checked
        against its SHA-256 ``content_hash``).

        A bare file whose bytes are not read yet (``page.file``) has no key here: the extraction
        that reads it makes it, and the skip stage knows it by :meth:`stat_keys`."""
        if page.unread_file:
            return ""
        return content_key(self.fingerprint, page, page.body)

    def stat_keys(self, page: Page) -> tuple[str, str]:
        """A bare file's trusted and settling stat keys (:mod:`newsmirror.inputs`): one stat."""
        return stat_keys(self.fingerprint, page)

    def read_file(self, page: Page) -> FileRead | None:
        """A bare file read in this process (a settling file's check; None: cannot read)."""
        try:
            return read_file(self.fingerprint, page)
        except OSError:
            return None

    def spider_closed(self, spider: Any = None, reason: str = "") -> None:
        self.close()
        if getattr(self.report, "summary_on_close", False):
            self.report.finish()
            print(self.report.summary(), file=sys.stderr)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
