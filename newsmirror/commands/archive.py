"""``newsmirror archive --older-than DAYS``: move old posts out of ``_posts/``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import (
    EXIT_OK,
    Subparsers,
    add_command,
    add_output_option,
    add_verbosity_options,
    output_lock,
)

EXAMPLES = """\
  newsmirror archive --older-than 30
  newsmirror archive --older-than 7 -o site --dry-run
"""


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of days >= 0, got {text!r}")
    return value


def register(sub: Subparsers) -> None:
    p = add_command(
        sub,
        "archive",
        "move old posts from _posts/ to archived/YYYY-MM-DD/",
        "Move posts published more than DAYS days ago from OUT/_posts/ to "
        "OUT/archived/YYYY-MM-DD/, as the replaced system did. The seen-store follows the move, "
        "so archived articles are never mirrored again.",
        EXAMPLES,
    )
    p.add_argument(
        "--older-than", type=_days, required=True, metavar="DAYS", help="archive posts older than DAYS days"
    )
    add_output_option(p)
    p.add_argument(
        "--state", metavar="DB", help="seen-store SQLite file (default: OUT/.newsmirror/state.sqlite)"
    )
    p.add_argument("--dry-run", action="store_true", help="move nothing; list what would move")
    add_verbosity_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..archive import archive_posts
    from ..runtime import default_state_path
    from ..state import SeenStore
    from .common import check_output_folder

    check_output_folder(args.output)
    out = Path(args.output)
    with output_lock(args), SeenStore(args.state or default_state_path(out)) as store:
        result = archive_posts(out, args.older_than, store, dry_run=args.dry_run)
    verb = "would move" if args.dry_run else "moved"
    listing = sys.stdout if args.dry_run else sys.stderr
    if not args.quiet:
        for old, new in result.moved:
            print(f"{verb} {old} -> {new}", file=listing)
    for path, reason in result.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"archive: {len(result.moved)} {verb}, {len(result.skipped)} skipped", file=sys.stderr)
    return EXIT_OK
