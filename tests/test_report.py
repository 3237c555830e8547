"""Run report: what is printed while running, the summary and the JSON."""

from __future__ import annotations

import io
import json

from newsmirror import report as report_module
from newsmirror.report import RunReport


def test_small_runs_name_every_post_big_runs_show_progress(monkeypatch, tmp_path):
    monkeypatch.setattr(report_module, "PROGRESS_EVERY_S", 0.0)
    rep = RunReport(command="reprocess", expected=30)
    rep.stream = io.StringIO()
    for i in range(29):
        rep.done("new", f"https://www.cna.com.tw/news/aopl/2023091103{i:02d}.aspx", f"_posts/p{i}.md")
    rep.fail("/tmp/bad.html", "expired article:\n CNA shows only the notice")
    lines = rep.stream.getvalue().splitlines()
    named = [line for line in lines if line.startswith("new ")]
    assert len(named) == report_module.LIST_LIMIT
    assert "error: /tmp/bad.html: expired article: CNA shows only the notice" in lines
    assert lines[-1] == "... 30/30 pages: 29 new, 1 failed"
    rep.finish()
    assert rep.summary().startswith("reprocess: 29 new, 0 updated, 0 unchanged, 1 failed in ")
    assert rep.exit_code == 1
    rep.write_json(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["counts"] == {"new": 29, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 1}
    assert data["failures"] == [{"url": "/tmp/bad.html", "reason": "expired article: CNA shows only the notice",
                                 "final_url": "/tmp/bad.html", "post": ""}]
    assert len(data["posts"]) == 29 and data["exit_code"] == 1


def test_quiet_prints_only_errors():
    rep = RunReport()
    rep.stream, rep.quiet = io.StringIO(), True
    rep.done("new", "u", "p")
    rep.skip("u2", "older than --since")
    rep.fail("u3", "HTTP 404")
    assert rep.stream.getvalue() == "error: u3: HTTP 404\n"
    assert rep.exit_code == 1 and rep.counts["skipped"] == 1
