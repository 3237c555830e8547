"""The command line end to end, against a loopback HTTP server playing CNA."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from helpers import FAST, FIXTURES, REPO, run_cli

GOLDEN_PAGE = FIXTURES / "seed/202309110310.reconstructed.html"
GOLDEN_POST = FIXTURES / "seed/expected_clean.md"
ARTICLE_PATH = "/news/aopl/202309110310.aspx"
POST = "_posts/2023-09-11-cna-202309110310.md"


def serve_golden(site):
    site.add(ARTICLE_PATH, GOLDEN_PAGE.read_bytes())
    return site.url(ARTICLE_PATH)


def test_mirror_one_url_writes_the_golden_post(site, tmp_path):
    url = serve_golden(site)
    result = run_cli("mirror", url, "-o", str(tmp_path), *FAST)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / POST).read_bytes() == GOLDEN_POST.read_bytes()
    assert f"new       {POST}  <- https://www.cna.com.tw/news/aopl/202309110310.aspx" in result.stderr
    assert "mirror: 1 new, 0 updated, 0 unchanged, 0 failed" in result.stderr
    [report] = (tmp_path / ".newsmirror/runs").glob("*-mirror.json")
    data = json.loads(report.read_text())
    assert data["counts"]["new"] == 1 and data["exit_code"] == 0
    # again: nothing changes
    again = run_cli("mirror", url, "-o", str(tmp_path), *FAST)
    assert again.returncode == 0 and "0 new, 0 updated, 1 unchanged, 0 failed" in again.stderr


def test_mirror_reports_each_failure_on_one_line_and_goes_on(site, tmp_path):
    good = serve_golden(site)
    site.add("/list/aall.aspx", (FIXTURES / "cna/cna-2014-list-aall.html").read_bytes())
    site.add("/news/asoc/201603190029.aspx",
             (FIXTURES / "cna/cna-2019capture-asoc-201603190029-expired.html").read_bytes())
    missing, listing, expired = (site.url(p) for p in
                                 ("/news/aipl/209901010001.aspx", "/list/aall.aspx", "/news/asoc/201603190029.aspx"))
    result = run_cli("mirror", missing, listing, good, expired, "-o", str(tmp_path), *FAST)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert sorted(errors) == sorted([
        f"error: {missing}: HTTP 404",
        f"error: {listing}: no article id in the page's canonical/og:url (list or home page?)",
        f"error: {expired}: expired article: CNA shows only the '已過查詢時效' notice",
    ])
    assert (tmp_path / POST).read_bytes() == GOLDEN_POST.read_bytes()
    assert "1 new, 0 updated, 0 unchanged, 3 failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_mirror_options_label_filename_markdown(site, tmp_path):
    url = serve_golden(site)
    result = run_cli("mirror", url, "-o", str(tmp_path), "--label", "中央社: 測試", "--filename", "title",
                     "--body", "markdown", *FAST)
    assert result.returncode == 0, result.stderr
    post = tmp_path / "_posts/2023-09-11-越美產官峰會 半導體與新科技合作成焦點.md"
    text = post.read_text(encoding="utf-8")
    assert '\nauthor: "中央社: 測試"\n' in text and '\ntags: [ "中央社: 測試" ]\n' in text
    assert "<div>" not in text and "\n![到訪越南的美國總統拜登" in text


def test_robots_txt_is_obeyed(site, tmp_path):
    url = serve_golden(site)
    site.add("/robots.txt", "User-agent: *\nDisallow: /news/\n", content_type="text/plain")
    result = run_cli("mirror", url, "-o", str(tmp_path), *FAST)
    assert result.returncode == 1
    assert f"error: {url}: forbidden by robots.txt" in result.stderr
    assert not (tmp_path / POST).exists()


def test_server_error_is_retried(site, tmp_path):
    from loopback import Reply

    answers = iter([Reply(500, b"oops"), Reply(200, GOLDEN_PAGE.read_bytes())])
    site.add(ARTICLE_PATH, lambda: next(answers))
    result = run_cli("mirror", site.url(ARTICLE_PATH), "-o", str(tmp_path), *FAST)
    assert result.returncode == 0, result.stderr
    assert site.hits(ARTICLE_PATH) == 2
    assert (tmp_path / POST).read_bytes() == GOLDEN_POST.read_bytes()


def test_scrapy_crawl_url_from_the_repo_root(site, tmp_path):
    url = serve_golden(site)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "url", "-a", f"url={url}", "-s", f"NEWSMIRROR_OUTPUT={tmp_path}",
         "-s", "LOG_LEVEL=WARNING", *FAST],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / POST).read_bytes() == GOLDEN_POST.read_bytes()
    assert "scrapy crawl: 1 new, 0 updated, 0 unchanged, 0 failed" in result.stderr
    missing = site.url("/news/aipl/209901010001.aspx")
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "url", "-a", f"url={missing}", "-s", f"NEWSMIRROR_OUTPUT={tmp_path}",
         "-s", "LOG_LEVEL=WARNING", *FAST],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert f"error: {missing}: HTTP 404" in result.stderr


def test_reprocess_is_idempotent_and_has_dry_run_and_diff(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "a.html").write_bytes(GOLDEN_PAGE.read_bytes())
    (pages / "notes.txt").write_text("not a page")
    out = tmp_path / "out"
    first = run_cli("reprocess", str(pages), "-o", str(out))
    assert first.returncode == 0, first.stderr
    assert (out / POST).read_bytes() == GOLDEN_POST.read_bytes()
    os.utime(out / POST, (1_000_000, 1_000_000))
    second = run_cli("reprocess", str(pages), "-o", str(out))
    assert "0 new, 0 updated, 1 unchanged, 0 failed" in second.stderr
    assert (out / POST).stat().st_mtime == 1_000_000
    # a "parser fix" (here: an edited page) shows up in --dry-run/--diff without writing
    (pages / "a.html").write_text(GOLDEN_PAGE.read_text(encoding="utf-8").replace("（編輯：陳惠珍）", "（編輯：某某）"),
                                  encoding="utf-8")
    dry = run_cli("reprocess", str(pages), "-o", str(out), "--dry-run", "--diff")
    assert dry.returncode == 0
    # what --dry-run lists is the command's output (stdout); the summary stays on stderr
    assert f"updated   {POST}" in dry.stdout and "(dry run: nothing written)" in dry.stderr
    assert f"--- a/{POST}" in dry.stdout and "+++ b/" in dry.stdout and "（編輯：某某）" in dry.stdout
    assert "0 new, 1 updated" in dry.stderr
    assert (out / POST).read_bytes() == GOLDEN_POST.read_bytes()


def test_dry_run_on_a_fresh_output_creates_nothing(tmp_path):
    result = run_cli("reprocess", str(GOLDEN_PAGE), "-o", str(tmp_path / "out"), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"new       {POST}" in result.stdout
    assert not (tmp_path / "out").exists()


def test_reprocess_missing_path_is_a_failure_not_a_crash(tmp_path):
    result = run_cli("reprocess", str(tmp_path / "nope"), str(GOLDEN_PAGE), "-o", str(tmp_path / "out"))
    assert result.returncode == 1
    assert f"error: {tmp_path / 'nope'}: no such file or folder" in result.stderr
    assert (tmp_path / "out" / POST).exists()


def test_usage_errors_exit_2(tmp_path):
    assert run_cli("mirror").returncode == 2
    assert run_cli("frobnicate").returncode == 2
    bad = run_cli("mirror", "http://127.0.0.1:9/", "-s", "NOEQUALS", "-o", str(tmp_path))
    assert bad.returncode == 2 and "-s expects NAME=VALUE" in bad.stderr


def test_help_lists_the_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("mirror", "reprocess", "crawl", "worker", "archive", "exit codes"):
        assert word in result.stdout


def test_readme_quick_start_reprocesses_the_bundled_pages(tmp_path):
    result = run_cli("reprocess", "examples/cna", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "_posts").glob("*.md"))
    assert len(names) == 8 and names[0] == "2013-08-13-cna-201308130021.md"
    assert (tmp_path / POST).read_bytes() == GOLDEN_POST.read_bytes()


def test_writing_commands_respect_the_run_lock(tmp_path):
    from newsmirror.lock import RunLock

    out = tmp_path / "out"
    with RunLock(out / ".newsmirror" / "run.lock"):
        for args in (["reprocess", str(GOLDEN_PAGE)], ["mirror", "http://127.0.0.1:9/x"],
                     ["archive", "--older-than", "1"]):
            result = run_cli(*args, "-o", str(out))
            assert result.returncode == 3, (args, result.stderr)
            assert f"cannot run: another run is using {out}" in result.stderr
        # a dry run writes nothing, so it needs no lock
        assert run_cli("reprocess", str(GOLDEN_PAGE), "-o", str(out), "--dry-run").returncode == 0
    assert not (out / "_posts").exists()


def test_bad_option_values_are_usage_errors(tmp_path):
    bad_days = run_cli("archive", "--older-than", "-1", "-o", str(tmp_path))
    assert bad_days.returncode == 2 and "expected a whole number of days >= 0, got '-1'" in bad_days.stderr
    bad_setting = run_cli("reprocess", str(GOLDEN_PAGE), "-o", str(tmp_path), "-s", "NEWSMIRROR_FILENAME=foo")
    assert bad_setting.returncode == 2 and "NEWSMIRROR_FILENAME must be one of" in bad_setting.stderr
    bad_since = run_cli("crawl", "--since", "yesterday", "-o", str(tmp_path))
    assert bad_since.returncode == 2
    assert bad_since.stderr.splitlines()[-1].startswith("newsmirror crawl: error: --since 'yesterday': expected an age")
    assert not (tmp_path / "_posts").exists()


def test_connection_refused_is_one_line_without_scrapy_tracebacks(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    url = f"http://127.0.0.1:{port}/news/aopl/202309110310.aspx"
    result = run_cli("mirror", url, "-o", str(tmp_path), *FAST)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: {url}: connection refused",
        "mirror: 0 new, 0 updated, 0 unchanged, 1 failed in " + result.stderr.splitlines()[-1].split(" in ")[-1],
    ]


def test_cli_mistakes_are_one_line_and_exit_2(tmp_path):
    """Each mistake: the subcommand's usage, one error line naming the culprit, exit 2, no traceback."""
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = [
        (("mirror", "not-a-url", "-o", str(tmp_path / "o")), "newsmirror mirror: error: URL 'not-a-url' is not"),
        (("crawl", "--feed", "not-a-url", "-o", str(tmp_path / "o")), "newsmirror crawl: error: --feed 'not-a-url'"),
        (("reprocess", str(tmp_path), "-o", str(a_file)), f"newsmirror reprocess: error: -o {a_file}: exists and is not"),
        (("crawl", "--bogus"), "newsmirror crawl: error: unrecognized arguments: --bogus"),
    ]
    for args, line in cases:
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stderr.splitlines()[-1].startswith(line), result.stderr
        assert result.stderr.startswith(f"usage: newsmirror {args[0]} ")


def test_every_command_has_examples_and_helped_options():
    from newsmirror.commands import COMMANDS, _subparser, build_parser

    parser = build_parser()
    for command in COMMANDS:
        name = command.__name__.rsplit(".", 1)[-1]
        sub = _subparser(parser, name)
        assert "examples:" in sub.format_help(), name
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help text"


def test_commands_that_run_no_spider_import_no_scrapy(tmp_path):
    """Scrapy and Twisted are ~0.2 s of every start-up: --help, state, export, archive and site
    init do without (they start in ~0.1 s)."""
    out = tmp_path / "out"
    assert run_cli("reprocess", str(FIXTURES / "seed/202309110310.reconstructed.html"), "-o", str(out),
                   "-q").returncode == 0
    commands = [["--version"], ["state", "stats", "-o", str(out)], ["export", "-o", str(out)],
                ["archive", "--older-than", "9999", "-o", str(out), "--dry-run"],
                ["site", "init", str(tmp_path / "site")]]
    code = f"""
import contextlib, io, sys
from newsmirror.commands import main
for argv in {commands!r}:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # --version
            code = exc.code
    assert code == 0, (argv, code)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("scrapy", "twisted"))
    assert not loaded, (argv, loaded[:5])
print("ok")
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.stdout == "ok\n", result.stderr
