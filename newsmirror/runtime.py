"""Per-run shared state: output folder, options, seen-store and report.

Scrapy builds pipelines, extensions and spiders separately; they all reach the same
:class:`Runtime` through ``Runtime.of(crawler)``, which builds it once from the settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy import signals

from .report import RunReport
from .state import SeenStore
from .writer import BODY_FORMATS, FILENAME_STYLES

STATE_DIR = ".newsmirror"


def default_state_path(output: Path) -> Path:
    return output / STATE_DIR / "state.sqlite"


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
    _store: SeenStore | None = None

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
            report=report or RunReport(),
        )

    @property
    def store(self) -> SeenStore:
        if self._store is None:
            fresh = self.state_path is None or not self.state_path.exists()
            # a dry run reads an existing store but must not create one
            self._store = SeenStore.memory() if fresh and self.dry_run else SeenStore(self.state_path)
        return self._store

    def spider_closed(self, spider: Any = None, reason: str = "") -> None:
        self.close()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
