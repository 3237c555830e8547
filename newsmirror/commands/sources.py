"""``newsmirror sources import|check|show``: make, validate and show sources files.

``import`` migrates the replaced system: its ``subs.json`` lists (``[{"site": label, "url":
feed}, ...]``) become one full-text feed source per label, in one command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import EXIT_FAILED, EXIT_OK, Subparsers, UsageError, add_command

EXAMPLES = """\
  newsmirror sources import subs.json -o sources.toml
  newsmirror sources import waimei/subs.json society/subs.json teahouse/subs.json -o all.toml
  newsmirror sources check sources.toml
  newsmirror sources show > my-sources.toml
"""

IMPORT_EXAMPLES = """\
  newsmirror sources import subs.json -o sources.toml
  newsmirror sources import a/subs.json b/subs.json -o sources.toml --force
  newsmirror sources import subs.json          # print the sources file instead
"""

CHECK_EXAMPLES = """\
  newsmirror sources check sources.toml
  newsmirror sources check sources.toml -q     # only the verdict
"""

SHOW_EXAMPLES = """\
  newsmirror sources show
  newsmirror sources show > my-sources.toml && newsmirror crawl --sources my-sources.toml
"""


def register(sub: Subparsers) -> None:
    p = add_command(
        sub,
        "sources",
        "make, check and show sources files (sources import|check|show)",
        "Sources files list what `crawl` reads: [[source]] tables with name, label, parser "
        "(cna, generic, or feed: posts made from the feed items themselves), feeds / sitemaps / "
        "list_pages, and optional timezone, allow_domains, author and fetch_summary_only.",
        EXAMPLES,
    )
    actions = p.add_subparsers(
        dest="action", metavar="ACTION", required=True, help="import, check or show", parser_class=type(p)
    )

    imp = add_command(
        actions,
        "import",
        "convert the replaced system's subs.json files into a sources file",
        "Read subs.json files ([{\"site\": LABEL, \"url\": FEED}, ...]) and write a sources file "
        "with one full-text feed source (parser = \"feed\") per label, holding every feed of that "
        "label, in first-seen order. Entries without a usable URL are reported one line each and "
        "left out (exit 1); the rest is converted.",
        IMPORT_EXAMPLES,
    )
    imp.add_argument("subs", nargs="+", metavar="SUBS.json", help="subs.json file(s) of the replaced system")
    imp.add_argument(
        "-o", "--output", metavar="SOURCES.toml", help="write the sources file here (default: print it)"
    )
    imp.add_argument("--force", action="store_true", help="overwrite SOURCES.toml if it exists")
    imp.add_argument("-q", "--quiet", action="store_true", help="only errors and the summary line")
    imp.set_defaults(func=run_import)

    check = add_command(
        actions,
        "check",
        "validate a sources file and list its sources",
        "Read FILE as `crawl --sources FILE` would. A mistake is one line naming the file, the "
        "line of the [[source]] table and the key (exit 1); a good file lists its sources.",
        CHECK_EXAMPLES,
    )
    check.add_argument("file", metavar="FILE", help="the sources file (TOML) to check")
    check.add_argument("-q", "--quiet", action="store_true", help="print only the verdict line")
    check.set_defaults(func=run_check)

    show = add_command(
        actions,
        "show",
        "print the packaged default sources file",
        "Print newsmirror's packaged sources file (CNA's sitemaps and section feeds), to copy and edit.",
        SHOW_EXAMPLES,
    )
    show.set_defaults(func=run_show)


def run_import(args: argparse.Namespace) -> int:
    from ..atomic import atomic_write_text
    from ..sources import dump_sources, parse_sources_text, sources_from_subs

    out = Path(args.output) if args.output else None
    if out is not None and out.exists() and not args.force:
        raise UsageError(f"-o {out}: exists; pass --force to overwrite it")
    documents, errors = [], []
    for name in args.subs:
        try:
            documents.append((name, json.loads(Path(name).read_bytes())))
        except OSError as exc:
            errors.append(f"{name}: cannot read it: {exc.strerror or exc}")
        except ValueError as exc:
            errors.append(f"{name}: not JSON: {exc}")
    sources, problems = sources_from_subs(documents)
    errors += problems
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    if not sources:
        print(f"sources import: no sources ({len(errors)} errors)", file=sys.stderr)
        return EXIT_FAILED
    header = (
        "Sources converted by `newsmirror sources import` from\n"
        + "".join(f"  {Path(n).name}\n" for n, _ in documents)
        + "One full-text feed source per label of the replaced system: posts are made from the feed\n"
        "items (parser = \"feed\").  Add `timezone = \"Asia/Shanghai\"` (any IANA name) to a source\n"
        "whose feed writes times without an offset, and `fetch_summary_only = true` to one whose\n"
        "items carry only a summary.  Check with `newsmirror sources check FILE`."
    )
    text = dump_sources(sources, header)
    parse_sources_text(text, str(out or "<output>"))  # what we write, crawl can read
    if out is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(out, text)
    feeds = sum(len(s.feeds) for s in sources)
    where = f" -> {out}" if out else ""
    print(
        f"sources import: {len(documents)} files, {feeds} feeds, {len(sources)} sources{where}, "
        f"{len(errors)} errors",
        file=sys.stderr,
    )
    return EXIT_FAILED if errors else EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    from ..sources import SourcesError, load_sources

    try:
        sources = load_sources(args.file)
    except SourcesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if not args.quiet:
        for s in sources:
            entry = ", ".join(
                f"{len(urls)} {kind}{'s' if len(urls) > 1 else ''}"
                for kind, urls in (("sitemap", s.sitemaps), ("feed", s.feeds), ("list page", s.list_pages))
                if urls
            )
            extra = f", timezone {s.timezone}" if s.timezone else ""
            print(f"{s.name}\t{s.parser}\t{s.label}\t{entry}{extra}")
    print(f"sources check: {args.file}: OK, {len(sources)} sources", file=sys.stderr)
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    from importlib import resources

    sys.stdout.write(resources.files("newsmirror").joinpath("sources.toml").read_text(encoding="utf-8"))
    return EXIT_OK
