"""Speed and memory of ``newsmirror reprocess``, as ratios against references measured in the same run.

    python bench/run.py              # N=2000 pages, 3 repeats, median (~6 min on 2 cores; --repeat 1: ~2)
    python bench/run.py --quick      # N=200, 1 repeat: smoke run
    python bench/run.py --check      # exit 1 when a ratio misses its goal (see GOALS, bench/README.md)
    python bench/run.py --profile    # also: one extra cold reprocess under cProfile, top functions

Absolute seconds depend on the machine; the ratios should not (much), which is why the project's
speed/memory goals are checked here, never as timed assertions in the tests.  Every workload runs
in its own subprocess with this interpreter (``sys.executable``); wall time and peak RSS are those
of that subprocess (``os.wait4``), interpreter start and imports included.

Writes ``bench/results/latest.json`` (git-ignored).
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

DEFAULT_PAGES, DEFAULT_REPEAT = 2000, 3
DEFAULT_TRAF_PAGES = 96  # trafilatura is the slow one: a same-mix sample, compared per page
QUICK_PAGES, QUICK_REPEAT, QUICK_TRAF_PAGES = 200, 1, 48

# Goals checked by --check: the numbers measured on a 2-core machine (bench/README.md) plus
# headroom.  They are calibrated for the default N: at small N the fixed start-up cost of Scrapy
# (~1.3 s) dominates the ratios, so --check at N < GOALS_MIN_PAGES only warns.
GOALS: dict[str, float] = {  # (measured at N=2000 in 3 runs of median of 3: README.md)
    "reprocess_cold_vs_floor": 8.0,  # whole reprocess vs. reading + parsing every page once (3.9-5.6)
    "reprocess_cold_vs_trafilatura": 0.5,  # per page, vs. the common extractor (0.09-0.13)
    # an unchanged re-run vs. a cold one: unchanged inputs are skipped before parsing (0.13)
    "reprocess_warm_vs_cold": 0.3,
    "scrapy_overhead": 1.25,  # CLI + Scrapy engine vs. the bare pipeline chain (1.06-1.12)
    "peak_rss_vs_floor": 5.0,  # reprocess peak RSS vs. the lxml floor process (4.0; mostly imports)
    "reprocess_peak_rss_mib": 200.0,  # absolute, at N=2000 (87)
    "reprocess_rss_growth_mib": 50.0,  # peak RSS above the empty-folder run: what N pages add (6.5-7)
}
GOALS_MIN_PAGES = DEFAULT_PAGES


# -- corpus -----------------------------------------------------------------------------------


def template_pages() -> list[tuple[Path, str]]:
    """The real article pages and their 12-digit article ids (list page and expired pages left out)."""
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
    with a new id of the same date prefix (YYYYMMDD + a 4-digit serial), so every copy is a
    distinct article and post.  New ids never equal any 12-digit number found in a template.
    """
    templates = [(path, old, path.read_bytes()) for path, old in template_pages()]
    taken = {m for _, _, data in templates for m in re.findall(rb"(?<!\d)\d{12}(?!\d)", data)}
    serial: dict[str, int] = {}
    folder.mkdir(parents=True, exist_ok=True)
    total_bytes = 0
    for i in range(pages):
        _path, old, data = templates[i % len(templates)]
        prefix = old[:8]
        n = serial.get(prefix, 0)
        while True:
            if n > 9999:
                raise SystemExit(f"bench: over 10000 copies with date prefix {prefix}; use fewer --pages")
            new = f"{prefix}{n:04d}"
            n += 1
            if new.encode() not in taken:
                break
        serial[prefix] = n
        body = data.replace(old.encode(), new.encode())
        (folder / f"{i:06d}-{new}.html").write_bytes(body)
        total_bytes += len(body)
    return {
        "pages": pages,
        "templates": [p.relative_to(REPO).as_posix() for p, _, _ in templates],
        "corpus_mib": round(total_bytes / 2**20, 1),
    }


# -- running one measurement ------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    peak_rss_mib: float
    stdout: str
    stderr: str


def run_measured(cmd: list[str], cwd: Path) -> Run:
    """Run `cmd` to completion; its wall time and its own peak RSS (not its parent's)."""
    env = dict(os.environ, PYTHONWARNINGS="ignore", PYTHONDONTWRITEBYTECODE="1")
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
    return Run(seconds, rss, stdout, stderr)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def newsmirror_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "newsmirror", *args]


def worker_cmd(*args: str) -> list[str]:
    return [sys.executable, str(WORKERS), *args]


def last_report(output: Path) -> dict[str, Any]:
    runs = sorted((output / ".newsmirror" / "runs").glob("*-reprocess.json"))
    if not runs:
        raise SystemExit(f"bench: reprocess wrote no run report under {output}")
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
    def per_page(self) -> float:
        return self.seconds / self.pages

    def summary(self) -> dict[str, Any]:
        out = {
            "description": self.description,
            "pages": self.pages,
            "median_s": round(self.seconds, 3),
            "pages_per_s": round(self.pages / self.seconds, 1) if self.pages else None,
            "peak_rss_mib": round(self.rss, 1),
            "runs_s": [round(r.seconds, 3) for r in self.runs],
            "runs_peak_rss_mib": [round(r.peak_rss_mib, 1) for r in self.runs],
        }
        if self.in_process_s:
            out["in_process_median_s"] = round(statistics.median(self.in_process_s), 3)
        return out


def measure(
    corpus: Path, scratch: Path, pages: int, traf_pages: int, repeat: int, log: Any
) -> dict[str, Series]:
    series = {
        "startup": Series("startup", "newsmirror reprocess of an empty folder: interpreter, imports, "
                                     "Scrapy engine start/stop (fixed cost, informational)"),
        "reprocess_cold": Series("reprocess_cold", "newsmirror reprocess CORPUS -o OUT, OUT empty", pages),
        "reprocess_warm": Series("reprocess_warm", "the same again into the same OUT (all unchanged)", pages),
        "pipeline_only": Series("pipeline_only", "same store reader + pipeline chain + seen-store, "
                                                 "plain loop, no Scrapy (bench/workers.py pipeline)", pages),
        "floor": Series("floor", "read each file + lxml.html.document_fromstring (bench/workers.py floor)",
                        pages),
        "trafilatura": Series("trafilatura", "trafilatura.extract(html bytes, output_format='html', "
                                             "include_images=True), default settings, extraction only; "
                                             "on the first `pages` pages of the corpus", traf_pages),
    }
    empty = scratch / "empty"
    empty.mkdir()
    ok_counts = {"new": pages, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}
    # Interleaved, so that drift on the machine (other load, thermal) hits every workload alike.
    for r in range(1, repeat + 1):
        log(f"repeat {r}/{repeat}")

        out = scratch / f"startup-{r}"
        run = run_measured(newsmirror_cmd("reprocess", str(empty), "-o", str(out)), scratch)
        series["startup"].add(run, last_report(out)["duration_s"])
        shutil.rmtree(out)
        log(f"  startup         {run.seconds:7.2f} s  {run.peak_rss_mib:6.1f} MiB")

        run = run_measured(worker_cmd("floor", str(corpus)), scratch)
        result = json.loads(run.stdout)
        expect("floor", result, pages=pages, ok=pages)
        series["floor"].add(run, result["work_s"])
        log(f"  floor           {run.seconds:7.2f} s  {run.peak_rss_mib:6.1f} MiB")

        run = run_measured(worker_cmd("trafilatura", str(corpus), str(traf_pages)), scratch)
        result = json.loads(run.stdout)
        expect("trafilatura", result, pages=traf_pages)  # `ok` (non-empty extracts) is recorded, not required
        series["trafilatura"].add(run, result["work_s"])
        log(f"  trafilatura     {run.seconds:7.2f} s  {run.peak_rss_mib:6.1f} MiB  "
            f"({result['ok']}/{traf_pages} extracted)")

        out = scratch / f"pipeline-{r}"
        run = run_measured(worker_cmd("pipeline", str(corpus), str(out)), scratch)
        result = json.loads(run.stdout)
        expect("pipeline_only", result["counts"], **ok_counts)
        series["pipeline_only"].add(run, result["work_s"])
        shutil.rmtree(out)
        log(f"  pipeline_only   {run.seconds:7.2f} s  {run.peak_rss_mib:6.1f} MiB")

        out = scratch / f"out-{r}"
        run = run_measured(newsmirror_cmd("reprocess", str(corpus), "-o", str(out)), scratch)
        report = last_report(out)
        expect("reprocess (cold)", report["counts"], **ok_counts)
        posts = sum(1 for _ in (out / "_posts").glob("*.md"))
        expect("reprocess (cold)", {"posts": posts}, posts=pages)
        series["reprocess_cold"].add(run, report["duration_s"])
        log(f"  reprocess_cold  {run.seconds:7.2f} s  {run.peak_rss_mib:6.1f} MiB")

        mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "_posts").glob("*.md")}
        run = run_measured(newsmirror_cmd("reprocess", str(corpus), "-o", str(out)), scratch)
        report = last_report(out)
        expect("reprocess (warm)", report["counts"], **dict(ok_counts, new=0, unchanged=pages))
        posts = list((out / "_posts").glob("*.md"))
        rewritten = sum(1 for p in posts if mtimes.get(p.name) != p.stat().st_mtime_ns)
        expect("reprocess (warm)", {"rewritten": rewritten}, rewritten=0)
        series["reprocess_warm"].add(run, report["duration_s"])
        shutil.rmtree(out)
        log(f"  reprocess_warm  {run.seconds:7.2f} s  {run.peak_rss_mib:6.1f} MiB")
    return series


def ratios(s: dict[str, Series]) -> dict[str, float]:
    """The ratios of the medians (what --check compares with GOALS)."""
    cold = s["reprocess_cold"]
    return {
        "reprocess_cold_vs_floor": round(cold.seconds / s["floor"].seconds, 2),
        # per page: trafilatura may run on fewer pages (--trafilatura-pages)
        "reprocess_cold_vs_trafilatura": round(cold.per_page / s["trafilatura"].per_page, 2),
        "reprocess_warm_vs_cold": round(s["reprocess_warm"].seconds / cold.seconds, 2),
        "scrapy_overhead": round(cold.seconds / s["pipeline_only"].seconds, 2),
        "peak_rss_vs_floor": round(max(cold.rss, s["reprocess_warm"].rss) / s["floor"].rss, 2),
        "reprocess_peak_rss_mib": round(max(cold.rss, s["reprocess_warm"].rss), 1),
        "reprocess_rss_growth_mib": round(max(cold.rss, s["reprocess_warm"].rss) - s["startup"].rss, 1),
    }


def ratios_per_repeat(s: dict[str, Series]) -> dict[str, list[float]]:
    """The time ratios within each repeat (workloads run back to back): their spread is the noise."""
    def per(a: str, b: str) -> list[float]:
        return [round((x.seconds / s[a].pages) / (y.seconds / s[b].pages), 2)
                for x, y in zip(s[a].runs, s[b].runs, strict=True)]

    return {
        "reprocess_cold_vs_floor": per("reprocess_cold", "floor"),
        "reprocess_cold_vs_trafilatura": per("reprocess_cold", "trafilatura"),
        "reprocess_warm_vs_cold": per("reprocess_warm", "reprocess_cold"),
        "scrapy_overhead": per("reprocess_cold", "pipeline_only"),
    }


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
    }
    versions = {}
    for name in ("newsmirror", "scrapy", "lxml", "trafilatura"):
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
    rows = [f"{'workload':<16} {'pages':>6} {'median s':>9} {'pages/s':>8} {'ms/page':>8} "
            f"{'peak RSS MiB':>13} {'in-process s':>13}"]
    for name in ("reprocess_cold", "reprocess_warm", "pipeline_only", "floor", "trafilatura", "startup"):
        s = series[name]
        rate = f"{s.pages / s.seconds:8.1f} {1000 * s.per_page:8.2f}" if s.pages else f"{'-':>8} {'-':>8}"
        inproc = f"{statistics.median(s.in_process_s):13.2f}" if s.in_process_s else f"{'-':>13}"
        rows.append(f"{name:<16} {s.pages:6d} {s.seconds:9.2f} {rate} {s.rss:13.1f} {inproc}")
    return "\n".join(rows)


def check(values: dict[str, float]) -> list[str]:
    misses = []
    for name, goal in GOALS.items():
        if values[name] > goal:
            misses.append(f"{name} = {values[name]} > goal {goal}")
    return misses


def profile(corpus: Path, scratch: Path, top: int, log: Any) -> str:
    """One more cold reprocess, under cProfile (not timed); the top functions by own time."""
    import pstats

    out, prof = scratch / "profile-out", scratch / "reprocess.prof"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "newsmirror",
           "reprocess", str(corpus), "-o", str(out)]
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
    parser.add_argument("--pages", type=int, default=None, metavar="N",
                        help=f"pages in the corpus (default {DEFAULT_PAGES}; --quick: {QUICK_PAGES})")
    parser.add_argument("--repeat", type=int, default=None, metavar="R",
                        help=f"runs of each workload, median reported (default {DEFAULT_REPEAT}; --quick: 1)")
    parser.add_argument("--trafilatura-pages", type=int, default=None, metavar="M",
                        help=f"pages given to trafilatura, the first M of the corpus (default "
                             f"{DEFAULT_TRAF_PAGES}, at most N; 0: all N) -- it is ~10x slower per page")
    parser.add_argument("--quick", action="store_true", help="smoke run: N=200, 1 repeat, trafilatura on 48")
    parser.add_argument("--check", action="store_true", help="exit 1 if a ratio misses its goal")
    parser.add_argument("--profile", action="store_true", help="also profile one cold reprocess (cProfile)")
    parser.add_argument("--top", type=int, default=10, help="rows in the --profile listing (default 10)")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json", metavar="PATH",
                        help="where to write the results (default bench/results/latest.json)")
    args = parser.parse_args(argv)
    pages = args.pages or (QUICK_PAGES if args.quick else DEFAULT_PAGES)
    repeat = args.repeat or (QUICK_REPEAT if args.quick else DEFAULT_REPEAT)
    traf_pages = args.trafilatura_pages
    if traf_pages is None:
        traf_pages = QUICK_TRAF_PAGES if args.quick else DEFAULT_TRAF_PAGES
    traf_pages = min(traf_pages or pages, pages)
    if pages < 1 or repeat < 1 or traf_pages < 0:
        parser.error("--pages and --repeat must be at least 1, --trafilatura-pages at least 0")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="newsmirror-bench-") as tmp:
        scratch = Path(tmp)
        corpus = scratch / "corpus"
        log(f"building corpus: {pages} pages in {corpus} ...")
        corpus_info = build_corpus(corpus, pages)
        series = measure(corpus, scratch, pages, traf_pages, repeat, log)
        profile_text = profile(corpus, scratch, args.top, log) if args.profile else None
    values = ratios(series)
    result = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "N": pages,
        "repeat": repeat,
        "corpus": corpus_info,
        "measurements": {name: s.summary() for name, s in series.items()},
        "ratios": values,
        "ratios_per_repeat": ratios_per_repeat(series),
        "goals": GOALS,
        "goals_met": {name: values[name] <= goal for name, goal in GOALS.items()},
        "bench_seconds": round(time.perf_counter() - t0, 1),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    print(f"\nN={pages} pages, median of {repeat}, {result['machine']['cpu_count']} CPUs, "
          f"Python {result['machine']['python']}")
    print(table(series))
    print("\nratios (goal):")
    for name, value in values.items():
        mark = "ok  " if value <= GOALS[name] else "MISS" if pages >= GOALS_MIN_PAGES else "warn"
        print(f"  {mark} {name:<30} {value:8.2f}   (goal <= {GOALS[name]})")
    if profile_text:
        print(profile_text)
    print(f"\nwrote {args.json} ({result['bench_seconds']:.0f} s)")

    if args.check:
        misses = check(values)
        if misses and pages < GOALS_MIN_PAGES:
            log(f"bench: --check: goals are calibrated for N >= {GOALS_MIN_PAGES}; at N={pages} "
                f"these misses are only warnings: " + "; ".join(misses))
            return 0
        if misses:
            log("bench: --check failed: " + "; ".join(misses))
            return 1
        log("bench: --check: all goals met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
