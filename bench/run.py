"""Speed and memory of ``newsmirror reprocess`` and ``crawl``, as ratios against references measured
in the same run (issue 11's goals).

    python bench/run.py              # reprocess at 1 000 and 5 000 pages, crawl of 1 000 articles (~2 min)
    python bench/run.py --full       # also reprocess 20 000 pages (peak RSS)
    python bench/run.py --quick      # small sizes for CI (~30 s); goals only warn
    python bench/run.py --check      # exit 1 when a goal is missed (see GOALS, bench/README.md)
    python bench/run.py --profile    # also: one extra cold reprocess under cProfile, top functions

Every workload runs in its own subprocess with this interpreter (``sys.executable``); wall time,
CPU time and peak RSS are those of that subprocess (``os.wait4``: CPU of it and its reaped
children together, RSS the largest of them), interpreter start and imports included.  Where the
CPU of a reprocess goes (its main process, its workers, a worker's stages) is measured after the
timed runs, in two more (``cpu-split`` and ``stages`` in ``workers.py``).  Prints a Markdown table; writes
``bench/results/latest.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
FIXTURES = REPO / "tests" / "fixtures"
WORKERS = BENCH / "workers.py"
RESULTS = BENCH / "results"
TIMEOUT_S = 900  # per subprocess; a run that takes longer is broken, not slow

CRAWL_CONCURRENCY = 16  # newsmirror crawl and the do-nothing spider alike
SIZES = {  # small, big, huge (RSS only), trafilatura pages, crawl articles
    "default": (1000, 5000, 0, 96, 1000),
    "full": (1000, 5000, 20000, 96, 1000),
    "quick": (100, 300, 0, 16, 150),
}
GOALS_MIN_PAGES = 1000  # below this, start-up dominates: --check only warns

# issue 11's goals, as ratios measured in the same run
GOALS: dict[str, tuple[str, float]] = {
    "reprocess_vs_lxml": (">=", 1.0),  # 1 000 pages end to end vs. a bare lxml parse, pages/s
    "reprocess_vs_trafilatura": (">=", 20.0),  # pages/s vs. trafilatura.extract
    "reprocess_big_vs_lean_2": (">=", 0.6),  # 5 000 pages vs. the lean two-process lexbor path
    "crawl_vs_scrapy": (">=", 0.8),  # pages/s vs. a do-nothing Scrapy spider, same concurrency
    "crawl_rerun_article_fetches": ("<=", 0),  # an unchanged re-run fetches only the sitemap
    "reprocess_warm_vs_cold": ("<=", 0.3),  # an unchanged re-run of reprocess, start-up taken off
    "rss_growth_big_mib": ("<=", 30.0),  # memory stays flat: 5 000 pages vs. 1 000
    "rss_growth_huge_mib": ("<=", 50.0),  # 20 000 pages vs. 1 000 (--full)
}


# -- corpus -----------------------------------------------------------------------------------


def template_pages() -> list[tuple[Path, str]]:
    """The real article pages and their 12-digit article ids (list page and expired pages left out);
    a page's CNA category is in its name (cna-YEAR-CATEGORY-ID.html; the seed page is aopl)."""
    out = []
    seed = FIXTURES / "seed" / "202309110310.reconstructed.html"
    candidates = [*sorted((FIXTURES / "cna").glob("*.html")), seed]
    for path in candidates:
        if "-list-" in path.name or path.name.endswith("-expired.html"):
            continue
        match = re.search(r"(?<!\d)(\d{12})(?!\d)", path.name)
        if not match:
            raise SystemExit(f"bench: no article id in fixture name {path.name}")
        out.append((path, match.group(1)))
    if not out:
        raise SystemExit(f"bench: no fixture pages under {FIXTURES}")
    return out


def build_corpus(folder: Path, pages: int) -> dict[str, Any]:
    """Write `pages` copies of the fixture pages into `folder`, each with its own article id.

    A copy replaces its template's id everywhere in the page (og:url, canonical, article URL...)
    with a new id of the same date prefix (YYYYMMDD + a 4-digit serial; the next day's prefix
    after 10 000 copies), so every copy is a
    distinct article and post.  New ids never equal any 12-digit number found in a template.
    """
    templates = [(path, old, path.read_bytes()) for path, old in template_pages()]
    manifest: list[list[str]] = []
    taken = {m for _, _, data in templates for m in re.findall(rb"(?<!\d)\d{12}(?!\d)", data)}
    serial: dict[str, int] = {}
    folder.mkdir(parents=True, exist_ok=True)
    total_bytes = 0
    for i in range(pages):
        _path, old, data = templates[i % len(templates)]
        prefix = old[:8]
        n = serial.get(prefix, 0)
        while True:
            # past 10 000 copies of one prefix, the next day's prefix (only the id has it: the
            # post's date comes from the page); no template has an id of the next days
            new = f"{int(prefix) + n // 10000:08d}{n % 10000:04d}"
            n += 1
            if new.encode() not in taken:
                break
        serial[prefix] = n
        body = data.replace(old.encode(), new.encode())
        name = f"{i:06d}-{new}.html"
        (folder / name).write_bytes(body)
        category = _path.name.split("-")[2] if _path.name.startswith("cna-") else "aopl"
        manifest.append([name, category, new])
        total_bytes += len(body)
    return {
        "pages": pages,
        "templates": [p.relative_to(REPO).as_posix() for p, _, _ in templates],
        "corpus_mib": round(total_bytes / 2**20, 1),
        "manifest": manifest,
    }


# -- running one measurement ------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    peak_rss_mib: float
    stdout: str
    stderr: str
    cpu_s: float = 0.0  # user + system of the process and the children it reaped (its workers)


def run_measured(cmd: list[str], cwd: Path) -> Run:
    """Run `cmd` to completion; its wall time, its CPU time with that of the children it reaped,
    and its own peak RSS (not its parent's)."""
    # PYTHONPATH: measure the newsmirror of this checkout, not whichever one is installed
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONWARNINGS="ignore", PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=path)
    # Start every workload with no dirty pages of earlier ones (the corpus, their outputs): the
    # write stage's syncfs would otherwise wait for them (bench/README.md, "Durability").
    os.sync()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        timer = threading.Timer(TIMEOUT_S, _kill, (proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} exited {proc.returncode}\n{stderr[-3000:]}")
    # ru_maxrss is KiB on Linux, bytes on macOS
    rss = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    return Run(seconds, rss, stdout, stderr, usage.ru_utime + usage.ru_stime)


def compile_checkout() -> None:
    """Compile this checkout's modules once (into their git-ignored ``__pycache__``), as pip
    does for an installed newsmirror: the workloads run with PYTHONDONTWRITEBYTECODE, and
    without bytecode each would compile ~60 modules from source (~60 ms of its start-up)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "newsmirror"), str(BENCH)],
                   check=True, stdout=subprocess.DEVNULL, timeout=TIMEOUT_S)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def newsmirror_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "newsmirror", *args]


def worker_cmd(*args: str) -> list[str]:
    return [sys.executable, str(WORKERS), *args]


def last_report(output: Path, command: str) -> dict[str, Any]:
    runs = sorted((output / ".newsmirror" / "runs").glob(f"*-{command}.json"))
    if not runs:
        raise SystemExit(f"bench: {command} wrote no run report under {output}")
    return json.loads(runs[-1].read_text(encoding="utf-8"))


def expect(what: str, got: dict[str, int], **want: int) -> None:
    """A benchmark of a run that did not do the job measures nothing: stop."""
    wrong = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    if wrong:
        detail = ", ".join(f"{k}={g} (expected {w})" for k, (g, w) in wrong.items())
        raise SystemExit(f"bench: {what}: {detail}; counts {got}")


# -- the benchmark ----------------------------------------------------------------------------


@dataclass
class Series:
    name: str
    description: str
    pages: int = 0  # pages each run handles (0: none, the start-up measurement)
    runs: list[Run] = field(default_factory=list)
    in_process_s: list[float] = field(default_factory=list)

    def add(self, run: Run, in_process_s: float | None = None) -> None:
        self.runs.append(run)
        if in_process_s is not None:
            self.in_process_s.append(in_process_s)

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def rss(self) -> float:
        return statistics.median(r.peak_rss_mib for r in self.runs)

    @property
    def rate(self) -> float:
        return self.pages / self.seconds

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu_s for r in self.runs)

    def summary(self) -> dict[str, Any]:
        out = {
            "description": self.description,
            "pages": self.pages,
            "median_s": round(self.seconds, 3),
            "pages_per_s": round(self.rate, 1) if self.pages else None,
            "peak_rss_mib": round(self.rss, 1),
            "median_cpu_s": round(self.cpu, 3),
            "runs_s": [round(r.seconds, 3) for r in self.runs],
            "runs_peak_rss_mib": [round(r.peak_rss_mib, 1) for r in self.runs],
        }
        if self.in_process_s:
            out["in_process_median_s"] = round(statistics.median(self.in_process_s), 3)
        return out


@dataclass
class Sizes:
    small: int  # reprocess "1 000 pages": against lxml and trafilatura
    big: int  # reprocess "5 000 pages": against the lean two-process path
    huge: int  # peak RSS only (0: not measured)
    traf: int  # pages given to trafilatura (a same-mix prefix, compared per page)
    crawl: int  # articles on the loopback site
    jobs: int | None  # reprocess/crawl --jobs (None: the default, the CPU count)


def subset(corpus: Path, scratch: Path, n: int) -> Path:
    """The first n pages of the corpus (the same mix of templates), as hard links."""
    folder = scratch / f"corpus-{n}"
    if not folder.exists():
        folder.mkdir()
        for path in sorted(corpus.glob("*.html"))[:n]:
            os.link(path, folder / path.name)
    return folder


def reprocess(
    series: Series, corpus: Path, out: Path, scratch: Path, jobs: int | None, warm: bool = False
) -> Run:
    extra = ["--jobs", str(jobs)] if jobs else []
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "_posts").glob("*.md")} if warm else {}
    run = run_measured(newsmirror_cmd("reprocess", str(corpus), "-o", str(out), "-q", *extra), scratch)
    report = last_report(out, "reprocess")
    n = series.pages
    want = {"new": 0, "unchanged": n} if warm else {"new": n, "unchanged": 0}
    expect(f"{series.name}", report["counts"], updated=0, skipped=0, failed=0, **want)
    posts = list((out / "_posts").glob("*.md"))
    expect(series.name, {"posts": len(posts)}, posts=n)
    if warm:
        rewritten = sum(1 for p in posts if mtimes.get(p.name) != p.stat().st_mtime_ns)
        expect(series.name, {"rewritten": rewritten}, rewritten=0)
    series.add(run, report["duration_s"])
    return run


def crawl_settings(concurrency: int) -> list[str]:
    return ["-s", f"CONCURRENT_REQUESTS={concurrency}", "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}",
            "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]


@contextlib.contextmanager
def loopback_site(manifest: Path, scratch: Path) -> Any:
    port_file = scratch / "site.port"
    port_file.unlink(missing_ok=True)  # a repeat's server must not be found at the last one's port
    proc = subprocess.Popen([sys.executable, str(BENCH / "site_server.py"), str(manifest), str(port_file)],
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not port_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("bench: the loopback site did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text().strip()}"
    finally:
        proc.kill()
        proc.wait(timeout=30)


def site_stats(base: str) -> dict[str, int]:
    from urllib.request import urlopen

    with urlopen(f"{base}/_stats", timeout=30) as reply:
        return json.loads(reply.read())


def measure(corpus: Path, manifest: list[list[str]], scratch: Path, sizes: Sizes, repeat: int,
            log: Any) -> dict[str, Series]:
    small, big = subset(corpus, scratch, sizes.small), subset(corpus, scratch, sizes.big)
    s = {
        "startup": Series("startup", "newsmirror reprocess of an empty folder: interpreter, imports, "
                                     "Scrapy engine start/stop (fixed cost)"),
        "lxml": Series("lxml", "read each file + lxml.html.document_fromstring, 1 process", sizes.small),
        "lexbor": Series("lexbor", "read each file + selectolax LexborHTMLParser, 1 process", sizes.small),
        "trafilatura": Series("trafilatura", "trafilatura.extract(bytes, output_format='html', "
                                             "include_images=True), on a same-mix prefix", sizes.traf),
        "reprocess_small": Series("reprocess_small", "newsmirror reprocess, OUT empty, end to end",
                                  sizes.small),
        "reprocess_warm": Series("reprocess_warm", "the same again into the same OUT (all unchanged)",
                                 sizes.small),
        "lean_1": Series("lean_1", "lean path (lexbor + the same CSS selections + nh3 + file write), "
                                   "1 process", sizes.big),
        "lean_2": Series("lean_2", "the same lean path, 2 processes", sizes.big),
        "reprocess_big": Series("reprocess_big", "newsmirror reprocess, OUT empty, end to end", sizes.big),
        "scrapy_baseline": Series("scrapy_baseline", "do-nothing Scrapy SitemapSpider over the loopback "
                                                     "site, same concurrency", sizes.crawl),
        "crawl": Series("crawl", "newsmirror crawl --sitemap of the loopback site, OUT empty", sizes.crawl),
        "crawl_rerun": Series("crawl_rerun", "the same crawl again (nothing changed)", sizes.crawl),
    }
    if sizes.huge:
        s["reprocess_huge"] = Series("reprocess_huge", "newsmirror reprocess, OUT empty (peak RSS)",
                                     sizes.huge)
    empty = scratch / "empty"
    empty.mkdir(exist_ok=True)
    site_manifest = scratch / "site.json"
    site_manifest.write_text(json.dumps({"folder": str(corpus), "pages": manifest[: sizes.crawl]}))
    rerun_fetches: list[int] = []
    # Outputs stay until the whole run is over (the scratch folder goes then): on ext4, files
    # created within seconds of deleting thousands can take the kernel's slow path for recently
    # deleted inodes (perf: ext4_create -> recently_deleted), which charged whichever workload
    # followed a deletion (up to ~0.35 ms a post on the bench machine).
    for r in range(1, repeat + 1):
        log(f"repeat {r}/{repeat}")

        def one(name: str, run: Run) -> None:
            log(f"  {name:<16} {run.seconds:7.2f} s  {run.peak_rss_mib:6.1f} MiB")

        out = scratch / f"startup-{r}"
        run = run_measured(newsmirror_cmd("reprocess", str(empty), "-o", str(out), "-q"), scratch)
        s["startup"].add(run, last_report(out, "reprocess")["duration_s"])
        shutil.rmtree(out)
        one("startup", run)

        for name, mode in (("lxml", "floor"), ("lexbor", "lexbor")):
            run = run_measured(worker_cmd(mode, str(small)), scratch)
            result = json.loads(run.stdout)
            expect(name, result, pages=sizes.small, ok=sizes.small)
            s[name].add(run, result["work_s"])
            one(name, run)

        run = run_measured(worker_cmd("trafilatura", str(small), str(sizes.traf)), scratch)
        result = json.loads(run.stdout)
        expect("trafilatura", result, pages=sizes.traf)
        s["trafilatura"].add(run, result["work_s"])
        one("trafilatura", run)

        out = scratch / f"out-small-{r}"
        one("reprocess_small", reprocess(s["reprocess_small"], small, out, scratch, sizes.jobs))
        one("reprocess_warm", reprocess(s["reprocess_warm"], small, out, scratch, sizes.jobs, warm=True))

        for procs in (1, 2):
            out = scratch / f"lean-{procs}-{r}"
            run = run_measured(worker_cmd("lean", str(big), str(out), str(procs)), scratch)
            result = json.loads(run.stdout)
            expect(f"lean_{procs}", result, pages=sizes.big, ok=sizes.big)
            s[f"lean_{procs}"].add(run, result["work_s"])
            one(f"lean_{procs}", run)

        out = scratch / f"out-big-{r}"
        one("reprocess_big", reprocess(s["reprocess_big"], big, out, scratch, sizes.jobs))

        if sizes.huge:
            out = scratch / f"out-huge-{r}"
            one("reprocess_huge", reprocess(s["reprocess_huge"], corpus, out, scratch, sizes.jobs))

        with loopback_site(site_manifest, scratch) as base:
            sitemap = f"{base}/sitemap.xml"
            run = run_measured(worker_cmd("scrapy-baseline", sitemap, str(CRAWL_CONCURRENCY)), scratch)
            result = json.loads(run.stdout)
            expect("scrapy_baseline", result, pages=sizes.crawl)
            s["scrapy_baseline"].add(run, result["work_s"])
            one("scrapy_baseline", run)

            out = scratch / f"crawl-{r}"
            extra = ["--jobs", str(sizes.jobs)] if sizes.jobs else []
            cmd = newsmirror_cmd("crawl", "--sitemap", sitemap, "-o", str(out), "-q",
                                 *crawl_settings(CRAWL_CONCURRENCY), *extra)
            before = site_stats(base)
            run = run_measured(cmd, scratch)
            report = last_report(out, "crawl")
            expect("crawl", report["counts"], new=sizes.crawl, failed=0)
            fetched = site_stats(base)["article"] - before["article"]
            expect("crawl", {"article fetches": fetched}, **{"article fetches": sizes.crawl})
            s["crawl"].add(run, report["duration_s"])
            one("crawl", run)

            before = site_stats(base)
            run = run_measured(cmd, scratch)
            report = last_report(out, "crawl")
            expect("crawl_rerun", report["counts"], new=0, updated=0, failed=0)
            rerun_fetches.append(site_stats(base)["article"] - before["article"])
            s["crawl_rerun"].add(run, report["duration_s"])
            one("crawl_rerun", run)
    s["crawl_rerun"].rerun_fetches = rerun_fetches  # type: ignore[attr-defined]
    return s


def ratios(s: dict[str, Series]) -> dict[str, float]:
    """The ratios of the medians (what --check compares with GOALS)."""
    rss = {k: s[k].rss for k in ("reprocess_small", "reprocess_big", "reprocess_huge") if k in s}
    out = {
        # pages/s of the whole command (start-up included) / pages/s of a bare lxml parse
        "reprocess_vs_lxml": s["reprocess_small"].rate / s["lxml"].rate,
        "reprocess_vs_trafilatura": s["reprocess_small"].rate / s["trafilatura"].rate,
        "reprocess_big_vs_lean_2": s["reprocess_big"].rate / s["lean_2"].rate,
        "crawl_vs_scrapy": s["crawl"].rate / s["scrapy_baseline"].rate,
        "crawl_rerun_article_fetches": max(s["crawl_rerun"].rerun_fetches),  # type: ignore[attr-defined]
        # beyond the fixed start-up both pay (at 1 000 pages it is most of the warm run)
        # (clamped: at --quick sizes the noise of the start-up is larger than the work)
        "reprocess_warm_vs_cold": max(0.0, s["reprocess_warm"].seconds - s["startup"].seconds)
        / max(0.01, s["reprocess_small"].seconds - s["startup"].seconds),
        "rss_growth_big_mib": rss["reprocess_big"] - rss["reprocess_small"],
    }
    if "reprocess_huge" in rss:
        out["rss_growth_huge_mib"] = rss["reprocess_huge"] - rss["reprocess_small"]
    # informational
    out["reprocess_vs_lexbor"] = s["reprocess_small"].rate / s["lexbor"].rate
    out["lean_2_vs_lean_1"] = s["lean_2"].rate / s["lean_1"].rate
    return {k: round(v, 2) for k, v in out.items()}


def met(name: str, value: float) -> bool | None:
    if name not in GOALS:
        return None
    op, goal = GOALS[name]
    return value >= goal if op == ">=" else value <= goal


def usable_cpus() -> int | None:
    """The CPUs this process may run on (newsmirror's default --jobs counts them alike)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable_cpus(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
    }
    versions = {}
    for name in ("newsmirror", "scrapy", "lxml", "selectolax", "nh3", "trafilatura"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - informational only
            versions[name] = None
    info["versions"] = versions
    try:  # read-only
        git = ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]
        done = subprocess.run(git, capture_output=True, text=True, timeout=10)
        info["git_commit"] = done.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["git_commit"] = None
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def table(series: dict[str, Series]) -> str:
    rows = ["| workload | pages | wall s | pages/s | CPU s | peak RSS MiB | in-process s | what |",
            "|---|---:|---:|---:|---:|---:|---:|---|"]
    for s in series.values():
        rate = f"{s.rate:.1f}" if s.pages else "-"
        inproc = f"{statistics.median(s.in_process_s):.2f}" if s.in_process_s else "-"
        rows.append(f"| `{s.name}` | {s.pages} | {s.seconds:.2f} | {rate} | {s.cpu:.2f} | {s.rss:.1f} | "
                    f"{inproc} | {s.description} |")
    return "\n".join(rows)


def ratio_table(values: dict[str, float], warn_only: bool) -> str:
    rows = ["| ratio | value | goal | |", "|---|---:|---:|---|"]
    for name, value in values.items():
        ok = met(name, value)
        goal = " ".join(map(str, GOALS[name])) if name in GOALS else "(info)"
        mark = "" if ok is None else "met" if ok else "warn" if warn_only else "**MISSED**"
        rows.append(f"| `{name}` | {value} | {goal} | {mark} |")
    return "\n".join(rows)


def cpu_split(series: dict[str, Series], corpus: Path, scratch: Path, sizes: Sizes,
              log: Any) -> dict[str, Any]:
    """Where a reprocess's CPU goes: one more cold reprocess of the big corpus through
    ``workers.py cpu-split`` (its main process apart from its workers), and a worker's stages
    over the small corpus in one process (``workers.py stages``)."""
    big, small = subset(corpus, scratch, sizes.big), subset(corpus, scratch, sizes.small)
    out, report = scratch / "out-split", scratch / "split.json"
    extra = ["--jobs", str(sizes.jobs)] if sizes.jobs else []
    run = run_measured(worker_cmd("cpu-split", str(report), "reprocess", str(big), "-o", str(out), "-q",
                                  *extra), scratch)
    split = json.loads(report.read_text())
    split_s = run.seconds
    expect("cpu-split", last_report(out, "reprocess")["counts"], new=sizes.big, failed=0)
    log(f"  {'cpu-split':<16} {run.seconds:7.2f} s  main {split['main_cpu_s']:.2f} s of CPU, "
        f"workers {split['workers_cpu_s']:.2f} s")
    run = run_measured(worker_cmd("stages", str(small)), scratch)
    stages = json.loads(run.stdout)
    expect("stages", stages, pages=sizes.small, ok=sizes.small)
    log(f"  {'stages':<16} {run.seconds:7.2f} s")
    return {"pages": sizes.big, "wall_s": round(split_s, 3), "main_cpu_s": split["main_cpu_s"],
            "workers_cpu_s": split["workers_cpu_s"], "startup_cpu_s": series["startup"].cpu,
            "stage_pages": sizes.small, "extract_chunk_s_per_page": stages["extract_chunk_s_per_page"],
            "stages_s_per_page": stages["stages_s_per_page"]}


def where_table(series: dict[str, Series], split: dict[str, Any], jobs: int | None) -> str:
    """CPU milliseconds per page: reprocess at the big size, its parts, and the lean path beside
    it; and what ``reprocess_big_vs_lean_2`` >= its goal leaves per page, if the run kept the
    CPUs as busy as it does now."""
    big, lean = series["reprocess_big"], series["lean_2"]
    ms = 1000 / big.pages
    busy = statistics.median(r.cpu_s / r.seconds for r in big.runs)  # CPUs busy, start-up included
    allowed = busy / (GOALS["reprocess_big_vs_lean_2"][1] * lean.rate) * 1000
    startup = split["startup_cpu_s"]
    rows = ["| CPU per page | ms |", "|---|---:|",
            f"| `reprocess_big`: all its processes | {big.cpu * ms:.2f} |",
            f"| its start-up (the `startup` workload's CPU, {startup:.2f} s, spread over the pages) "
            f"| {startup * ms:.2f} |"]
    if jobs == 1:  # no workers: the main process extracts too
        rows.append(f"| its one process, start-up taken off (`--jobs 1`: extraction included) "
                    f"| {max(0.0, split['main_cpu_s'] - startup) * ms:.2f} |")
    else:
        rows += [
            f"| its main process, start-up taken off: Scrapy's engine, skip, dedupe, write, the "
            f"seen-store | {max(0.0, split['main_cpu_s'] - startup) * ms:.2f} |",
            f"| its extraction workers: everything a worker does, the trip through the task pipes "
            f"included | {split['workers_cpu_s'] * ms:.2f} |",
        ]
    rows.append(f"| a worker's `extract_chunk` in one process, {split['stage_pages']} bare files "
                f"| {split['extract_chunk_s_per_page'] * 1000:.2f} |")
    stages = split["stages_s_per_page"].items()
    rows += [f"| &nbsp;&nbsp;{name} | {seconds * 1000:.2f} |" for name, seconds in stages]
    rows += [
        f"| `lean_2`: both processes | {lean.cpu * 1000 / lean.pages:.2f} |",
        f"| what `reprocess_big_vs_lean_2` >= {GOALS['reprocess_big_vs_lean_2'][1]} allows, with the CPUs "
        f"as busy as in `reprocess_big` ({busy:.2f} of {usable_cpus()}) | {allowed:.2f} |",
    ]
    return "\n".join(rows)


def check(values: dict[str, float]) -> list[str]:
    return [f"{name} = {value} (goal {' '.join(map(str, GOALS[name]))})"
            for name, value in values.items() if met(name, value) is False]


def profile(corpus: Path, scratch: Path, top: int, log: Any) -> str:
    """One more cold reprocess, under cProfile (not timed); the top functions by own time."""
    import pstats

    out, prof = scratch / "profile-out", scratch / "reprocess.prof"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "newsmirror",
           "reprocess", str(corpus), "-o", str(out), "--jobs", "1"]  # one process: all of it profiled
    log("profiling one cold reprocess under cProfile ...")
    run_measured(cmd, scratch)
    shutil.rmtree(out, ignore_errors=True)
    lines = []
    for key in ("tottime", "cumulative"):
        stats = pstats.Stats(str(prof))
        rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2 if key == "tottime" else 3], reverse=True)
        total = stats.total_tt
        what = "own time" if key == "tottime" else "cumulative time, newsmirror functions"
        lines.append(f"\ntop {top} by {what} (whole run: {total:.2f} s under the profiler):")
        lines.append(f"  {'own s':>7} {'cum s':>7} {'calls':>9}  function")
        shown = 0
        for func, (_cc, nc, tt, ct, _callers) in rows:
            if key == "cumulative" and not _interesting(func):
                continue
            lines.append(f"  {tt:7.2f} {ct:7.2f} {nc:9d}  {_func(func)[:90]}")
            shown += 1
            if shown >= top:
                break
    return "\n".join(lines)


def _func(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    path = Path(filename)
    parts = path.parts
    for anchor in ("site-packages", "newsmirror", "lib"):
        if anchor in parts:
            i = len(parts) - 1 - parts[::-1].index(anchor)
            path = Path(*parts[i + (anchor != "newsmirror"):])
            break
    return f"{path.as_posix()}:{line}({name})"


def _interesting(func: tuple[str, int, str]) -> bool:
    """For the cumulative view: newsmirror's own per-page functions, not the entry points (whose
    cumulative time is the whole run) nor Scrapy/Twisted plumbing."""
    path = Path(func[0])
    ours = "newsmirror" in path.parts and "commands" not in path.parts and path.name != "__main__.py"
    return ours and func[2] != "<module>"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="small sizes (100/300 pages, 150 articles): a CI smoke run")
    size.add_argument("--full", action="store_true", help="also reprocess 20 000 pages, for peak RSS")
    parser.add_argument("--repeat", type=int, default=1, metavar="R",
                        help="runs of each workload, median reported (default 1: the machine has 2 cores)")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="--jobs for reprocess and crawl (default: theirs, the CPU count)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    parser.add_argument("--profile", action="store_true", help="also profile one cold reprocess (cProfile)")
    parser.add_argument("--top", type=int, default=12, help="rows in the --profile listing (default 12)")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json", metavar="PATH",
                        help="where to write the results (default bench/results/latest.json)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    kind = "quick" if args.quick else "full" if args.full else "default"
    sizes = Sizes(*SIZES[kind], jobs=args.jobs)
    warn_only = sizes.small < GOALS_MIN_PAGES

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="newsmirror-bench-") as tmp:
        scratch = Path(tmp)
        corpus = scratch / "corpus"
        total = max(sizes.big, sizes.huge, sizes.crawl)
        log(f"building corpus: {total} pages in {corpus} ...")
        corpus_info = build_corpus(corpus, total)
        compile_checkout()
        manifest = corpus_info.pop("manifest")
        series = measure(corpus, manifest, scratch, sizes, args.repeat, log)
        split = cpu_split(series, corpus, scratch, sizes, log)
        profile_text = None
        if args.profile:
            profile_text = profile(subset(corpus, scratch, sizes.small), scratch, args.top, log)
    values = ratios(series)
    result = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "kind": kind,
        "sizes": vars(sizes),
        "repeat": args.repeat,
        "crawl_concurrency": CRAWL_CONCURRENCY,
        "corpus": corpus_info,
        "measurements": {name: s.summary() for name, s in series.items()},
        "ratios": values,
        "cpu_split": split,
        "goals": {k: list(v) for k, v in GOALS.items()},
        "goals_met": {name: met(name, v) for name, v in values.items() if name in GOALS},
        "bench_seconds": round(time.perf_counter() - t0, 1),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    m = result["machine"]
    print(f"\n{kind} run, median of {args.repeat}, {m['cpu_count']} CPUs ({m['cpu_model']}), "
          f"Python {m['python']}, commit {m['git_commit']}\n")
    print(table(series))
    print()
    print(ratio_table(values, warn_only))
    print()
    print(where_table(series, split, sizes.jobs))
    if profile_text:
        print(profile_text)
    print(f"\nwrote {args.json} ({result['bench_seconds']:.0f} s)")

    if args.check:
        misses = check(values)
        if misses and warn_only:
            log(f"bench: --check: goals are for >= {GOALS_MIN_PAGES} pages; at {sizes.small} these misses "
                f"are only warnings: " + "; ".join(misses))
            return 0
        if misses:
            log("bench: --check failed: " + "; ".join(misses))
            return 1
        log("bench: --check: all goals met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
