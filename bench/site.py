"""Speed of ``newsmirror site build`` with thousands of posts, as a ratio against a bare ``jekyll build``
of the same posts (no layouts, listings, plugin or feed) measured in the same run.

    python bench/site.py             # N=3000 posts, 3 repeats, median
    python bench/site.py --quick     # N=300, 1 repeat
    python bench/site.py --check     # exit 1 when the ratio misses its goal

The posts are the golden post (tests/fixtures/seed/expected_clean.md) under N ids, one every 37
minutes, so a month page holds about 1 170 of them. Each build starts from an empty destination.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests/fixtures/seed/expected_clean.md"
GOAL = 1.5  # our build / bare jekyll build (measured 0.85-0.97: README.md "The site")
TIMEOUT_S = 1800


def make_posts(posts: Path, n: int) -> None:
    text = GOLDEN.read_text(encoding="utf-8")
    start = datetime(2023, 9, 11, 12, 40, tzinfo=timezone.utc)
    posts.mkdir(parents=True)
    for i in range(n):
        when = start - timedelta(minutes=37 * i)
        article_id = f"{when:%Y%m%d}{i:04d}"
        post = text.replace("2023-09-11T12:40:00.000Z", when.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        post = post.replace("202309110310", article_id)
        (posts / f"{when:%Y-%m-%d}-cna-{article_id}.md").write_text(post, encoding="utf-8")


def timed(cmd: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=TIMEOUT_S)
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--posts", type=int, default=3000, help="number of posts (default: 3000)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats; the median counts (default: 3)")
    parser.add_argument("--quick", action="store_true", help="300 posts, 1 repeat")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if the ratio is above {GOAL}")
    args = parser.parse_args(argv)
    n, repeat = (300, 1) if args.quick else (args.posts, args.repeat)
    jekyll = shutil.which("jekyll")
    if jekyll is None:
        print("jekyll is not installed: apt-get install jekyll ruby-jekyll-feed", file=sys.stderr)
        return 3
    with tempfile.TemporaryDirectory(prefix="newsmirror-site-bench-") as scratch:
        ours, bare = Path(scratch) / "ours", Path(scratch) / "bare"
        make_posts(ours / "_posts", n)
        shutil.copytree(ours / "_posts", bare / "_posts")
        (bare / "_config.yml").write_text("timezone: UTC\n", encoding="utf-8")
        subprocess.run([sys.executable, "-m", "newsmirror", "site", "init", str(ours), "-q"], check=True,
                       cwd=REPO, timeout=TIMEOUT_S)
        times: dict[str, list[float]] = {"ours": [], "bare": []}
        for _ in range(repeat):  # back to back, so both see the same machine load
            for name, cmd in (
                ("bare", [jekyll, "build", "-q", "-s", str(bare), "-d", str(bare / "_site")]),
                ("ours", [sys.executable, "-m", "newsmirror", "site", "build", "-o", str(ours), "-q"]),
            ):
                shutil.rmtree((ours if name == "ours" else bare) / "_site", ignore_errors=True)
                times[name].append(timed(cmd))
        pages = sum(1 for _ in (ours / "_site").rglob("*.html"))
        index_kib = (ours / "_site/index.html").stat().st_size / 1024
    ours_s, bare_s = statistics.median(times["ours"]), statistics.median(times["bare"])
    ratio = ours_s / bare_s
    print(f"{n} posts, {pages} pages: newsmirror site build {ours_s:.1f} s, bare jekyll build {bare_s:.1f} s "
          f"(median of {repeat}); index.html {index_kib:.0f} KiB")
    print(f"ratio site build / bare jekyll build: {ratio:.2f} (goal <= {GOAL})")
    return 1 if args.check and ratio > GOAL else 0


if __name__ == "__main__":
    sys.exit(main())
