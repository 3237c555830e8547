"""``newsmirror archive --older-than DAYS``: move old posts out of ``_posts/``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from .common import (
    EXIT_OK,
    Subparsers,
    add_command,
    add_output_option,
    add_verbosity_options,
    output_lock,
    report_path,
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
    from ..progress import LIST_LIMIT
    from ..state import SeenStore, default_state_path
    from .common import check_output_folder

    check_output_folder(args.output)
    out = Path(args.output)
    started = datetime.now(timezone.utc)
    t0 = time.monotonic()
    with output_lock(args), SeenStore(args.state or default_state_path(out)) as store:
        result = archive_posts(out, args.older_than, store, dry_run=args.dry_run)
    verb = "would move" if args.dry_run else "moved"
    listing = sys.stdout if args.dry_run else sys.stderr
    if args.dry_run or (not args.quiet and (args.verbose or len(result.moved) <= LIST_LIMIT)):
        for old, new in result.moved:
            print(f"{verb} {old} -> {new}", file=listing)
    for path, reason in result.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    summary = (
        f"archive: {len(result.moved)} {verb}, {len(result.skipped)} skipped in {time.monotonic() - t0:.1f}s"
    )
    if not args.dry_run:
        path = report_path(out, "archive")
        atomic_write_text(
            path, json.dumps(_report(args, started, t0, result), ensure_ascii=False, indent=2) + "\n"
        )
        summary += f"; posts: {out / 'archived'}; report: {path}"
    print(summary, file=sys.stderr)
    return EXIT_OK


def _report(args: argparse.Namespace, started: datetime, t0: float, result: Any) -> dict[str, Any]:
    """The JSON run report, in the shape of the other commands' where the fields mean the same."""
    return {
        "command": "archive",
        "started_at": started.isoformat(timespec="seconds"),
        "older_than_days": args.older_than,
        "counts": {"moved": len(result.moved), "skipped": len(result.skipped)},
        "moved": [{"from": old, "to": new} for old, new in result.moved],
        "skipped": [{"url": path, "reason": reason} for path, reason in result.skipped],
        "duration_s": round(time.monotonic() - t0, 3),
        "exit_code": EXIT_OK,
    }
