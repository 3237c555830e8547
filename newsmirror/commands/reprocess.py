"""``newsmirror reprocess PATH…``: re-extract posts from saved pages, offline."""

from __future__ import annotations

import argparse

from .common import (
    Subparsers,
    add_command,
    add_common_options,
    finish,
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
    add_common_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..spiders.cache import CacheSpider

    settings = scrapy_settings(args)
    with output_lock(args, settings):
        report = make_report(args)
        run_spider(CacheSpider, settings, report, paths=args.paths, label=args.label)
        return finish(report, args)
