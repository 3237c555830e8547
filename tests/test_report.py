"""Run report: what is printed while running, the summary and the JSON."""

from __future__ import annotations

import io
import json
import re

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
    assert re.fullmatch(r"\.\.\. 30/30 pages: 29 new, 1 failed \([\d.]+/s\)", lines[-1]), lines[-1]
    assert re.fullmatch(r"\.\.\. 29/30 pages: 29 new \([\d.]+/s, ETA \d+s\)", lines[-3]), lines[-3]
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


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_progress_is_one_live_line_wiped_before_other_lines(monkeypatch):
    from newsmirror import progress

    monkeypatch.setattr(progress, "LIVE_EVERY_S", 0.0)
    monkeypatch.delenv("TERM", raising=False)
    rep = RunReport(command="crawl")
    rep.stream = Terminal()
    rep.discovered = 4
    rep.done("new", "u1", "_posts/a.md")
    rep.fail("u2", "HTTP 404")
    out = rep.stream.getvalue()
    # named post, then the live line redrawn in place, wiped before the error line is printed
    assert out.startswith("new       _posts/a.md  <- u1\n\r\x1b[K... 1/4 pages: 1 new (")
    assert "ETA " in out
    assert "\r\x1b[Kerror: u2: HTTP 404\n\r\x1b[K... 2/4 pages: 1 new, 1 failed (" in out
    rep.progress.clear()
    assert rep.stream.getvalue().endswith("\r\x1b[K")
    assert "\n" not in out.rsplit("error: u2: HTTP 404\n", 1)[1]  # the live line never adds lines


def test_report_entries_are_written_as_json_dumps_writes_them():
    """Entries are flat dicts of strings, written without json's indenting encoder: the same
    bytes for quotes, backslashes, control characters, non-ASCII, U+2028, lone surrogates."""
    nasty = ['"', "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "中文", "\u2028", "\ud800", "😀", "</", ""]
    entries = [{"url": a + b, "reason": b + a, a or "k": b} for a in nasty for b in nasty]
    entries += [{}, {"n": 1}, {"post": None}, {"nested": {"a": "b"}}, [1, "x"], "text"]
    for entry in entries:
        for newline in ("\n", "\n    "):
            want = json.dumps(entry, ensure_ascii=False, indent=2).replace("\n", newline)
            assert report_module._indented(entry, newline) == want, entry


def test_one_extension_keeps_scrapys_core_stats_and_the_report(tmp_path):
    """The report extension takes CoreStats' place (one receiver per item signal): Scrapy's
    stats still count every scraped and dropped item."""
    from helpers import FIXTURES, run_cli
    from scrapy.extensions.corestats import CoreStats
    from scrapy.settings import Settings

    from newsmirror import settings as project_settings
    from newsmirror.scrapy_parts.report import ReportExtension

    enabled = Settings(vars(project_settings)).get_component_priority_dict_with_base("EXTENSIONS")
    assert issubclass(ReportExtension, CoreStats)
    assert [k for k in enabled if str(k).endswith(("CoreStats", "ReportExtension"))] == [
        "newsmirror.scrapy_parts.report.ReportExtension"]
    page = FIXTURES / "seed" / "202309110310.reconstructed.html"
    out = tmp_path / "out"
    first = run_cli("reprocess", str(page), "-o", str(out), "-vv")
    assert "'item_scraped_count': 1," in first.stderr and "1 new" in first.stderr
    again = run_cli("reprocess", str(page), "-o", str(out), "-vv")
    assert "'item_dropped_count': 1," in again.stderr and "1 unchanged" in again.stderr
    assert "'item_dropped_reasons_count/PageUnchanged': 1," in again.stderr
