"""Shared test helpers: run the pipelines offline, run the CLI in a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from newsmirror.items import Article, Page
from newsmirror.pipelines import (
    CleanPipeline,
    DedupePipeline,
    ExtractPipeline,
    SkipUnchangedPipeline,
    WritePipeline,
)
from newsmirror.state import SeenStore

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Loopback tests must not wait on politeness delays meant for the real site.
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_TIMES=1"]


def page(path: Path | str, url: str | None = None, label: str | None = None) -> Page:
    path = Path(path)
    return Page(url=url or path.resolve().as_uri(), body=path.read_bytes(), origin=str(path), label=label)


def article_from(path: Path | str, url: str | None = None) -> Article:
    """Extract + clean one saved page (no state, no writing)."""
    item = ExtractPipeline().process_item(page(path, url))
    return CleanPipeline().process_item(item)


def write_through(items: list[Page], output: Path, store: SeenStore | None = None, **kw) -> list[Article]:
    """Run the whole pipeline chain on pages, as Scrapy would, without Scrapy."""
    store = SeenStore.memory() if store is None else store  # an empty store is falsy (__len__)
    input_key = kw.pop("input_key", None)  # a callable Page -> str enables the skip stage
    chain = [ExtractPipeline(), CleanPipeline(), DedupePipeline(store, output, kw.pop("filename_style", "id")),
             WritePipeline(store, output, **kw)]
    if input_key is not None:
        chain.insert(0, SkipUnchangedPipeline(store, output, input_key))
    out = []
    for item in items:
        for stage in chain:
            item = stage.process_item(item)
        out.append(item)
    return out


def paragraphs(body_html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", p) for p in re.findall(r"<p>(.*?)</p>", body_html)]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "newsmirror", *args], cwd=cwd or REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
