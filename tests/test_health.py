"""Source health: a broken source exits 4 and says which source, what and where; scattered
failures stay exit 1; the seen-store remembers each source's runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import FAST, FIXTURES, run_cli

from newsmirror.health import EMPTY, FETCH, PARSE, HealthMonitor, SourceRun, Thresholds
from newsmirror.report import PageFailed, RunReport
from newsmirror.scrapy_parts.report import _blame
from newsmirror.state import SeenStore

GOLDEN_ID = "202309110310"
GOLDEN_PAGE = FIXTURES / "seed/202309110310.reconstructed.html"


def article_path(n: int) -> str:
    return f"/news/aopl/2023091103{n:02d}.aspx"


def article_page(n: int) -> bytes:
    """The golden page as another article: same layout, its own id."""
    return GOLDEN_PAGE.read_bytes().replace(GOLDEN_ID.encode(), f"2023091103{n:02d}".encode())


def new_layout_page(n: int) -> bytes:
    """An article page in a layout no CNA parser row knows (what a site redesign looks like)."""
    url = f"https://www.cna.com.tw{article_path(n)}"
    return (
        f'<!DOCTYPE html><html><head><link rel="canonical" href="{url}"><title>t</title></head>'
        f'<body><main class="story-2027"><h1>新版面 {n}</h1><p>內文</p></main></body></html>'
    ).encode()


def serve_sitemap(site, paths: list[str]) -> None:
    urls = "".join(
        f"<url><loc>{site.url(p)}</loc><lastmod>2023-09-11T20:40:00+08:00</lastmod></url>" for p in paths
    )
    site.add(
        "/sitemap.xml",
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
        content_type="application/xml",
    )


def crawl(site, tmp_path: Path, out: Path, *extra: str):
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'''[[source]]
name = "cna-test"
label = "(臺)中央社CNA"
parser = "cna"
sitemaps = ["{site.url("/sitemap.xml")}"]
allow_domains = ["127.0.0.1"]
''',
        encoding="utf-8",
    )
    return run_cli("crawl", "--sources", str(sources), "-o", str(out), *FAST, *extra, timeout=300)


def report_of(out: Path) -> dict:
    return json.loads(sorted((out / ".newsmirror/runs").glob("*-crawl.json"))[-1].read_text())


def test_every_article_page_in_an_unknown_layout_exits_4_naming_the_source(site, tmp_path):
    paths = [article_path(n) for n in range(12)]
    for n, path in enumerate(paths):
        site.add(path, new_layout_page(n))
    serve_sitemap(site, paths)
    out = tmp_path / "out"
    result = crawl(site, tmp_path, out)
    assert result.returncode == 4, result.stderr
    [alarm] = [line for line in result.stderr.splitlines() if line.startswith("source ")]
    assert alarm.startswith(
        "source cna-test looks broken: none of 12 article pages could be parsed: "
        "12x no CNA article layout recognised"
    )
    assert f"e.g. {site.url(paths[0])}" in alarm
    report = report_of(out)
    assert report["exit_code"] == 4
    health = report["sources"]["cna-test"]
    assert health["status"] == "broken" and health["pages"] == 12 and health["parsed"] == 0
    [symptom] = health["symptoms"]
    assert symptom["symptom"].startswith("none of 12 article pages could be parsed")
    assert symptom["examples"] == [site.url(p) for p in paths[:3]]
    assert health["failures"]["no CNA article layout recognised (not an article page?)"]["pages"] == 12


def test_the_only_sitemap_returning_404_exits_4(site, tmp_path):
    out = tmp_path / "out"
    result = crawl(site, tmp_path, out)  # nothing registered: /sitemap.xml is a 404
    assert result.returncode == 4, result.stderr
    assert (
        f"source cna-test looks broken: every entry point failed (1 of 1: HTTP 404); "
        f"e.g. {site.url('/sitemap.xml')}"
    ) in result.stderr.splitlines()
    health = report_of(out)["sources"]["cna-test"]
    assert health["entry_points_failed"] == {site.url("/sitemap.xml"): "HTTP 404"}
    assert report_of(out)["exit_code"] == 4


def test_a_healthy_crawl_exits_0_and_one_failure_in_fifty_exits_1(site, tmp_path):
    paths = [article_path(n) for n in range(50)]
    for n, path in enumerate(paths):
        site.add(path, article_page(n))
    serve_sitemap(site, paths)
    healthy = tmp_path / "healthy"
    result = crawl(site, tmp_path, healthy)
    assert result.returncode == 0, result.stderr
    health = report_of(healthy)["sources"]["cna-test"]
    assert health["status"] == "ok" and health["symptoms"] == []
    assert (health["pages"], health["parsed"], health["posts"]) == (50, 50, 50)
    assert health["fields"] == {"examined": 50, "title": 50, "date": 50, "body": 50, "lead_figure": 50}
    assert len(list((healthy / "_posts").glob("*.md"))) == 50
    # the summary names where the posts and the report went
    last = result.stderr.splitlines()[-1]
    assert f"; posts: {healthy / '_posts'}; report: {healthy / '.newsmirror' / 'runs'}" in last

    site.add(paths[7], new_layout_page(7))
    scattered = tmp_path / "scattered"
    result = crawl(site, tmp_path, scattered)
    assert result.returncode == 1, result.stderr
    assert "looks broken" not in result.stderr
    report = report_of(scattered)
    assert report["exit_code"] == 1 and report["sources"]["cna-test"]["status"] == "ok"
    assert report["counts"]["failed"] == 1 and report["counts"]["new"] == 49

    # the seen-store keeps each source's runs: the history later runs are compared with
    with SeenStore(scattered / ".newsmirror/state.sqlite") as store:
        [run] = store.source_history("cna-test")
    assert (run.pages, run.parsed, run.parse_failed, run.broken) == (50, 49, 1, False)


# -- the rules, offline ---------------------------------------------------------------------


def fed(
    monitor: HealthMonitor,
    parsed: int = 0,
    failed: int = 0,
    kind: str = PARSE,
    figure: bool = True,
    body: str = "正文" * 100,
) -> HealthMonitor:
    for n in range(parsed):
        monitor.parsed("s", "new")
        monitor.fields("s", f"https://x.test/{n}", "title", True, body, figure)
    for n in range(failed):
        monitor.failed("s", kind, f"https://x.test/bad{n}", "no CNA article layout recognised")
    return monitor


def test_thresholds_need_a_minimum_number_of_pages():
    one_in_three = fed(HealthMonitor(), parsed=1, failed=2)
    assert one_in_three.evaluate() == []  # 3 pages: too few to call it broken
    many = fed(HealthMonitor(), parsed=4, failed=6, kind=FETCH)
    [symptom] = many.evaluate()
    assert symptom.symptom.startswith("6 of 10 article pages failed (60%)")
    lenient = fed(HealthMonitor(Thresholds(max_failure_rate=0.7)), parsed=4, failed=6, kind=FETCH)
    assert lenient.evaluate() == []


def failing_run(*urls: str) -> SourceRun:
    return SourceRun("s", pages=len(urls), parse_failed=len(urls), unparsed_urls=list(urls))


def test_nothing_parsed_over_a_streak_of_quiet_runs_raises_the_alarm():
    earlier = [
        failing_run("https://x.test/c", "https://x.test/d"),
        SourceRun("s"),  # a run with nothing new
        failing_run("https://x.test/e", "https://x.test/f"),
    ]
    monitor = fed(HealthMonitor(), failed=2)
    [symptom] = monitor.evaluate({"s": earlier})
    assert symptom.symptom.startswith(
        "none of 2 article pages could be parsed (6 different pages over the last 3 runs): "
        "2x no CNA article layout recognised"
    )
    # a run that parsed something ends the streak
    assert fed(HealthMonitor(), failed=2).evaluate({"s": [SourceRun("s", pages=2, parsed=1), *earlier]}) == []


def test_one_bad_article_fetched_again_every_run_is_no_alarm():
    earlier = [failing_run("https://x.test/bad0") for _ in range(10)]
    assert fed(HealthMonitor(), failed=1).evaluate({"s": earlier}) == []


def test_empty_fields_and_a_lead_figure_drop_against_history():
    short = fed(HealthMonitor(), parsed=6, body="短")
    [symptom] = short.evaluate()
    assert symptom.symptom == "6 of 6 articles have a body under 80 characters (100%)"
    usual = [SourceRun("s", pages=20, parsed=20, examined=20, with_figure=18)]
    no_figures = fed(HealthMonitor(), parsed=10, figure=False)
    [symptom] = no_figures.evaluate({"s": usual})
    assert symptom.symptom == "lead figure on 0% of 10 articles (usually 90%)"
    assert fed(HealthMonitor(), parsed=10, figure=False).evaluate() == []  # no history: no baseline


def test_local_faults_are_not_the_sources_fault():
    from newsmirror.state import StateError

    assert _blame(PageFailed("no CNA article layout recognised", blame=PARSE)) == PARSE
    assert _blame(PageFailed("article body is empty after cleaning", blame=EMPTY)) == EMPTY
    for cause in (PermissionError(13, "read-only"), StateError("seen-store x: database or disk is full")):
        try:
            raise PageFailed("cannot write _posts/x.md or record it", "_posts/x.md") from cause
        except PageFailed as exc:
            assert _blame(exc) == ""
    assert _blame(RuntimeError("boom")) == ""
    report = RunReport()
    report.health.expect("s", ["https://x.test/sitemap.xml"])
    for n in range(10):
        report.fail(f"https://x.test/{n}", "cannot write the post", source="s", kind="")  # local: kind ""
    report.health.evaluate()
    assert report.exit_code == 1


def test_a_crawl_whose_posts_cannot_be_written_exits_1_not_4(site, tmp_path):
    """A local fault (here a file where _posts/ must be) fails every page of a healthy source:
    exit 1, one line per page, and no "looks broken" alarm about the source."""
    paths = [article_path(n) for n in range(6)]
    for n, path in enumerate(paths):
        site.add(path, article_page(n))
    serve_sitemap(site, paths)
    out = tmp_path / "out"
    out.mkdir()
    (out / "_posts").write_text("a file where the posts folder must be")
    result = crawl(site, tmp_path, out)
    assert result.returncode == 1, result.stderr
    assert "looks broken" not in result.stderr
    assert report_of(out)["counts"]["failed"] == 6
    assert report_of(out)["sources"]["cna-test"].get("symptoms", []) == []


@pytest.mark.parametrize(
    "name,value", [("NEWSMIRROR_HEALTH_MIN_PAGES", "many"), ("NEWSMIRROR_HEALTH_MAX_FAILURE_RATE", "1.5")]
)
def test_bad_thresholds_are_usage_errors(tmp_path, name, value):
    result = run_cli("crawl", "-o", str(tmp_path), "-s", f"{name}={value}")
    assert result.returncode == 2 and name in result.stderr.splitlines()[-1]


def test_a_full_text_feed_whose_items_cannot_be_read_exits_4(site, tmp_path):
    items = "".join(f"<item><title>t{n}</title><link>{site.url(f'/a/{n}')}</link><guid>g{n}</guid>"
                    f"<description>text {n}</description></item>" for n in range(6))  # no dates at all
    site.add("/rss.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>{items}</channel></rss>',
             content_type="application/rss+xml")
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "undated"\nlabel = "Undated"\nparser = "feed"\n'
                       f'feeds = ["{site.url("/rss.xml")}"]\n', encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("crawl", "--sources", str(sources), "-o", str(out), *FAST)
    assert result.returncode == 4, result.stderr
    assert ("source undated looks broken: none of 6 article pages could be parsed: "
            "6x feed item has no readable publication date") in result.stderr
