"""The reference workloads of ``bench/run.py``, each run in its own subprocess.

    python bench/workers.py floor FOLDER
    python bench/workers.py lexbor FOLDER
    python bench/workers.py lean FOLDER OUT PROCESSES
    python bench/workers.py trafilatura FOLDER [LIMIT]
    python bench/workers.py pipeline FOLDER OUT
    python bench/workers.py stages FOLDER
    python bench/workers.py cpu-split JSON NEWSMIRROR_ARGS...
    python bench/workers.py distributed [ARTICLES] [WORKERS]
    python bench/workers.py scrapy-baseline SITEMAP_URL CONCURRENCY

Every mode walks FOLDER's ``*.html`` files in name order (the order ``newsmirror reprocess``
reads them) and prints one JSON line on stdout: ``{"pages": .., "ok": .., "work_s": ..}`` where
``work_s`` is the time spent on the pages themselves (after the imports).  ``pipeline`` also
gives the outcome counts, so ``run.py`` can check every page became a post.

``stages`` times a worker's stages page by page in one process (CPU time); ``cpu-split`` runs
the ``newsmirror`` command line in this process and writes the CPU seconds of the process itself
and of its reaped children (the extraction workers) to JSON: ``run.py``'s "where the time goes".

``distributed`` (standalone, needs ``redis-server`` on PATH) crawls a loopback site of ARTICLES
copies of the golden page (default 500) twice -- one plain ``crawl``, then ``crawl --redis`` with
WORKERS workers (default 3) -- and prints both wall times and their ratio: what the Redis round
trips, the JSON results and the extra processes cost (or, with cores to spare, gain).
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


def lexbor(folder: Path) -> dict:
    """The faster parser: read every page and parse it once with lexbor (selectolax)."""
    from selectolax.lexbor import LexborHTMLParser

    t0 = time.perf_counter()
    pages = ok = 0
    for path in html_files(folder):
        tree = LexborHTMLParser(path.read_bytes())
        pages += 1
        ok += tree.body is not None
    return {"pages": pages, "ok": ok, "work_s": time.perf_counter() - t0}


# The CSS selections of newsmirror's CNA parser (sites/cna.py), for every era at once.
LEAN_TITLE = "div.centralContent h1, div.news_content_new h1"
LEAN_LEAD = "div.centralContent div.fullPic, div.news_content_new div.box_1"
LEAN_BODY = "div.centralContent div.paragraph, div.news_content_new div.box_2"
LEAN_DATE = 'meta[property="article:published_time"], div.updatetime span, div.news_content_new div.date'


def _lean_one(path: Path, out: Path) -> bool:
    """A throwaway lean path: lexbor parse + the same CSS selections + nh3 + an atomic file
    write (no fsync, no seen-store, no identity or decoding checks, no cleaning rules)."""
    import nh3
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(path.read_bytes())
    canonical = tree.css_first('link[rel="canonical"]') or tree.css_first('meta[property="og:url"]')
    url = (canonical.attributes.get("href") or canonical.attributes.get("content") or "") if canonical else ""
    title = tree.css_first(LEAN_TITLE)
    date = tree.css_first(LEAN_DATE)
    body = tree.css_first(LEAN_BODY)
    if title is None or body is None:
        return False
    parts = [n.html or "" for n in tree.css(LEAN_LEAD)] + [p.html or "" for p in body.css("p")]
    html = nh3.clean("".join(parts))
    when = (date.attributes.get("content") or date.text()) if date else ""
    post = f"---\ntitle: {title.text(strip=True)!r}\ndate: {when}\nfrom: {url}\n---\n<div>{html}</div>\n"
    target = out / (path.stem + ".md")
    tmp = target.with_suffix(".tmp")
    tmp.write_text(post, encoding="utf-8")
    tmp.replace(target)
    return True


def _lean_share(folder: Path, out: Path, processes: int, share: int) -> int:
    return sum(_lean_one(p, out) for p in html_files(folder)[share::processes])


def lean(folder: Path, out: Path, processes: int) -> dict:
    """The lean path over every page, in `processes` forked processes (each takes every
    processes-th file)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import nh3  # noqa: F401 - imported before the fork, as the workers need it
    from selectolax.lexbor import LexborHTMLParser  # noqa: F401

    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if processes == 1:
        ok = _lean_share(folder, out, 1, 0)
    else:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(processes, mp_context=ctx) as pool:
            ok = sum(pool.map(_lean_share, [folder] * processes, [out] * processes,
                              [processes] * processes, range(processes)))
    pages = len(html_files(folder))
    return {"pages": pages, "ok": ok, "work_s": time.perf_counter() - t0}


def scrapy_baseline(sitemap: str, concurrency: int) -> dict:
    """A do-nothing Scrapy SitemapSpider: fetch every URL of the sitemap, parse nothing, write
    nothing, with the settings the crawl benchmark gives ``newsmirror crawl``."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.spiders import SitemapSpider

    class Baseline(SitemapSpider):
        name = "baseline"
        sitemap_urls = [sitemap]

        def parse(self, response):  # noqa: ANN001, ANN201 - Scrapy's API
            return None

    process = CrawlerProcess({
        "LOG_LEVEL": "WARNING", "ROBOTSTXT_OBEY": True, "TELNETCONSOLE_ENABLED": False,
        "CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False,
    })
    crawler = process.create_crawler(Baseline)
    t0 = time.perf_counter()
    process.crawl(crawler)
    process.start()
    responses = crawler.stats.get_value("response_received_count", 0)
    return {"pages": max(0, responses - 2), "ok": responses, "work_s": time.perf_counter() - t0}


def stages(folder: Path) -> dict:
    """CPU time (``time.process_time``) of each stage of a worker's ``extract_chunk``, page by page
    in one process, in reading order, on bare files as ``reprocess`` hands them to its workers (a
    path and the run's fingerprint, so the worker reads the file and keys its bytes): the calls
    ``newsmirror.extraction`` and ``newsmirror.sites.extract`` make, timed apart.  Then
    ``extract_chunk`` itself over the same files in chunks of 8; ``rest`` is the whole minus the
    timed stages (the identity and date checks, the Article, the rendered post: small, and the
    difference of two passes, so near the noise).  An untimed first pass warms the page cache and
    the CPU's caches.  Seconds per page."""
    from newsmirror.clean import clean_body, lead_figure
    from newsmirror.document import PageDocument
    from newsmirror.extraction import extract_chunk, read_input_file
    from newsmirror.inputs import run_fingerprint
    from newsmirror.items import Page
    from newsmirror.sites import _parser_and_tree
    from newsmirror.sites.base import read_meta

    uris = [(str(p), p.resolve().as_uri()) for p in html_files(folder)]
    fingerprint = run_fingerprint(None, "id", "html", False)  # reprocess's defaults
    clock = time.process_time

    def whole() -> tuple[float, int]:
        t0, ok = clock(), 0
        for i in range(0, len(uris), 8):  # as the pool hands them out: chunks of 8
            chunk = [Page(url=uri, body=b"", file=path) for path, uri in uris[i:i + 8]]
            results = extract_chunk(chunk, None, "html", fingerprint)
            ok += sum(1 for article, _ in results if article is not None)
        return clock() - t0, ok

    whole()
    names = ("read and key the file", "lexbor parse (with the UTF-8 check)", "meta",
             "container (the parser's choice, libxml2's parse of the block)", "fields", "clean",
             "lead figure")
    spent = dict.fromkeys(names, 0.0)
    t_start = time.perf_counter()
    for path, uri in uris:
        page = Page(url=uri, body=b"", file=path)
        t0 = clock()
        read_input_file(page, fingerprint)
        t1 = clock()
        document = PageDocument(page.body, page.encoding)
        t2 = clock()
        meta = read_meta(document, page.url)
        t3 = clock()
        parser, doc = _parser_and_tree(page, document, meta)
        t4 = clock()
        fields = parser.parse(doc, meta, page.url)
        t5 = clock()
        body_html = clean_body(fields["body_html"], fields["url"])
        t6 = clock()
        lead_figure(body_html)
        t7 = clock()
        times = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6)
        for name, seconds in zip(names, times, strict=True):
            spent[name] += seconds
    seconds, ok = whole()
    n = len(uris)
    per_page = {name: spent_s / n for name, spent_s in spent.items()}
    per_page["rest (checks, the Article, the post)"] = max(0.0, seconds / n - sum(per_page.values()))
    return {"pages": n, "ok": ok, "work_s": time.perf_counter() - t_start,
            "extract_chunk_s_per_page": seconds / n, "stages_s_per_page": per_page}


def cpu_split(out: Path, args: list[str]) -> int:
    """``newsmirror ARGS`` in this process; then the CPU seconds (user + system) of this process
    and of its reaped children -- the extraction workers, joined before the command returns --
    to ``out`` as JSON.  Returns the command's exit code."""
    import resource

    from newsmirror.commands import entry_point

    sys.argv = ["newsmirror", *args]
    code = entry_point()
    own, workers = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    out.write_text(json.dumps({"main_cpu_s": own.ru_utime + own.ru_stime,
                               "workers_cpu_s": workers.ru_utime + workers.ru_stime, "exit_code": code}))
    return code


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
    from newsmirror.spiders.cache import CacheSpider
    from newsmirror.state import SeenStore, default_state_path
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


def distributed(articles: int = 500, workers: int = 3) -> dict:
    """One plain crawl and one coordinator + workers crawl of the same loopback site."""
    import os
    import socket
    import subprocess
    import tempfile

    repo = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(repo / "tests"))
    from loopback import LoopbackSite

    golden = (repo / "tests/fixtures/seed/202309110310.reconstructed.html").read_text(encoding="utf-8")
    fast = ["-q", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
            "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"]
    env = dict(os.environ, PYTHONPATH=str(repo))
    with tempfile.TemporaryDirectory() as tmp, LoopbackSite() as site:
        folder = Path(tmp)
        paths = []
        for i in range(articles):
            aid = f"20230912{i:04d}"
            site.add(f"/news/aopl/{aid}.aspx", golden.replace("202309110310", aid))
            paths.append(f"/news/aopl/{aid}.aspx")
        urls = "".join(f"<url><loc>{site.url(p)}</loc></url>" for p in paths)
        site.add("/sitemap.xml", '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                 f"{urls}</urlset>", content_type="application/xml")
        sources = folder / "sources.toml"
        sources.write_text(f'[[source]]\nname = "cna"\nlabel = "CNA"\nparser = "cna"\n'
                           f'sitemaps = ["{site.url("/sitemap.xml")}"]\nallow_domains = ["127.0.0.1"]\n')
        cli = [sys.executable, "-m", "newsmirror"]

        t0 = time.perf_counter()
        subprocess.run([*cli, "crawl", "--sources", str(sources), "-o", str(folder / "plain"), *fast],
                       env=env, check=True, timeout=1800)
        plain_s = time.perf_counter() - t0

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp,
                                  "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
                                 stdout=subprocess.DEVNULL)
        try:
            url = f"redis://127.0.0.1:{port}/0"
            time.sleep(0.5)
            t0 = time.perf_counter()
            coordinator = subprocess.Popen([*cli, "crawl", "--sources", str(sources), "--redis", url,
                                            "-o", str(folder / "distributed"), *fast], env=env)
            procs = [subprocess.Popen([*cli, "worker", "--redis", url, "--idle-timeout", "1", *fast], env=env)
                     for _ in range(workers)]
            coordinator.wait(timeout=1800)
            distributed_s = time.perf_counter() - t0
            for proc in procs:
                proc.wait(timeout=120)
        finally:
            redis.terminate()
            redis.wait(timeout=30)
        posts = [len(list((folder / name / "_posts").glob("*.md"))) for name in ("plain", "distributed")]
        if posts != [articles, articles]:
            raise SystemExit(f"a crawl did not write every article: {posts}")
    return {"pages": articles, "ok": posts[1], "workers": workers, "plain_s": round(plain_s, 2),
            "work_s": round(distributed_s, 2), "distributed_over_plain": round(distributed_s / plain_s, 3)}


def main(argv: list[str]) -> int:
    if argv and argv[0] == "distributed":
        print(json.dumps(distributed(*(int(a) for a in argv[1:3]))))
        return 0
    if len(argv) > 2 and argv[0] == "cpu-split":
        return cpu_split(Path(argv[1]), argv[2:])
    modes = ("floor", "lexbor", "lean", "trafilatura", "pipeline", "scrapy-baseline", "stages")
    if len(argv) < 2 or argv[0] not in modes:
        print(__doc__, file=sys.stderr)
        return 2
    mode = argv[0]
    if mode == "scrapy-baseline":
        result = scrapy_baseline(argv[1], int(argv[2]))
    elif mode == "floor":
        result = floor(Path(argv[1]))
    elif mode == "lexbor":
        result = lexbor(Path(argv[1]))
    elif mode == "lean":
        result = lean(Path(argv[1]), Path(argv[2]), int(argv[3]))
    elif mode == "trafilatura":
        result = trafilatura_(Path(argv[1]), int(argv[2]) if len(argv) > 2 else None)
    elif mode == "stages":
        result = stages(Path(argv[1]))
    else:
        result = pipeline(Path(argv[1]), Path(argv[2]))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
