"""``newsmirror reprocess PATH…``: re-extract posts from saved pages, offline."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import (
    Subparsers,
    add_command,
    add_common_options,
    check_output_folder,
    finish,
    leave_out_images_pipeline,
    log_level,
    make_report,
    output_lock,
    run_spider,
    scrapy_settings,
)

EXAMPLES = """\
  newsmirror reprocess examples/cna -o output
  newsmirror reprocess output/.newsmirror/httpcache --dry-run
  newsmirror reprocess crawl.warc.gz --diff | less
"""


def register(sub: Subparsers) -> None:
    p = add_command(
        sub,
        "reprocess",
        "re-run extraction over saved pages, offline",
        "Re-extract and rewrite posts from saved pages without the network: .html files or "
        "folders of them, a Scrapy HTTP cache folder, .warc/.warc.gz files. Only posts whose "
        "bytes change are rewritten.",
        EXAMPLES,
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help=".html file or folder, Scrapy HTTP cache, .warc[.gz]"
    )
    p.add_argument("--dry-run", action="store_true", help="write nothing; list what would be written")
    p.add_argument("--diff", action="store_true", help="print unified diffs of changed posts to stdout")
    p.add_argument(
        "--download-images",
        action="store_true",
        help="store the posts' images in OUT/assets/img/ from the Scrapy HTTP cache or WARC files "
        "among PATHs (a crawl's --download-images with --cache/--warc keeps them); nothing is "
        "fetched, an image not in them keeps its URL",
    )
    add_common_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import headstart

    check_output_folder(args.output)  # a usage error exits before any worker is forked
    headstart.begin(args, log_level(args))  # the first files go to the workers, while Scrapy is imported
    try:
        return _reprocess(args)
    finally:
        headstart.discard()  # what no pool took (a usage error, a held lock, nothing new)


def _reprocess(args: argparse.Namespace) -> int:
    from ..spiders.cache import CacheSpider

    settings = scrapy_settings(args)
    _offline(settings, images=args.download_images)
    if args.download_images:
        _images_from_cache(settings, args.paths)
    with output_lock(args, settings):
        report = make_report(args)
        run_spider(CacheSpider, settings, report, paths=args.paths, label=args.label)
        return finish(report, args)


def _offline(settings: Any, images: bool) -> None:
    """Nothing in a reprocess goes to the network, so none of Scrapy's download stack is
    loaded: no download handler (HTTP, TLS, FTP, S3), no downloader middleware (retries,
    cookies, compression, robots.txt) and, without --download-images, no images pipeline.
    Offline by construction, and a quarter less start-up: those imports are most of it."""
    settings.set("DOWNLOAD_HANDLERS_BASE", {}, priority="cmdline")
    settings.set("DOWNLOADER_MIDDLEWARES_BASE", {}, priority="cmdline")
    settings.set("DOWNLOADER_MIDDLEWARES", {}, priority="cmdline")
    settings.set("SPIDER_MIDDLEWARES_BASE", {}, priority="cmdline")
    settings.set("ROBOTSTXT_OBEY", False, priority="cmdline")
    if not images:
        leave_out_images_pipeline(settings)


def _images_from_cache(settings: Any, paths: list[str]) -> None:
    """Image requests are answered from the HTTP cache folders and WARCs among PATHs, never the
    network."""
    from ..scrapy_parts.stored_media import cache_spider_folders, warc_files

    folders = cache_spider_folders([Path(p) for p in paths])
    settings.set("NEWSMIRROR_STORED_MEDIA", [str(f) for f in folders], priority="cmdline")
    settings.set("NEWSMIRROR_STORED_WARCS", [str(f) for f in warc_files([Path(p) for p in paths])],
                 priority="cmdline")
    middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    middlewares["newsmirror.scrapy_parts.stored_media.StoredMediaMiddleware"] = 10
    settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="cmdline")
