"""The command line: one module per subcommand, each with ``register(sub)`` and ``run(args)``.

Exit codes: 0 all good, 1 some inputs failed, 2 usage error, 3 could not run (lock held, bad
configuration, crash), 4 a source looks broken.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from types import ModuleType

from .. import __version__
from . import archive, crawl, export, mirror, reprocess, site, sources, state, worker
from .common import EXIT_CANNOT_RUN, EXIT_CODES, EXIT_USAGE, CannotRun, UsageError

COMMANDS: tuple[ModuleType, ...] = (mirror, reprocess, crawl, worker, archive, sources, state, export, site)

EXAMPLES = """\
examples:
  newsmirror reprocess examples/cna -o output      # the bundled pages, offline
  newsmirror mirror https://www.cna.com.tw/news/aopl/202309110310.aspx
  newsmirror crawl --since 2h                      # a scheduled run (cron, systemd, CI)
  newsmirror site build -o output                  # the Jekyll site, in output/_site/
  newsmirror COMMAND --help                        # every command's options and examples
"""


class _Parser(argparse.ArgumentParser):
    """A usage error prints the usage of the (sub)command it belongs to, one error line, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="newsmirror",
        description="Mirror news articles (first of all CNA, www.cna.com.tw) into Jekyll posts.",
        epilog=f"{EXAMPLES}\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"newsmirror {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.register(sub)
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def entry_point() -> int:
    """The ``newsmirror`` command: :func:`main`, then an exit without the interpreter's final
    garbage collection over the whole heap (Scrapy, Twisted, lxml: ~70 ms of CPU at every exit).
    Every file a command writes is closed (and its posts durable) before main returns; freezing
    only keeps the collector from walking what is left, which the process is about to drop.
    The modules imported by then live to the end as well: frozen first, the collections of the
    run do not walk them (one full collection over them came due at start-up: ~14 ms)."""
    gc.freeze()
    code = main()
    gc.freeze()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # name the subcommand's usage, not the top-level one
        _subparser(parser, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.func(args)
    except UsageError as exc:
        _subparser(parser, args.command).print_usage(sys.stderr)
        print(f"newsmirror {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CannotRun as exc:
        print(f"newsmirror: cannot run: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        print("newsmirror: interrupted", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except Exception as exc:  # a bug or an environment problem: one line, the traceback with -v
        if getattr(args, "verbose", 0):
            import traceback

            traceback.print_exc()
        print(f"newsmirror: crashed: {type(exc).__name__}: {exc} (run with -v for the traceback)",
              file=sys.stderr)
        return EXIT_CANNOT_RUN
