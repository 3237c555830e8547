"""``newsmirror mirror URL…``: fetch article pages once and write their posts."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from .common import (
    Subparsers,
    UsageError,
    add_command,
    add_common_options,
    add_image_option,
    finish,
    make_report,
    output_lock,
    run_spider,
    scrapy_settings,
)

EXAMPLES = """\
  newsmirror mirror https://www.cna.com.tw/news/aopl/202309110310.aspx
  newsmirror mirror URL1 URL2 -o site --label '(臺)中央社CNA'
  newsmirror mirror URL -s DOWNLOAD_DELAY=0 -v
"""


def register(sub: Subparsers) -> None:
    p = add_command(
        sub,
        "mirror",
        "fetch article URLs once and write their posts",
        "Fetch the given article URLs and write one post each. robots.txt, retries and "
        "throttling apply, as in a crawl.",
        EXAMPLES,
    )
    p.add_argument("urls", nargs="+", metavar="URL", help="article page URLs (http or https)")
    add_image_option(p)
    add_common_options(p)
    p.set_defaults(func=run)


def check_urls(urls: list[str], option: str = "URL") -> None:
    """http(s) URLs with a host, or one usage-error line naming the first that is not."""
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"{option} {url!r} is not an http(s) URL")


def run(args: argparse.Namespace) -> int:
    from ..spiders.url import UrlSpider

    check_urls(args.urls)
    settings = scrapy_settings(args)
    with output_lock(args, settings):
        report = make_report(args, expected=len(args.urls))
        run_spider(UrlSpider, settings, report, urls=args.urls, label=args.label)
        return finish(report, args)
