"""``newsmirror worker --redis URL``: fetch, extract and clean what a coordinator queued.

A worker needs nothing local: no output folder, no seen-store, no sources file.  Its results go
back through Redis to the coordinator (``newsmirror crawl --redis URL``), which alone writes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile

from .common import Subparsers, add_command, add_verbosity_options, run_spider
from .crawl import add_distributed_arguments, crawl_settings

EXAMPLES = """\
  newsmirror worker --redis redis://127.0.0.1:6379/0
  newsmirror worker --redis redis://:PASSWORD@queue-host:6379/0 --idle-timeout 0   # a service
  systemctl enable --now newsmirror-worker@1 newsmirror-worker@2                   # deploy/
"""

# options of the writer: the coordinator's, meaningless here
IGNORED = {"output": "-o", "state": "--state", "label": "--label", "filename": "--filename", "body": "--body",
           "sources": "--sources"}


def register(sub: Subparsers) -> None:
    p = add_command(
        sub,
        "worker",
        "process URLs from a shared Redis queue (distributed crawl)",
        "Take article requests from the Redis queue a `newsmirror crawl --redis` coordinator fills, "
        "fetch, extract and clean them, and hand the results back through Redis; the coordinator "
        "writes the posts. Stops once nothing is queued or in progress for --idle-timeout seconds.",
        EXAMPLES,
    )
    p.add_argument(
        "--sources", metavar="FILE", help="not needed any more (the coordinator reads the sources); ignored"
    )
    add_distributed_arguments(p, required=True)
    for flags, name in (
        (("-o", "--output"), "OUT"), (("--state",), "DB"), (("--label",), "TEXT"),
        (("--filename",), "STYLE"), (("--body",), "FORMAT"),
    ):
        p.add_argument(*flags, metavar=name, help="the coordinator's option: ignored (workers write nothing)")
    p.add_argument(
        "-s",
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a Scrapy setting, e.g. -s CONCURRENT_REQUESTS_PER_DOMAIN=1 (repeatable)",
    )
    add_verbosity_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Workers take no run lock and write nothing: a temporary folder stands in for OUT."""
    from ..distributed.worker import ForwardingReport
    from ..spiders.discover import DiscoverSpider

    given = [flag for name, flag in IGNORED.items() if getattr(args, name, None)]
    if given:
        note = f"note: {', '.join(given)} ignored: workers write nothing, the coordinator does"
        print(note, file=sys.stderr)
    args.label = args.state = None
    args.filename, args.body = "id", "html"
    with tempfile.TemporaryDirectory(prefix="newsmirror-worker-") as scratch:
        args.output = scratch
        settings = crawl_settings(args)
        report = ForwardingReport(command="worker")
        report.stream = sys.stderr
        report.verbose = args.verbose >= 1 and not args.quiet
        report.quiet = args.quiet
        run_spider(DiscoverSpider, settings, report, sources=[], worker=True)
        report.finish()
    print(report.summary(), file=sys.stderr)
    return report.exit_code
