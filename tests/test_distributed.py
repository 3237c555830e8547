"""Distributed crawl through a real Redis: a worker and the crawl share one queue and one
duplicate filter (scrapy-redis); every article is written exactly once."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import frontmatter
import pytest
from helpers import FAST, REPO, run_cli
from test_crawl import PAGES, serve, sources_file

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def test_worker_and_crawl_share_the_queue(site, tmp_path, redis_url):
    serve(site, delay=1.5)  # the crawl alone needs > 10 s: the idle worker polls every 5 s
    out = tmp_path / "out"
    sources = sources_file(site, tmp_path)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    worker = subprocess.Popen(
        [sys.executable, "-m", "newsmirror", "worker", "--redis", redis_url, "--sources", str(sources),
         "--idle-timeout", "6", "-o", str(out), *FAST, "-s", "CONCURRENT_REQUESTS=8"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)  # let the worker start polling
    crawl = run_cli("crawl", "--sources", str(sources), "--redis", redis_url, "-o", str(out), *FAST,
                    "-s", "CONCURRENT_REQUESTS=1")
    _, worker_err = worker.communicate(timeout=120)
    assert crawl.returncode == 0, crawl.stderr
    assert worker.returncode == 0, worker_err
    posts = sorted((out / "_posts").glob("*.md"))
    assert len(posts) == len(PAGES)
    assert len({frontmatter.load(p)["from"] for p in posts}) == len(PAGES)
    worker_new = worker_err.count("\nnew ") + worker_err.startswith("new ")
    crawl_new = crawl.stderr.count("\nnew ") + crawl.stderr.startswith("new ")
    assert worker_new + crawl_new == len(PAGES)
    assert worker_new >= 1, "the worker took no work"
    assert sum(site.hits(p) for p in PAGES) == len(PAGES)  # the shared dupefilter: one fetch each


def test_worker_needs_redis_url():
    result = run_cli("worker")
    assert result.returncode == 2 and "--redis" in result.stderr


def test_unreachable_redis_exits_3_with_one_line(tmp_path):
    port = free_port()  # nothing listens there
    result = run_cli("worker", "--redis", f"redis://127.0.0.1:{port}/0", "-o", str(tmp_path))
    assert result.returncode == 3
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"newsmirror: cannot run: cannot reach Redis at redis://127.0.0.1:{port}/0: ")
    assert "refused" in line.lower()
