"""The reference workloads of ``bench/run.py``, each run in its own subprocess.

    python bench/workers.py floor FOLDER
    python bench/workers.py trafilatura FOLDER [LIMIT]
    python bench/workers.py pipeline FOLDER OUT

Every mode walks FOLDER's ``*.html`` files in name order (the order ``newsmirror reprocess``
reads them) and prints one JSON line on stdout: ``{"pages": .., "ok": .., "work_s": ..}`` where
``work_s`` is the time spent on the pages themselves (after the imports).  ``pipeline`` also
gives the outcome counts, so ``run.py`` can check every page became a post.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def html_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.html") if not p.name.startswith("."))


def floor(folder: Path) -> dict:
    """The unavoidable cost: read every page and parse it once with lxml."""
    import lxml.html

    t0 = time.perf_counter()
    pages = ok = 0
    for path in html_files(folder):
        doc = lxml.html.document_fromstring(path.read_bytes())
        pages += 1
        ok += doc is not None
    return {"pages": pages, "ok": ok, "work_s": time.perf_counter() - t0}


def trafilatura_(folder: Path, limit: int | None = None) -> dict:
    """The common extractor on the same bytes, default settings: extraction only, nothing is
    written.  With `limit`, only the first `limit` pages (run.py's corpus cycles through its
    templates in name order, so a prefix has the same mix of pages as the whole)."""
    import trafilatura

    t0 = time.perf_counter()
    pages = ok = 0
    for path in html_files(folder)[:limit]:
        out = trafilatura.extract(path.read_bytes(), output_format="html", include_images=True)
        pages += 1
        ok += bool(out)
    return {"pages": pages, "ok": ok, "work_s": time.perf_counter() - t0}


def pipeline(folder: Path, output: Path) -> dict:
    """``newsmirror reprocess`` without Scrapy: the same store reader, Page items, pipeline chain
    and on-disk seen-store, called in a plain loop (as tests/helpers.py ``write_through`` does)."""
    from scrapy.exceptions import DropItem

    from newsmirror.pipelines import CleanPipeline, DedupePipeline, ExtractPipeline, WritePipeline
    from newsmirror.runtime import default_state_path
    from newsmirror.spiders.cache import CacheSpider
    from newsmirror.state import SeenStore
    from newsmirror.stores import iter_stored_pages

    class Spider(CacheSpider):  # only for to_page(); failures/skips are counted here
        def report_failure(self, url: str, reason: str) -> None:
            counts["failed"] += 1

        def report_skip(self, url: str, reason: str) -> None:
            counts["skipped"] += 1

    counts = {"new": 0, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}
    t0 = time.perf_counter()
    spider = Spider(paths=[folder])
    store = SeenStore(default_state_path(output))
    try:
        write = WritePipeline(store, output)
        write.open_spider()
        chain = [ExtractPipeline(), CleanPipeline(), DedupePipeline(store, output), write]
        for record in iter_stored_pages(folder):
            item = spider.to_page(record)
            if item is None:
                continue
            try:
                for stage in chain:
                    item = stage.process_item(item)
            except DropItem:
                counts["failed"] += 1
                continue
            counts[item.outcome] += 1
    finally:
        store.close()
    pages = sum(counts.values())
    ok = counts["new"] + counts["updated"] + counts["unchanged"]
    return {"pages": pages, "ok": ok, "counts": counts, "work_s": time.perf_counter() - t0}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("floor", "trafilatura", "pipeline"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, folder = argv[0], Path(argv[1])
    if mode == "floor":
        result = floor(folder)
    elif mode == "trafilatura":
        result = trafilatura_(folder, int(argv[2]) if len(argv) > 2 else None)
    else:
        result = pipeline(folder, Path(argv[2]))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
