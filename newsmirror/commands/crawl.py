"""``newsmirror crawl``: a scheduled run over sitemaps, feeds and list pages."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import (
    CannotRun,
    Subparsers,
    UsageError,
    add_command,
    add_common_options,
    add_image_option,
    finish,
    leave_out_images_pipeline,
    make_report,
    output_lock,
    run_spider,
    scrapy_settings,
)
from .mirror import check_urls

if TYPE_CHECKING:
    from ..sources import Source

EXAMPLES = """\
  newsmirror crawl                                  # the packaged CNA sitemaps and feeds
  newsmirror crawl --since 2h -o site               # only what was announced in the last 2 hours
  newsmirror crawl --sources my-sources.toml --cache --warc
  newsmirror crawl --feed https://example.org/rss.xml --parser generic --label 'Example News'
  newsmirror crawl --feed https://feedx.net/rss/mgzy1.xml --parser feed --label 美国之音
  newsmirror crawl --redis redis://127.0.0.1:6379/0 # workers: newsmirror worker --redis ...
"""


def register(sub: Subparsers) -> None:
    p = add_command(
        sub,
        "crawl",
        "discover new articles from sitemaps/feeds and mirror them",
        "Scheduled crawl: read sitemaps/feeds/list pages, fetch only new or updated articles, "
        "write posts and a JSON run report.",
        EXAMPLES,
    )
    add_arguments(p)
    add_common_options(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sources", metavar="FILE", help="TOML file of sources (default: the packaged CNA sources)"
    )
    p.add_argument(
        "--sitemap",
        action="append",
        default=[],
        metavar="URL",
        help="crawl this sitemap instead of the sources file (repeatable)",
    )
    p.add_argument(
        "--feed",
        action="append",
        default=[],
        metavar="URL",
        help="crawl this RSS/Atom feed instead of the sources file (repeatable)",
    )
    p.add_argument(
        "--list-page",
        action="append",
        default=[],
        metavar="URL",
        help="crawl this CNA list page (repeatable)",
    )
    p.add_argument(
        "--parser",
        choices=("cna", "generic", "feed"),
        help="where posts come from for --sitemap/--feed URLs: an article parser (cna, generic), "
        "or feed = the feed items themselves, no article page fetched",
    )
    p.add_argument(
        "--since",
        metavar="WHEN",
        help="only articles the feed/sitemap dates at or after WHEN: 2h, 3d, 1w, 2026-11-01, ISO time",
    )
    p.add_argument("--jobdir", metavar="DIR", help="Scrapy JOBDIR: an interrupted crawl resumes from it")
    p.add_argument(
        "--cache",
        nargs="?",
        const="httpcache",
        metavar="DIR",
        help="keep every response in Scrapy's HTTP cache (DIR relative to OUT/.newsmirror/, "
        "default httpcache) for offline reprocessing",
    )
    p.add_argument(
        "--warc",
        nargs="?",
        const="",
        metavar="FILE",
        help="also write every response to a WARC: FILE, or by default one file per run in "
        "OUT/.newsmirror/warc/",
    )
    add_image_option(p)
    add_distributed_arguments(p)


def add_distributed_arguments(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument(
        "--redis",
        metavar="URL",
        required=required,
        help="distributed crawl through Redis (scrapy-redis), e.g. redis://:PASSWORD@queue-host:6379/0: "
        "the crawl queues article requests and writes what `newsmirror worker` processes return",
    )
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=None,
        metavar="S",
        help="with --redis: once no request is queued or in progress (and, for the crawl, no result "
        "is pending), stop after S more seconds (default: crawl 0, worker 60; worker 0 = run forever)",
    )


def load_run_sources(args: argparse.Namespace) -> list[Any]:
    from ..sources import SourcesError, load_sources, source_from_urls

    try:
        urls = [getattr(args, name, []) for name in ("sitemap", "feed", "list_page")]
        for option, given in zip(("--sitemap", "--feed", "--list-page"), urls, strict=True):
            check_urls(given, option)
        if any(urls):
            if args.sources:
                raise UsageError("give either --sources or --sitemap/--feed/--list-page URLs, not both")
            extra = {"parser": args.parser} if args.parser else {}
            return [
                source_from_urls(
                    sitemaps=urls[0], feeds=urls[1], list_pages=urls[2], label=args.label, **extra
                )
            ]
        return load_sources(args.sources)
    except SourcesError as exc:
        raise CannotRun(str(exc)) from exc


def _since(args: argparse.Namespace) -> datetime | None:
    from ..discovery import parse_since

    if not args.since:
        return None
    try:
        return parse_since(args.since, datetime.now(timezone.utc))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def crawl_settings(args: argparse.Namespace) -> Any:
    settings = scrapy_settings(args)
    out = Path(args.output)
    if getattr(args, "jobdir", None):
        settings.set("JOBDIR", args.jobdir, priority="cmdline")
    if getattr(args, "cache", None):
        settings.set("HTTPCACHE_ENABLED", True, priority="cmdline")
        settings.set("HTTPCACHE_DIR", str((out / ".newsmirror" / args.cache).resolve()), priority="cmdline")
    if getattr(args, "warc", None) is not None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        warc = args.warc or str(out / ".newsmirror" / "warc" / f"{stamp}-{args.command}.warc.gz")
        settings.set("NEWSMIRROR_WARC", warc, priority="cmdline")
        extensions = dict(settings.getdict("EXTENSIONS"))
        extensions["newsmirror.scrapy_parts.warc_writer.WarcWriter"] = 500
        settings.set("EXTENSIONS", extensions, priority="cmdline")
    if args.redis:
        _use_redis(settings, args)
    return settings


def _use_redis(settings: Any, args: argparse.Namespace) -> None:
    """A distributed run: the crawl coordinates (and alone writes), a worker fetches and extracts.
    See newsmirror/distributed/ for the design."""
    try:
        import scrapy_redis  # noqa: F401
    except ImportError as exc:
        raise CannotRun("--redis needs scrapy-redis: pip install 'newsmirror[redis]'") from exc
    import redis

    from ..distributed.connection import redacted

    try:
        redis.Redis.from_url(args.redis, socket_connect_timeout=5).ping()
    except (redis.RedisError, ValueError) as exc:
        raise CannotRun(f"cannot reach Redis at {redacted(args.redis)}: {exc}") from exc
    role = "coordinator" if args.command == "crawl" else "worker"
    idle = args.idle_timeout if args.idle_timeout is not None else (60.0 if role == "worker" else 0.0)
    for name, value in (
        ("REDIS_URL", args.redis),
        ("NEWSMIRROR_ROLE", role),
        ("SCHEDULER", "newsmirror.distributed.scheduler.SharedScheduler"),
        ("NEWSMIRROR_IDLE_TIMEOUT", idle),
        ("NEWSMIRROR_IDLE_FOREVER", role == "worker" and idle <= 0),
    ):
        settings.set(name, value, priority="cmdline")
    extensions = dict(settings.getdict("EXTENSIONS"))
    extensions["newsmirror.scrapy_parts.idle.IdleTimeout"] = 100
    if role == "coordinator":
        extensions["newsmirror.distributed.coordinator.ResultConsumer"] = 200
    else:  # fetch, extract, clean; the coordinator does dedupe -> write
        settings.set("ITEM_PIPELINES", WORKER_PIPELINES, priority="cmdline")
    settings.set("EXTENSIONS", extensions, priority="cmdline")


WORKER_PIPELINES = {
    "newsmirror.pipelines.ExtractPipeline": 100,
    "newsmirror.pipelines.CleanPipeline": 200,
    "newsmirror.distributed.worker.ResultPipeline": 900,
}


def leave_out_images_unless_asked(settings: Any, sources: list[Source]) -> None:
    """No images pipeline unless ``--download-images``, ``-s NEWSMIRROR_DOWNLOAD_IMAGES=1`` or a
    source's ``download_images`` asks for images."""
    if not (settings.getbool("NEWSMIRROR_DOWNLOAD_IMAGES") or any(s.download_images for s in sources)):
        leave_out_images_pipeline(settings)


@contextmanager
def coordinator_lock(settings: Any, args: argparse.Namespace) -> Iterator[None]:
    """One coordinator per Redis database: a second would split the posts between two folders."""
    if not args.redis:
        yield
        return
    import redis

    from ..distributed.connection import redacted
    from ..distributed.coordinator import CoordinatorBusy, CoordinatorLock
    from ..distributed.keys import Keys
    from ..spiders.discover import DiscoverSpider

    server = redis.Redis.from_url(args.redis, socket_connect_timeout=5)
    lock = CoordinatorLock(server, Keys.for_spider(DiscoverSpider.name).coordinator)
    try:
        lock.acquire()
    except CoordinatorBusy as exc:
        raise CannotRun(f"{redacted(args.redis)}: {exc}") from exc
    settings.set("NEWSMIRROR_COORDINATOR_LOCK", lock.value, priority="cmdline")
    try:
        yield
    finally:
        with suppress(redis.RedisError):
            lock.release()


def run(args: argparse.Namespace) -> int:
    from ..spiders.discover import DiscoverSpider

    sources = load_run_sources(args)
    if args.redis and (args.download_images or any(s.download_images for s in sources)):
        # workers hand back articles, not files: images would silently stay hot-linked
        raise UsageError("--download-images (or download_images in a source) does not work with --redis yet")
    since = _since(args)
    settings = crawl_settings(args)
    leave_out_images_unless_asked(settings, sources)
    with output_lock(args, settings), coordinator_lock(settings, args):
        report = make_report(args)
        for source in sources:
            report.health.expect(source.name, source.entry_urls)
        run_spider(DiscoverSpider, settings, report, sources=sources, since=since, label=args.label)
        return finish(report, args)
