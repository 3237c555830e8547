"""Scheduled crawls against a loopback site that plays CNA (sitemap + RSS feed + article pages)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import frontmatter
import pytest
from helpers import FAST, FIXTURES, REPO, run_cli
from loopback import Reply

from newsmirror.lock import RunLock

PAGES = {  # real path on www.cna.com.tw -> fixture
    "/news/aopl/202309110310.aspx": "seed/202309110310.reconstructed.html",
    "/news/acn/202308230192.aspx": "cna/cna-2023-acn-202308230192.html",
    "/news/ahel/202308230179.aspx": "cna/cna-2023-ahel-202308230179.html",
    "/news/ait/202308230354.aspx": "cna/cna-2023-ait-202308230354.html",
    "/news/aopl/202308230260.aspx": "cna/cna-2023-aopl-202308230260.html",
    "/news/acul/202606280112.aspx": "cna/cna-2026-acul-202606280112.html",
    "/news/acn/201412120137.aspx": "cna/cna-2014-acn-201412120137.html",
}
IN_SITEMAP = list(PAGES)[:4]
IN_FEED = list(PAGES)[3:]  # one article is in both


def sitemap(site, lastmod: dict[str, str] | None = None) -> str:
    lastmod = lastmod or {}
    urls = "".join(f"<url><loc>{site.url(p)}</loc><lastmod>{lastmod.get(p, '2023-08-23T08:00:00+08:00')}"
                   f"</lastmod></url>" for p in IN_SITEMAP)
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'


def feed(site) -> str:
    items = "".join(f"<item><title>t</title><link>{site.url(p)}</link>"
                    f"<pubDate>Wed, 23 Aug 2023 20:47:00 +0800</pubDate></item>" for p in IN_FEED)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>CNA</title>{items}</channel></rss>'


def serve(site, delay: float = 0.0, lastmod=None):
    for path, name in PAGES.items():
        body = (FIXTURES / name).read_bytes()
        if delay:
            site.add(path, lambda body=body: (time.sleep(delay), Reply(200, body))[1])
        else:
            site.add(path, body)
    site.add("/sitemap.xml", sitemap(site, lastmod), content_type="application/xml")
    site.add("/rss/intworld", feed(site), content_type="application/rss+xml")


def sources_file(site, tmp_path: Path) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(f'''[[source]]
name = "cna"
label = "(臺)中央社CNA"
parser = "cna"
sitemaps = ["{site.url('/sitemap.xml')}"]
feeds = ["{site.url('/rss/intworld')}"]
allow_domains = ["127.0.0.1"]
''', encoding="utf-8")
    return path


def crawl(site, tmp_path, *extra: str):
    out = tmp_path / "out"
    return out, run_cli("crawl", "--sources", str(sources_file(site, tmp_path)), "-o", str(out), *FAST, *extra)


def posts(out: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted((out / "_posts").glob("*.md"))}


def last_report(out: Path) -> dict:
    return json.loads(sorted((out / ".newsmirror/runs").glob("*-crawl.json"))[-1].read_text())


def article_hits(site) -> int:
    return sum(site.hits(p) for p in PAGES)


def test_first_run_writes_every_article_then_second_run_fetches_only_feeds(site, tmp_path):
    serve(site)
    out, result = crawl(site, tmp_path)
    assert result.returncode == 0, result.stderr
    written = posts(out)
    assert len(written) == len(PAGES)
    assert written["2023-09-11-cna-202309110310.md"] == (FIXTURES / "seed/expected_clean.md").read_text()
    report = last_report(out)
    assert report["counts"]["new"] == len(PAGES) and report["counts"]["failed"] == 0
    assert report["discovered"] == len(PAGES)  # unique articles, though one is in both sources
    assert report["exit_code"] == 0 and report["duration_s"] > 0
    assert article_hits(site) == len(PAGES)  # the article in both sources was fetched once

    before = {p: p.stat().st_mtime_ns for p in (out / "_posts").glob("*.md")}
    _, again = crawl(site, tmp_path)
    assert again.returncode == 0, again.stderr
    assert article_hits(site) == len(PAGES)  # nothing fetched again
    assert site.hits("/sitemap.xml") == 2 and site.hits("/rss/intworld") == 2
    assert {p: p.stat().st_mtime_ns for p in (out / "_posts").glob("*.md")} == before
    report = last_report(out)
    assert report["counts"] == {"new": 0, "updated": 0, "unchanged": len(PAGES), "skipped": 0, "failed": 0}


@pytest.mark.parametrize("keep", [[], ["--cache"]], ids=["plain", "with-http-cache"])
def test_newer_lastmod_refetches_and_rewrites_in_place(site, tmp_path, keep):
    serve(site)
    out, _ = crawl(site, tmp_path, *keep)
    path = "/news/aopl/202309110310.aspx"
    edited = (FIXTURES / PAGES[path]).read_text(encoding="utf-8").replace(
        "<h1><span>越美產官峰會 半導體與新科技合作成焦點</span></h1>", "<h1><span>越美峰會（更新）</span></h1>")
    site.add(path, edited)
    site.add("/sitemap.xml", sitemap(site, {path: "2026-01-01T00:00:00+08:00"}), content_type="application/xml")
    _, result = crawl(site, tmp_path, *keep)
    assert result.returncode == 0, result.stderr
    assert site.hits(path) == 2  # an HTTP cache never answers instead of the site
    assert site.hits("/sitemap.xml") == 2
    written = posts(out)
    assert len(written) == len(PAGES)  # a title change never makes a second post
    assert frontmatter.loads(written["2023-09-11-cna-202309110310.md"])["title"] == "越美峰會（更新）"
    assert last_report(out)["counts"]["updated"] == 1
    # the announced time is remembered: a third run refetches nothing
    crawl(site, tmp_path, *keep)
    assert site.hits(path) == 2


def test_newer_lastmod_with_identical_bytes_is_fetched_once(site, tmp_path):
    serve(site)
    path = "/news/acn/202308230192.aspx"
    out, _ = crawl(site, tmp_path)
    mtime = (out / "_posts/2023-08-23-cna-202308230192.md").stat().st_mtime_ns
    # sub-millisecond precision, as some sitemaps write it
    site.add("/sitemap.xml", sitemap(site, {path: "2026-01-01T00:00:00.123456+08:00"}), content_type="application/xml")
    for _ in range(2):
        _, result = crawl(site, tmp_path)
        assert result.returncode == 0, result.stderr
    assert site.hits(path) == 2  # fetched again once, then known
    assert (out / "_posts/2023-08-23-cna-202308230192.md").stat().st_mtime_ns == mtime


def test_since_limits_by_the_announced_date(site, tmp_path):
    serve(site)
    out, result = crawl(site, tmp_path, "--since", "2023-08-23T12:30:00+00:00")
    assert result.returncode == 0, result.stderr
    # sitemap entries are 2023-08-23 00:00Z (too old); feed items are 12:47Z
    assert len(posts(out)) == len(IN_FEED)
    # every sitemap announcement is too old; the one also in the feed is fetched through the feed
    # (and so not reported as skipped, whichever source answered first)
    report = last_report(out)
    assert report["counts"]["skipped"] == len(IN_SITEMAP) - 1
    assert report["counts"]["new"] == len(IN_FEED)


def test_robots_disallow_is_honoured_and_reported_as_skipped(site, tmp_path):
    serve(site)
    site.add("/robots.txt", "User-agent: *\nDisallow: /news/acul/\n", content_type="text/plain")
    out, result = crawl(site, tmp_path)
    assert result.returncode == 0, result.stderr
    assert site.hits("/news/acul/202606280112.aspx") == 0
    assert len(posts(out)) == len(PAGES) - 1
    skipped = last_report(out)["skipped"]
    assert {(s["url"], s["reason"]) for s in skipped} >= {(site.url("/news/acul/202606280112.aspx"),
                                                           "forbidden by robots.txt")}


def test_lock_contention_exits_3(site, tmp_path):
    serve(site)
    out = tmp_path / "out"
    with RunLock(out / ".newsmirror" / "run.lock"):
        _, result = crawl(site, tmp_path)
    assert result.returncode == 3
    assert "cannot run: another run is using" in result.stderr and str(os.getpid()) in result.stderr
    assert not (out / "_posts").exists()


def test_bad_sources_file_exits_3(tmp_path):
    bad = tmp_path / "s.toml"
    bad.write_text('[[source]]\nname = "x"\nfeed = ["https://example.org/rss"]\n')
    result = run_cli("crawl", "--sources", str(bad), "-o", str(tmp_path / "out"))
    assert result.returncode == 3 and str(bad) in result.stderr


def test_kill_9_then_resume_gives_one_complete_post_per_article(site, tmp_path):
    # two articles are answered at once, the others only after the kill: the first run cannot
    # finish before it is killed, however fast or loaded the machine is
    serve(site)
    released, answered = threading.Event(), []
    for path, name in PAGES.items():
        page_bytes = (FIXTURES / name).read_bytes()

        def gated(body: bytes = page_bytes) -> Reply:
            answered.append(1)
            if len(answered) > 2:
                released.wait(60)
            return Reply(200, body)
        site.add(path, gated)
    out = tmp_path / "out"
    jobdir = tmp_path / "job"
    args = [sys.executable, "-m", "newsmirror", "crawl", "--sources", str(sources_file(site, tmp_path)),
            "-o", str(out), "--jobdir", str(jobdir), *FAST, "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((out / "_posts").glob("*.md"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    released.set()
    assert 0 < len(list((out / "_posts").glob("*.md"))) < len(PAGES), "kill came too late to test resume"

    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    written = posts(out)
    assert len(written) == len(PAGES)
    ids = set()
    for name, text in written.items():
        post = frontmatter.loads(text)
        ids.add(post["from"])
        assert text.endswith("\n</div>\n") and post.content.count("<div>") == 1, name
    assert len(ids) == len(PAGES)
    # a write cut by the kill can only leave a hidden temp file, which Jekyll ignores
    assert all(p.name.startswith(".") for p in (out / "_posts").iterdir() if p.suffix != ".md")


@pytest.mark.parametrize("flag", ["--sitemap", "--feed"])
def test_crawl_from_a_single_url_flag(site, tmp_path, flag):
    serve(site)
    url = site.url("/sitemap.xml" if flag == "--sitemap" else "/rss/intworld")
    out = tmp_path / "out"
    result = run_cli("crawl", flag, url, "--parser", "cna", "--label", "(臺)中央社CNA", "-o", str(out), *FAST)
    assert result.returncode == 0, result.stderr
    assert len(posts(out)) == (len(IN_SITEMAP) if flag == "--sitemap" else len(IN_FEED))


def test_server_error_then_success_is_retried_and_default_warc_is_per_run(site, tmp_path):
    serve(site)
    path = "/news/ait/202308230354.aspx"
    answers = iter([Reply(503, b"busy"), Reply(200, (FIXTURES / PAGES[path]).read_bytes())])
    site.add(path, lambda: next(answers))
    out, result = crawl(site, tmp_path, "--warc")
    assert result.returncode == 0, result.stderr
    assert site.hits(path) == 2
    assert len(posts(out)) == len(PAGES)
    [warc] = (out / ".newsmirror/warc").glob("*-crawl.warc.gz")
    again = run_cli("reprocess", str(warc), "-o", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    assert posts(tmp_path / "again") == posts(out)


def test_a_deleted_post_is_fetched_and_written_again(site, tmp_path):
    serve(site)
    out, _ = crawl(site, tmp_path)
    victim = out / "_posts/2023-08-23-cna-202308230192.md"
    good = victim.read_bytes()
    victim.unlink()
    _, result = crawl(site, tmp_path)
    assert result.returncode == 0, result.stderr
    assert victim.read_bytes() == good
    assert site.hits("/news/acn/202308230192.aspx") == 2
    assert article_hits(site) == len(PAGES) + 1


def test_a_sitemap_crawl_without_images_loads_neither_feedparser_nor_scrapys_media_pipelines(site, tmp_path):
    """Start-up of the crawl's one reactor process (bench/README.md): what no source of the run
    uses is not imported; the posts are the same."""
    serve(site)
    out = tmp_path / "out"
    code = (
        "import sys\n"
        "from newsmirror.commands import main\n"
        "rc = main(sys.argv[1:])\n"
        "loaded = [m for m in ('feedparser', 'scrapy.pipelines.files', 'scrapy.pipelines.images') if m in sys.modules]\n"
        "print('loaded:', ','.join(loaded))\n"
        "sys.exit(rc)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
    args = ["crawl", "--sitemap", site.url("/sitemap.xml"), "--parser", "cna", "-o", str(out), "-q", *FAST]
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "loaded: \n" in result.stdout
    assert len(posts(out)) == len(IN_SITEMAP)
    assert posts(out)["2023-09-11-cna-202309110310.md"] == (FIXTURES / "seed/expected_clean.md").read_text()


@pytest.mark.parametrize(
    ("argv", "kept"),
    [
        ([], False),
        (["--download-images"], True),
        (["-s", "NEWSMIRROR_DOWNLOAD_IMAGES=1"], True),  # the setting asks for images too
    ],
)
def test_the_images_pipeline_is_left_out_only_when_nothing_asks_for_images(argv, kept):
    from newsmirror.commands import build_parser
    from newsmirror.commands.crawl import crawl_settings, leave_out_images_unless_asked

    args = build_parser().parse_args(["crawl", "--sitemap", "http://127.0.0.1:9/sitemap.xml", *argv])
    settings = crawl_settings(args)
    leave_out_images_unless_asked(settings, [])
    pipelines = settings.getdict("ITEM_PIPELINES")
    assert any(k.endswith(".ImagesToSitePipeline") for k in pipelines) is kept
