"""``newsmirror worker --redis URL``: process requests from a shared Redis queue."""

from __future__ import annotations

import argparse

from .common import (
    Subparsers,
    add_command,
    add_common_options,
    add_image_option,
    finish,
    make_report,
    run_spider,
)
from .crawl import add_distributed_arguments, crawl_settings, load_run_sources

EXAMPLES = """\
  newsmirror worker --redis redis://127.0.0.1:6379/0
  newsmirror worker --redis redis://queue-host:6379/0 --idle-timeout 300 -o output
"""


def register(sub: Subparsers) -> None:
    p = add_command(
        sub,
        "worker",
        "process URLs from a shared Redis queue (distributed crawl)",
        "Take article requests from the Redis queue a `newsmirror crawl --redis` run fills, and "
        "process them until the queue has been empty for --idle-timeout seconds.",
        EXAMPLES,
    )
    p.add_argument(
        "--sources", metavar="FILE", help="the same sources file the crawl uses (default: packaged)"
    )
    add_image_option(p)
    add_distributed_arguments(p, required=True)
    add_common_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Workers share OUT with each other and the crawl, so they take no run lock."""
    from ..spiders.discover import DiscoverSpider

    sources = load_run_sources(args)
    report = make_report(args)
    for source in sources:
        report.health.expect(source.name)  # a worker reads no entry points itself
    run_spider(DiscoverSpider, crawl_settings(args), report, sources=sources, worker=True, label=args.label)
    return finish(report, args)
