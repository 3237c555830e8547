"""``newsmirror site init|build|serve``: the output folder as a Jekyll site.

``init`` writes the packaged template (config, layouts, listing plugin, stylesheet) next to the
posts; ``build`` and ``serve`` run the system's ``jekyll`` on it. Jekyll's own output passes
through; a missing ``jekyll`` is one line saying how to install it (exit 3).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from .common import EXIT_CODES, EXIT_OK, CannotRun, Subparsers, add_command, check_output_folder

EXAMPLES = """\
  newsmirror site init output                   # the site files, next to the posts
  newsmirror reprocess examples/cna -o output && newsmirror site build -o output
  newsmirror site build -o output --baseurl /my-mirror   # a GitHub Pages project site
  newsmirror site serve -o output --port 4000   # http://127.0.0.1:4000/
"""

INIT_EXAMPLES = """\
  newsmirror site init output           # missing files only; edited ones are kept
  newsmirror site init site --force     # back to the packaged template
"""
BUILD_EXAMPLES = """\
  newsmirror site build -o output                       # -> output/_site/
  newsmirror site build -o output --baseurl /my-mirror --url https://me.github.io
"""
SERVE_EXAMPLES = """\
  newsmirror site serve -o output                       # http://127.0.0.1:4000/
  newsmirror site serve -o output --host 0.0.0.0 --port 8080
"""


def _action(actions: Subparsers, name: str, summary: str, description: str,
            examples: str) -> argparse.ArgumentParser:
    return actions.add_parser(name, help=summary, description=description,
                              epilog=f"examples:\n{examples.rstrip()}\n\n{EXIT_CODES}",
                              formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_out(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", default="output", metavar="OUT",
                   help="the site folder: posts in OUT/_posts/ (default: %(default)s)")


def _add_jekyll_options(p: argparse.ArgumentParser) -> None:
    _add_out(p)
    p.add_argument("-d", "--destination", metavar="DIR",
                   help="where the built site goes (default: OUT/_site)")
    p.add_argument("--baseurl", metavar="PATH",
                   help="serve under this path, e.g. /repo for a GitHub Pages project site "
                   "(default: _config.yml's)")
    p.add_argument("--url", metavar="URL",
                   help="the site's absolute URL, for the Atom feed's links, e.g. https://you.github.io")
    p.add_argument("-q", "--quiet", action="store_true", help="only Jekyll's errors and warnings")
    p.add_argument("-v", "--verbose", action="count", default=0, help="Jekyll's --verbose output")


def register(sub: Subparsers) -> None:
    p = add_command(
        sub,
        "site",
        "make, build or serve the Jekyll site around the posts",
        "The output folder is a Jekyll site: `init` writes its config, layouts and stylesheet (never "
        "touching posts), `build` runs `jekyll build` (into OUT/_site), `serve` runs `jekyll serve`. "
        "Needs Jekyll 4 and jekyll-feed (Debian: apt-get install jekyll ruby-jekyll-feed).",
        EXAMPLES,
    )
    actions = p.add_subparsers(dest="site_action", metavar="ACTION", required=True,
                               help="init, build or serve")
    init = _action(actions, "init", "write the site files into a folder",
                   "Write the site template into DIR; posts are never touched.", INIT_EXAMPLES)
    init.add_argument("dir", nargs="?", default="output", metavar="DIR",
                      help="the output folder to make a site of (default: %(default)s)")
    init.add_argument("--force", action="store_true",
                      help="overwrite template files that were edited (default: keep them)")
    init.add_argument("--dry-run", action="store_true", help="write nothing; list what would be written")
    init.add_argument("-q", "--quiet", action="store_true", help="only the summary line")
    build = _action(actions, "build", "jekyll build the site (OUT/_site)",
                    "Run `jekyll build` on OUT (writing the template first if OUT has no _config.yml).",
                    BUILD_EXAMPLES)
    _add_jekyll_options(build)
    serve = _action(actions, "serve", "jekyll serve the site locally",
                    "Run `jekyll serve` on OUT: rebuilds on change, Ctrl-C stops.", SERVE_EXAMPLES)
    _add_jekyll_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=4000, help="port to listen on (default: %(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.site_action == "init":
        return _init(Path(args.dir), args)
    return _jekyll(args)


def _init(out: Path, args: argparse.Namespace) -> int:
    from ..jekyll import init_site

    check_output_folder(str(out))
    try:
        result = init_site(out, overwrite=args.force, dry_run=args.dry_run)
    except OSError as exc:
        raise CannotRun(f"cannot write to {out}: {exc.strerror or exc}") from exc
    verb = "would be written" if args.dry_run else "written"
    if not args.quiet:
        for rel in result.written:
            print(f"{'would write' if args.dry_run else 'wrote'} {out / rel}", file=sys.stderr)
        for rel in result.kept:
            print(f"kept {out / rel} (edited; --force overwrites it)", file=sys.stderr)
    print(f"site init: {len(result.written)} {verb}, {len(result.kept)} kept, "
          f"{len(result.unchanged)} unchanged in {out}", file=sys.stderr)
    return EXIT_OK


def _jekyll(args: argparse.Namespace) -> int:
    from ..jekyll import INSTALL_HINT, feed_plugin_loads, find_jekyll, jekyll_command

    out = Path(args.output)
    check_output_folder(args.output)
    jekyll = find_jekyll()
    if jekyll is None:
        raise CannotRun(INSTALL_HINT)
    if not out.is_dir():
        raise CannotRun(f"{out}: no such folder (posts go to OUT/_posts/; run a crawl or reprocess first)")
    if not (out / "_config.yml").is_file():
        print(f"site {args.site_action}: {out} has no _config.yml; writing the site template first",
              file=sys.stderr)
        _init(out, argparse.Namespace(force=False, dry_run=False, quiet=True))
    destination = Path(args.destination) if args.destination else out / "_site"
    extra = ["--quiet"] if args.quiet else ["--verbose"] if args.verbose else []
    if args.site_action == "serve":
        extra += ["--host", args.host, "--port", str(args.port)]
    cmd = jekyll_command(jekyll, args.site_action, out, destination, args.baseurl, args.url, extra)
    try:
        process = subprocess.Popen(cmd)
    except OSError as exc:
        raise CannotRun(f"cannot start {jekyll}: {exc.strerror or exc}") from exc
    try:
        code = process.wait()
    except KeyboardInterrupt:  # Ctrl-C reached jekyll too: the normal way to stop `serve`
        try:
            code = process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        if args.site_action == "serve":
            print("site serve: stopped", file=sys.stderr)
            return EXIT_OK
        raise
    if code != 0:
        if not feed_plugin_loads():
            raise CannotRun(f"jekyll-feed is not installed: {INSTALL_HINT.split(': ', 1)[1]}")
        raise CannotRun(f"jekyll {args.site_action} failed on {out} (exit {code}; its errors are above)")
    if args.site_action == "build":
        pages = sum(1 for _ in destination.rglob("*.html"))
        print(f"site build: {pages} pages in {destination}", file=sys.stderr)
    return EXIT_OK


__all__ = ["register", "run"]
