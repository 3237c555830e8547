"""How long a 20 MB page freezes Scrapy's event loop while it is parsed.

A LoopingCall ticks every 20 ms on the Twisted reactor while ExtractPipeline parses a real CNA
page padded to 20 MB with 500 000 elements, once in the worker thread (what a crawl does) and
once inline (``NEWSMIRROR_PARSE_IN_THREAD=False``).  The longest gap between ticks is how long
downloads in flight would wait.  Reported as a ratio threaded/inline (goal: < 0.2).

    python bench/event_loop.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "tests/fixtures/cna/cna-2023-acn-202308230192.html"


def measure(threaded: bool) -> dict[str, float]:
    from twisted.internet import reactor, task

    from newsmirror.items import Page
    from newsmirror.pipelines.extract import ExtractPipeline

    filler = '<div class="x"><span>填充</span></div>' * 500_000
    body = PAGE.read_text(encoding="utf-8").replace("</head>", "</head>" + filler, 1).encode()
    pipe = ExtractPipeline(threaded=threaded)
    pipe.open_spider()
    gaps: list[float] = []
    last = [time.perf_counter()]
    result: dict[str, float] = {}

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    def go() -> None:
        start = time.perf_counter()
        page = Page(url="https://www.cna.com.tw/news/acn/202308230192.aspx", body=body)
        out = pipe.process_item(page)

        def done(_: object) -> None:
            result.update(parse_s=time.perf_counter() - start, max_gap_s=max(gaps), mib=len(body) / 2**20)
            pipe.close_spider()
            reactor.stop()

        if hasattr(out, "addBoth"):
            out.addBoth(done)
        else:
            reactor.callLater(0.1, done, None)

    task.LoopingCall(tick).start(0.02)
    reactor.callLater(0.2, go)
    reactor.run()
    return result


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] in ("thread", "inline"):
        print(json.dumps(measure(sys.argv[1] == "thread")))
        return 0
    runs = {}
    for mode in ("thread", "inline"):  # one process each: a Twisted reactor runs once
        out = subprocess.run([sys.executable, __file__, mode], capture_output=True, text=True, check=True,
                             cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=300)
        runs[mode] = json.loads(out.stdout)
    ratio = runs["thread"]["max_gap_s"] / runs["inline"]["max_gap_s"]
    for mode, r in runs.items():
        print(f"{mode:<7} {r['mib']:.0f} MiB page parsed in {r['parse_s']:.2f} s; "
              f"longest event-loop gap {r['max_gap_s']:.3f} s")
    print(f"ratio threaded/inline gap: {ratio:.3f} (goal < 0.2): {'met' if ratio < 0.2 else 'MISSED'}")
    return 0 if ratio < 0.2 else 1


if __name__ == "__main__":
    sys.exit(main())
