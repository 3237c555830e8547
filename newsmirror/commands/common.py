"""What every subcommand shares: exit codes, errors, the subparser factory with examples, the
options every Scrapy-backed command takes, and the one way to run a spider and finish a run."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..health import Thresholds

if TYPE_CHECKING:  # the report imports Scrapy: a command that runs no spider never needs it
    from ..report import RunReport

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANNOT_RUN, EXIT_SOURCE_BROKEN = 0, 1, 2, 3, 4

EXIT_CODES = """\
exit codes: 0 every input gave a post (or was unchanged), 1 some inputs failed,
            2 usage error, 3 could not run (lock held, bad configuration, crash),
            4 a source looks broken
"""


class CannotRun(Exception):
    """The run could not start (lock held, bad configuration...); exit code 3."""


class UsageError(Exception):
    """The command line is wrong; exit code 2."""


Subparsers = Any  # argparse's _SubParsersAction, which has no public name


def add_command(
    sub: Subparsers, name: str, summary: str, description: str = "", examples: str = ""
) -> argparse.ArgumentParser:
    """One subcommand: its summary in the top-level list, its description, examples and the exit
    codes in its own ``--help``."""
    epilog = f"examples:\n{examples.rstrip()}\n\n{EXIT_CODES}" if examples else EXIT_CODES
    return sub.add_parser(
        name,
        help=summary,
        description=description or summary,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        default="output",
        metavar="OUT",
        help="output root; posts go to OUT/_posts/ (default: %(default)s)",
    )


def add_verbosity_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="name every post; -vv shows Scrapy's log"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors and the summary")


def add_common_options(parser: argparse.ArgumentParser, output: bool = True) -> None:
    """The options of every command that runs the pipelines."""
    if output:
        add_output_option(parser)
    parser.add_argument(
        "--label", help="source label for author/tags/categories (default: the site's, e.g. '(臺)中央社CNA')"
    )
    parser.add_argument(
        "--filename",
        choices=("id", "title"),
        default="id",
        help="post file names: 'id' = YYYY-MM-DD-cna-<id>.md (stable, default); "
        "'title' = the replaced system's title style",
    )
    parser.add_argument(
        "--body",
        choices=("html", "markdown"),
        default="html",
        help="body as the sample's one-line <div> HTML (default) or Markdown",
    )
    parser.add_argument(
        "--state", metavar="DB", help="seen-store SQLite file (default: OUT/.newsmirror/state.sqlite)"
    )
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="extract pages in N processes (default: the CPU count; 1: in this process)",
    )
    parser.add_argument(
        "-s",
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a Scrapy setting, e.g. -s DOWNLOAD_DELAY=0 (repeatable)",
    )
    add_verbosity_options(parser)


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes >= 1, got {value!r}")
    return jobs


def add_image_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--download-images",
        action="store_true",
        help="store every image of a post in OUT/assets/img/<site>/<id>/ (fetched like pages: "
        "robots.txt, throttling, the article as Referer) and point the post at those copies; a failed "
        "image keeps its original URL",
    )


def check_output_folder(output: str) -> None:
    """``-o`` must name a folder (or where one can be made): one line and exit 2 otherwise."""
    path = Path(output)
    if path.exists() and not path.is_dir():
        raise UsageError(f"-o {output}: exists and is not a folder")


def log_level(args: argparse.Namespace) -> str:
    """The log level ``-v`` asks for: Scrapy's log from ``-vv`` on, DEBUG from ``-vvv``."""
    return "DEBUG" if args.verbose >= 3 else "INFO" if args.verbose >= 2 else "WARNING"


def scrapy_settings(args: argparse.Namespace) -> Any:
    """Project settings plus what the command line says."""
    from scrapy.settings import Settings

    from .. import settings as defaults
    from ..runtime import Runtime

    check_output_folder(args.output)
    settings = Settings()
    settings.setmodule(defaults, priority="project")
    settings.set("LOG_LEVEL", log_level(args))
    settings.set("LOG_FORMATTER", "newsmirror.scrapy_parts.logformatter.QuietDropLogFormatter")
    settings.set("NEWSMIRROR_OUTPUT", args.output)
    settings.set("NEWSMIRROR_LABEL", args.label)
    settings.set("NEWSMIRROR_FILENAME", args.filename)
    settings.set("NEWSMIRROR_BODY", args.body)
    settings.set("NEWSMIRROR_STATE", args.state)
    settings.set("NEWSMIRROR_DRY_RUN", getattr(args, "dry_run", False))
    settings.set("NEWSMIRROR_DIFF", getattr(args, "diff", False))
    if getattr(args, "download_images", False):
        settings.set("NEWSMIRROR_DOWNLOAD_IMAGES", True, priority="cmdline")
    if getattr(args, "jobs", None):
        settings.set("NEWSMIRROR_JOBS", args.jobs, priority="cmdline")
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"-s expects NAME=VALUE, got {item!r}")
        settings.set(name.strip(), value, priority="cmdline")
    try:
        Runtime.from_settings(settings)  # NEWSMIRROR_* values are checked here, before Scrapy starts
        Thresholds.from_settings(settings)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return settings


def leave_out_images_pipeline(settings: Any) -> None:
    """Take the images pipeline out of ITEM_PIPELINES when nothing asks for images: left in, it
    would only say NotConfigured, after importing Scrapy's files and media pipelines (~50 ms of
    start-up)."""
    pipelines = settings.getdict("ITEM_PIPELINES")
    kept = {k: v for k, v in pipelines.items() if not k.endswith(".ImagesToSitePipeline")}
    settings.set("ITEM_PIPELINES", kept, priority=settings.getpriority("ITEM_PIPELINES"))


@contextmanager
def output_lock(args: argparse.Namespace, settings: Any = None) -> Iterator[None]:
    """One writing run per output folder: a second one exits 3 instead of racing the first.

    A dry run writes nothing, so it takes no lock (and creates no lock file)."""
    if getattr(args, "dry_run", False):
        yield
        return
    from ..lock import LockHeld, RunLock

    lock = RunLock(Path(args.output) / ".newsmirror" / "run.lock")
    try:
        lock.acquire()
    except LockHeld as exc:
        raise CannotRun(f"another run is using {args.output}: {exc}") from exc
    except OSError as exc:  # read-only folder, full disk, no permission
        raise CannotRun(f"cannot write to {args.output}: {exc.strerror or exc}") from exc
    if settings is not None:
        settings.set("NEWSMIRROR_EXCLUSIVE", True, priority="cmdline")  # may clean up after killed runs
    try:
        yield
    finally:
        lock.release()


def run_spider(spider: Any, settings: Any, report: RunReport, **kwargs: Any) -> None:
    """Run one spider to completion in this process."""
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(settings)
    if settings.get("LOG_LEVEL") == "WARNING":
        # "Gave up retrying ..." and a robots.txt download traceback repeat the one-line error
        # the run report prints for that URL
        # a failed image: one warning line from the report, not Scrapy's traceback
        for name in ("scrapy.downloadermiddlewares.retry", "scrapy.downloadermiddlewares.robotstxt",
                     "scrapy.pipelines.media", "scrapy.pipelines.files"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    crawler = process.create_crawler(spider)
    report.health.thresholds = Thresholds.from_settings(settings)
    if settings.get("NEWSMIRROR_PROGRESS_EVERY") is not None:
        report.progress_every = settings.getfloat("NEWSMIRROR_PROGRESS_EVERY")
    crawler.newsmirror_report = report  # Runtime.of(crawler) picks it up
    errors: list[str] = []

    def crashed(failure: Any) -> None:  # the crawl itself failed (not one page): no summary to trust
        errors.append(f"{failure.type.__name__}: {failure.getErrorMessage()}")

    process.crawl(crawler, **kwargs).addErrback(crashed)
    process.start()
    if errors:
        raise CannotRun(f"the crawl stopped: {errors[0]}")
    if crawler.spider is None and report.processed == 0:
        raise CannotRun("the spider could not start (see the log above)")


def make_report(args: argparse.Namespace, expected: int | None = None) -> RunReport:
    from ..report import RunReport

    report = RunReport(command=args.command, expected=expected)
    report.stream = sys.stderr
    report.verbose = args.verbose >= 1 and not args.quiet
    report.quiet = args.quiet
    report.dry_run = getattr(args, "dry_run", False)
    report.listing = sys.stdout  # what --dry-run lists is the command's output
    return report


def report_path(output: Path, command: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return output / ".newsmirror" / "runs" / f"{stamp}-{command}.json"


def finish(report: RunReport, args: argparse.Namespace) -> int:
    """Judge the sources, write the JSON report, print the failures that scrolled by, the broken
    sources and the summary (naming where the posts and the report went); the exit code."""
    from ..report import LIST_LIMIT

    report.finish()
    report.progress.clear()
    out = Path(args.output)
    dry_run = getattr(args, "dry_run", False)
    if report.health.sources:
        judge_sources(report, args)
    path = None if dry_run else report_path(out, args.command)
    if path is not None:
        report.write_json(path)
    if report.failures and not args.quiet and report.processed > LIST_LIMIT:  # errors scrolled by
        print(f"{report.counts['failed']} failed:", file=sys.stderr)
        for failure in report.failures[:50]:
            print(f"  {failure.url}: {failure.reason}", file=sys.stderr)
    for name in report.health.broken:
        for symptom in report.health.sources[name].symptoms:
            print(symptom.line(), file=sys.stderr)
    where = f"; posts: {out / '_posts'}" + (f"; report: {path}" if path else "")
    print(report.summary() + where, file=sys.stderr)
    return report.exit_code


def judge_sources(report: RunReport, args: argparse.Namespace) -> None:
    """Compare each source's run with its recent history in the seen-store, then remember it."""
    from ..state import SeenStore, StateError, default_state_path, iso_utc

    state = Path(args.state) if getattr(args, "state", None) else default_state_path(Path(args.output))
    dry_run = getattr(args, "dry_run", False)
    if dry_run and not state.exists():
        report.health.evaluate()
        return
    limit = report.health.thresholds.history_runs
    try:
        with SeenStore(state) as store:
            history = {name: store.source_history(name, limit) for name in report.health.sources}
            report.health.evaluate(history)
            if not dry_run:
                now = iso_utc()
                for health in report.health.sources.values():
                    store.record_source_run(health.run, now, args.command)
    except StateError as exc:  # judge this run alone; the store's own error surfaces elsewhere
        print(f"warning: no source history: {exc}", file=sys.stderr)
        report.health.evaluate()
