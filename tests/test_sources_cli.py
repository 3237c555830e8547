"""``newsmirror sources import|check|show``: migrating the replaced system's subs.json files."""

from __future__ import annotations

import json

from helpers import FIXTURES, run_cli

from newsmirror.sources import dump_sources, load_sources, sources_from_subs

SUBS = sorted((FIXTURES / "subs").glob("*_subs.json"))


def test_import_the_four_subs_files(tmp_path):
    assert [p.name for p in SUBS] == ["generator_oped2_subs.json", "generator_society_subs.json",
                                      "generator_teahouse_subs.json", "generator_waimei_subs.json"]
    out = tmp_path / "sources.toml"
    result = run_cli("sources", "import", *map(str, SUBS), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().endswith(f"4 files, 110 feeds, 73 sources -> {out}, 0 errors")
    sources = load_sources(out)
    entries = [e for p in SUBS for e in json.loads(p.read_text(encoding="utf-8"))]
    # every feed is there, under its label, as a full-text feed source; one source per label
    assert {(e["site"].strip(), e["url"]) for e in entries} == {(s.label, u) for s in sources for u in s.feeds}
    assert len({s.label for s in sources}) == len(sources) == len({e["site"].strip() for e in entries})
    assert {s.parser for s in sources} == {"feed"}
    by_label = {s.label: s for s in sources}
    assert by_label["(臺)中央社CNA"].name == "cna" and by_label["(臺)中央社CNA"].feeds == ("https://rsshub.app/cna/aall",)
    assert by_label["路透"].feeds == ("https://feedx.net/rss/reuters.xml",) and by_label["路透"].name == "reuters"
    assert len(by_label["Matters"].feeds) == 32  # in two files: one source
    assert by_label["放眼看世界"].feeds == ("http://www.youtube.com/feeds/videos.xml?playlist_id=UUhhALDW7rmXg42FgiwIWdDA",)
    assert by_label["李天豪"].label == "李天豪"  # the replaced system's stray spaces are gone
    # the file checks, and crawl reads it
    check = run_cli("sources", "check", str(out))
    assert check.returncode == 0, check.stderr
    assert "reuters\tfeed\t路透\t1 feed" in check.stdout.splitlines()
    assert check.stderr.strip() == f"sources check: {out}: OK, 73 sources"


def test_import_refuses_to_overwrite_and_prints_without_o(tmp_path):
    out = tmp_path / "s.toml"
    out.write_text("keep")
    result = run_cli("sources", "import", str(SUBS[0]), "-o", str(out))
    assert result.returncode == 2 and "exists; pass --force" in result.stderr
    assert out.read_text() == "keep"
    printed = run_cli("sources", "import", str(SUBS[0]))
    assert printed.returncode == 0 and printed.stdout.startswith("# Sources converted by `newsmirror sources import`")


def test_import_reports_bad_entries_one_line_each_and_goes_on(tmp_path):
    bad = tmp_path / "subs.json"
    bad.write_text(json.dumps([{"site": "OK", "url": "https://ok.test/rss"}, {"site": "中国数字时代"},
                               {"site": "x", "url": "ftp://x.test/feed"}, "junk"]), encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    out = tmp_path / "s.toml"
    result = run_cli("sources", "import", str(bad), str(broken), str(tmp_path / "missing.json"), "-o", str(out))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 5, result.stderr
    assert any(f"{bad}: entry #2 (中国数字时代): no \"url\"" in e for e in errors)
    assert any(f"{bad}: entry #3 (x): 'ftp://x.test/feed': only http:// and https://" in e for e in errors)
    assert any(f"{broken}: not JSON" in e for e in errors)
    assert any("missing.json: cannot read it" in e for e in errors)
    assert [s.name for s in load_sources(out)] == ["ok"]


def test_dump_reads_back_identically():
    documents = [(p.name, json.loads(p.read_text(encoding="utf-8"))) for p in SUBS]
    sources, errors = sources_from_subs(documents)
    assert not errors
    path_text = dump_sources(sources, "header")
    from newsmirror.sources import parse_sources_text

    assert parse_sources_text(path_text, "x") == sources


def test_check_names_file_and_key(tmp_path):
    bad = tmp_path / "s.toml"
    bad.write_text('[[source]]\nname = "x"\nlabel = "X"\nparser = "feed"\nfeeds = ["https://x.test/rss"]\n'
                   'timezone = "Mars/Olympus"\n', encoding="utf-8")
    result = run_cli("sources", "check", str(bad))
    assert result.returncode == 1
    assert result.stderr.strip() == (f"error: {bad}:1: source 'x': key 'timezone': 'Mars/Olympus' is not a known "
                                     "IANA time zone (e.g. 'Asia/Shanghai')")


def test_minimal_feed_source_and_show():
    shown = run_cli("sources", "show")
    assert shown.returncode == 0 and "[[source]]" in shown.stdout and 'name = "cna"' in shown.stdout
    from newsmirror.sources import parse_sources_text

    [s] = parse_sources_text('[[source]]\nname = "voa"\nlabel = "美国之音"\nparser = "feed"\n'
                             'feeds = ["https://feedx.net/rss/mgzy1.xml"]\n', "x")
    assert (s.parser, s.author, s.timezone, s.fetch_summary_only) == ("feed", "item", None, False)
    assert str(s.zone) == "UTC"


def test_sources_subcommands_have_examples_and_helped_options():
    from newsmirror.commands import _subparser, build_parser

    sources = _subparser(build_parser(), "sources")
    action = next(a for a in sources._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, sub in action.choices.items():
        assert "examples:" in sub.format_help(), name
        for option in sub._actions:
            assert option.help, f"sources {name} {option.option_strings or option.dest} has no help text"
