"""``newsmirror mirror|reprocess|crawl|worker|archive`` on top of Scrapy's CrawlerProcess.

Exit codes: 0 all good, 1 some inputs failed, 2 usage error, 3 could not run (lock held, bad
configuration, crash).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__
from .report import LIST_LIMIT

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANNOT_RUN = 0, 1, 2, 3

EPILOG = """\
exit codes: 0 every input gave a post (or was unchanged), 1 some inputs failed,
            2 usage error, 3 could not run (lock held, bad configuration, crash)
"""


class CannotRun(Exception):
    """The run could not start (lock held, bad configuration...); exit code 3."""


class UsageError(Exception):
    """The command line is wrong; exit code 2."""


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of days >= 0, got {text!r}")
    return value


def _common(parser: argparse.ArgumentParser, output: bool = True) -> None:
    if output:
        parser.add_argument(
            "-o",
            "--output",
            default="output",
            metavar="OUT",
            help="output root; posts go to OUT/_posts/ (default: %(default)s)",
        )
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
        "-s",
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a Scrapy setting, e.g. -s DOWNLOAD_DELAY=0 (repeatable)",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="name every post; -vv shows Scrapy's log"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors and the summary")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsmirror",
        description="Mirror news articles (first of all CNA, www.cna.com.tw) into Jekyll posts.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"newsmirror {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, summary: str, description: str | None = None) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=summary,
            description=description or summary,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    p = command(
        "mirror",
        "fetch article URLs once and write their posts",
        "Fetch the given article URLs and write one post each.",
    )
    p.add_argument("urls", nargs="+", metavar="URL")
    _common(p)

    p = command(
        "reprocess",
        "re-run extraction over saved pages, offline",
        "Re-extract and rewrite posts from saved pages without the network: .html files or "
        "folders of them, a Scrapy HTTP cache folder, .warc/.warc.gz files. Only posts whose "
        "bytes change are rewritten.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--dry-run", action="store_true", help="write nothing; list what would be written")
    p.add_argument("--diff", action="store_true", help="print unified diffs of changed posts to stdout")
    _common(p)

    from .crawl import add_crawl_arguments, add_worker_arguments

    p = command(
        "crawl",
        "discover new articles from sitemaps/feeds and mirror them",
        "Scheduled crawl: read sitemaps/feeds/list pages, fetch only new or updated articles, "
        "write posts and a JSON run report.",
    )
    add_crawl_arguments(p)
    _common(p)

    p = command("worker", "process URLs from a shared Redis queue (distributed crawl)")
    add_worker_arguments(p)
    _common(p)

    p = command("archive", "move old posts from _posts/ to archived/YYYY-MM-DD/")
    p.add_argument("--older-than", type=_days, required=True, metavar="DAYS")
    p.add_argument("-o", "--output", default="output", metavar="OUT")
    p.add_argument("--state", metavar="DB")
    p.add_argument("--dry-run", action="store_true")
    return parser


def scrapy_settings(args: argparse.Namespace) -> Any:
    """Project settings plus what the command line says."""
    from scrapy.settings import Settings

    from . import settings as defaults

    settings = Settings()
    settings.setmodule(defaults, priority="project")
    settings.set("LOG_LEVEL", "DEBUG" if args.verbose >= 3 else "INFO" if args.verbose >= 2 else "WARNING")
    settings.set("LOG_FORMATTER", "newsmirror.logformatter.QuietDropLogFormatter")
    settings.set("NEWSMIRROR_OUTPUT", args.output)
    settings.set("NEWSMIRROR_LABEL", args.label)
    settings.set("NEWSMIRROR_FILENAME", args.filename)
    settings.set("NEWSMIRROR_BODY", args.body)
    settings.set("NEWSMIRROR_STATE", args.state)
    settings.set("NEWSMIRROR_DRY_RUN", getattr(args, "dry_run", False))
    settings.set("NEWSMIRROR_DIFF", getattr(args, "diff", False))
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"-s expects NAME=VALUE, got {item!r}")
        settings.set(name.strip(), value, priority="cmdline")
    from .runtime import Runtime

    try:
        Runtime.from_settings(settings)  # NEWSMIRROR_* values are checked here, before Scrapy starts
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return settings


@contextmanager
def output_lock(args: argparse.Namespace, settings: Any = None) -> Iterator[None]:
    """One writing run per output folder: a second one exits 3 instead of racing the first.

    A dry run writes nothing, so it takes no lock (and creates no lock file)."""
    if getattr(args, "dry_run", False):
        yield
        return
    from .lock import LockHeld, RunLock

    lock = RunLock(Path(args.output) / ".newsmirror" / "run.lock")
    try:
        lock.acquire()
    except LockHeld as exc:
        raise CannotRun(f"another run is using {args.output}: {exc}") from exc
    if settings is not None:
        settings.set("NEWSMIRROR_EXCLUSIVE", True, priority="cmdline")  # may clean up after killed runs
    try:
        yield
    finally:
        lock.release()


def run_spider(spider: Any, settings: Any, report: Any, **kwargs: Any) -> None:
    """Run one spider to completion in this process."""
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(settings)
    if settings.get("LOG_LEVEL") == "WARNING":
        # "Gave up retrying ..." and a robots.txt download traceback repeat the one-line error
        # the run report prints for that URL
        for name in ("scrapy.downloadermiddlewares.retry", "scrapy.downloadermiddlewares.robotstxt"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    crawler = process.create_crawler(spider)
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


def report_path(output: Path, command: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return output / ".newsmirror" / "runs" / f"{stamp}-{command}.json"


def finish(report: Any, args: argparse.Namespace) -> int:
    report.finish()
    out = Path(args.output)
    if not getattr(args, "dry_run", False):
        path = report_path(out, args.command)
        report.write_json(path)
    print(report.summary(), file=sys.stderr)
    if report.failures and not args.quiet and report.processed > LIST_LIMIT:  # errors scrolled by
        print(f"{report.counts['failed']} failed:", file=sys.stderr)
        for failure in report.failures[:50]:
            print(f"  {failure.url}: {failure.reason}", file=sys.stderr)
    return report.exit_code


def cmd_mirror(args: argparse.Namespace) -> int:
    from .spiders.url import UrlSpider

    settings = scrapy_settings(args)
    with output_lock(args, settings):
        report = _report(args, expected=len(args.urls))
        run_spider(UrlSpider, settings, report, urls=args.urls, label=args.label)
        return finish(report, args)


def cmd_reprocess(args: argparse.Namespace) -> int:
    from .spiders.cache import CacheSpider

    settings = scrapy_settings(args)
    with output_lock(args, settings):
        report = _report(args)
        run_spider(CacheSpider, settings, report, paths=args.paths, label=args.label)
        return finish(report, args)


def cmd_archive(args: argparse.Namespace) -> int:
    from .archive import archive_posts
    from .runtime import default_state_path
    from .state import SeenStore

    out = Path(args.output)
    with output_lock(args), SeenStore(args.state or default_state_path(out)) as store:
        result = archive_posts(out, args.older_than, store, dry_run=args.dry_run)
    verb = "would move" if args.dry_run else "moved"
    for old, new in result.moved:
        print(f"{verb} {old} -> {new}", file=sys.stderr)
    for path, reason in result.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"archive: {len(result.moved)} {verb}, {len(result.skipped)} skipped", file=sys.stderr)
    return EXIT_OK


def _report(args: argparse.Namespace, expected: int | None = None) -> Any:
    from .report import RunReport

    report = RunReport(command=args.command, expected=expected)
    report.stream = sys.stderr
    report.verbose = args.verbose >= 1 and not args.quiet
    report.quiet = args.quiet
    report.dry_run = getattr(args, "dry_run", False)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .crawl import cmd_crawl, cmd_worker

    commands = {
        "mirror": cmd_mirror,
        "reprocess": cmd_reprocess,
        "crawl": cmd_crawl,
        "worker": cmd_worker,
        "archive": cmd_archive,
    }
    try:
        return commands[args.command](args)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"newsmirror: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CannotRun as exc:
        print(f"newsmirror: cannot run: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        print("newsmirror: interrupted", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except Exception:  # a bug or an environment problem: say so, with the traceback, exit 3
        import traceback

        traceback.print_exc()
        print("newsmirror: crashed (see the traceback above)", file=sys.stderr)
        return EXIT_CANNOT_RUN


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
