"""``newsmirror export``: everything in the mirror as JSON Lines or CSV.

Scrapy's ``FEEDS`` (``-s FEEDS=...`` on any command) exports the articles of *one run*; this
exports every post on disk, whenever and however it was made, read back from the posts
themselves (see :mod:`newsmirror.reading`).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from contextlib import nullcontext
from dataclasses import asdict, fields
from pathlib import Path
from typing import IO, Any

from .common import EXIT_FAILED, EXIT_OK, CannotRun, Subparsers, add_command, add_output_option

EXAMPLES = """\
  newsmirror export > mirror.jsonl                  # every post in output/, JSON Lines
  newsmirror export --format csv --file mirror.csv -o site
  newsmirror export | jq -r 'select(.label == "(臺)中央社CNA") | .url'
"""


def register(sub: Subparsers) -> None:
    p = add_command(
        sub,
        "export",
        "export every post in the mirror as JSON Lines or CSV",
        "Write one record per post in OUT/_posts/ and OUT/archived/ (title, date, url, label, "
        "post_path, text = the body as plain text) to stdout or --file. For the articles of a "
        'single run, use Scrapy\'s feed exports instead: -s \'FEEDS={"run.jsonl": {"format": '
        '"jsonlines"}}\'.',
        EXAMPLES,
    )
    p.add_argument(
        "--format", choices=("jsonl", "csv"), default="jsonl", help="output format (default: jsonl)"
    )
    p.add_argument("--file", metavar="FILE", help="write to FILE (replaced atomically) instead of stdout")
    add_output_option(p)
    p.add_argument("-v", "--verbose", action="count", default=0, help="show a traceback if it crashes")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..reading import MirroredPost, iter_posts

    out = Path(args.output)
    if not out.is_dir():
        raise CannotRun(f"no mirror at {out}")
    exported, failed = 0, 0
    try:
        with _target(args.file) as stream:
            write = _writer(args.format, stream, [f.name for f in fields(MirroredPost)])
            for post in iter_posts(out):
                if isinstance(post, tuple):
                    failed += 1
                    print(f"error: {post[0]}: {post[1]}", file=sys.stderr)
                    continue
                write(asdict(post))
                exported += 1
    except BrokenPipeError:  # `newsmirror export | head`: the reader has what it wanted
        sys.stdout = None  # type: ignore[assignment]  # no second error while Python flushes it
        return EXIT_OK
    except OSError as exc:
        raise CannotRun(f"cannot write {args.file}: {exc.strerror or exc}") from exc
    if not args.quiet:
        where = f" to {args.file}" if args.file else ""
        print(f"export: {exported} posts{where}, {failed} failed", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _writer(fmt: str, stream: IO[str], columns: list[str]) -> Any:
    if fmt == "csv":
        writer = csv.DictWriter(stream, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        return writer.writerow
    return lambda row: stream.write(json.dumps(row, ensure_ascii=False) + "\n")


class _AtomicFile:
    """Write to a temp file next to FILE and rename it into place only when the export succeeded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.tmp")

    def __enter__(self) -> IO[str]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stream = self.tmp.open("w", encoding="utf-8", newline="")
        return self.stream

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        self.stream.close()
        if exc_type is None:
            self.tmp.replace(self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def _target(file: str | None) -> Any:
    return _AtomicFile(Path(file)) if file else nullcontext(sys.stdout)
