"""``newsmirror export`` (everything on disk) and ``-s FEEDS=...`` (the articles of one run)."""

from __future__ import annotations

import csv
import io
import json
import shutil

from helpers import FIXTURES, REPO, run_cli

GOLDEN = FIXTURES / "seed/expected_clean.md"
GOLDEN_NAME = "2023-09-11-cna-202309110310.md"


def test_export_reads_every_post_back_as_jsonl_and_csv(tmp_path):
    out = tmp_path / "out"
    assert run_cli("reprocess", "examples/cna", "-o", str(out), "-q").returncode == 0
    day = out / "archived/2023-01-01"
    day.mkdir(parents=True)
    shutil.copy(FIXTURES / "seed/000_fe3e056e8940f0c2.txt", day / "2023-01-01-old-system-post.md")

    result = run_cli("export", "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 9 and result.stderr == "export: 9 posts, 0 failed\n"
    golden = next(r for r in rows if r["post_path"] == f"_posts/{GOLDEN_NAME}")
    assert list(golden) == ["title", "date", "url", "label", "post_path", "text"]
    assert golden["title"] == "越美產官峰會 半導體與新科技合作成焦點"
    assert golden["date"] == "2023-09-11T12:40:00.000Z"
    assert golden["url"] == "https://www.cna.com.tw/news/aopl/202309110310.aspx"
    assert golden["label"] == "(臺)中央社CNA"
    lines = golden["text"].splitlines()
    assert lines[0].startswith("（中央社記者陳家倫河內11日專電）14家越南與美國企業")
    assert "<" not in golden["text"] and "imgcdn" not in golden["text"]  # no markup, no figure
    assert rows[-1]["post_path"] == "archived/2023-01-01/2023-01-01-old-system-post.md"

    as_csv = run_cli("export", "--format", "csv", "--file", str(tmp_path / "all.csv"), "-o", str(out))
    assert as_csv.returncode == 0 and as_csv.stdout == ""
    table = list(csv.DictReader(io.StringIO((tmp_path / "all.csv").read_text(encoding="utf-8"))))
    assert [dict(r) for r in table] == rows  # same records, multi-line text quoted
    assert not list(tmp_path.glob(".all.csv.tmp"))


def test_an_unreadable_post_is_one_line_and_exit_1(tmp_path):
    out = tmp_path / "out"
    (out / "_posts").mkdir(parents=True)
    shutil.copy(GOLDEN, out / "_posts" / GOLDEN_NAME)
    (out / "_posts/2023-01-02-broken.md").write_text("no front matter here\n")
    result = run_cli("export", "-o", str(out))
    assert result.returncode == 1
    assert f"error: {out / '_posts/2023-01-02-broken.md'}: no front matter (--- ... ---) at the top" in result.stderr
    assert len(result.stdout.splitlines()) == 1


def test_feeds_setting_exports_the_articles_of_a_run(tmp_path):
    """What the README documents for per-run exports: Scrapy's own FEEDS, through -s."""
    out = tmp_path / "out"
    feed = tmp_path / "run.jsonl"
    feeds = json.dumps({str(feed): {"format": "jsonlines", "fields": ["title", "url", "post_path", "outcome"]}})
    result = run_cli("reprocess", str(REPO / "examples/cna"), "-o", str(out), "-q", "-s", f"FEEDS={feeds}")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in feed.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 8 and {r["outcome"] for r in rows} == {"new"}
    assert {"title": "越美產官峰會 半導體與新科技合作成焦點", "url": "https://www.cna.com.tw/news/aopl/202309110310.aspx",
            "post_path": f"_posts/{GOLDEN_NAME}", "outcome": "new"} in rows
