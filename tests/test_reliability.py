"""The pieces behind the fault matrix, one by one: decoding order, identity claims, retry backoff,
orphan temp files, store error classification, spider arguments as strings, settings, reprs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from helpers import FIXTURES, REPO
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.settings import Settings

from newsmirror import settings as project_settings
from newsmirror.atomic import _HOST, STALE_TEMP_S, atomic_write_bytes, remove_orphan_temp_files
from newsmirror.html import choose_encoding, decode
from newsmirror.items import Article, Page
from newsmirror.scrapy_parts.retry import BackoffRetryMiddleware, retry_after_seconds
from newsmirror.sites import NotAnArticle, extract
from newsmirror.spiders.base import same_site, strings
from newsmirror.spiders.cache import CacheSpider
from newsmirror.spiders.discover import DiscoverSpider
from newsmirror.spiders.url import UrlSpider
from newsmirror.state import SeenStore, StateError

UTF8_META = '<html><head><meta charset="utf-8"><title>中文</title></head><body>中文</body></html>'.encode()


@pytest.mark.parametrize(
    ("body", "http", "expected"),
    [
        (UTF8_META, None, "utf-8"),
        (UTF8_META, "iso-8859-1", "utf-8"),  # the safety net: mislabelled Latin over declared UTF-8
        (UTF8_META, "windows-1252", "utf-8"),
        (UTF8_META, "big5", "utf-8"),  # valid multi-byte UTF-8 is UTF-8 whatever the label
        (b"\xef\xbb\xbf" + UTF8_META, "big5", "utf-8"),  # the BOM beats everything
        ("<meta charset=big5><p>中文</p>".encode("big5"), None, "big5hkscs"),
        ("<p>é</p>".encode("latin-1"), "iso-8859-1", "cp1252"),  # real Latin-1 stays Latin-1
        (b"<p>plain ascii</p>", None, "utf-8"),
    ],
)
def test_choose_encoding(body, http, expected):
    assert choose_encoding(body, http) == expected


def test_undecodable_bytes_become_replacement_characters_which_extract_refuses():
    page = (FIXTURES / "cna/cna-2023-acn-202308230192.html").read_bytes()
    # bytes that are not UTF-8 in a page that says it is (valid UTF-8 would be read as UTF-8)
    broken = page.replace(b"</h1>", b"\xff\xfe</h1>", 1)
    assert "\ufffd" in decode(broken, "utf-8")
    with pytest.raises(NotAnArticle, match=r"^mis-decoded page: \d+ replacement characters"):
        extract(Page(url="https://www.cna.com.tw/news/acn/202308230192.aspx", body=broken, encoding="utf-8"))


def test_identity_agrees_with_the_requested_url():
    body = (FIXTURES / "cna/cna-2023-acn-202308230192.html").read_bytes()
    ok = Page(url="http://127.0.0.1:1/news/acn/202308230192.aspx", body=body,
              requested_url="http://127.0.0.1:1/News/aCN/202308230192-1.aspx")
    assert extract(ok).article_id == "202308230192"
    other = Page(url="http://127.0.0.1:1/news/acn/202308230193.aspx", body=body)
    with pytest.raises(NotAnArticle, match=r"^conflicting article identity: canonical link .*202308230192\.aspx "
                                           r"vs final URL .*202308230193\.aspx$"):
        extract(other)
    # a file on disk names no article: only the page's own signals count
    assert extract(Page(url=(FIXTURES / "x.html").as_uri(), body=body)).article_id == "202308230192"


def test_generic_pages_signals_must_name_one_page():
    body = (FIXTURES / "generic/example-news.html").read_text(encoding="utf-8")
    assert extract(Page(url="https://news.example.org/x", body=body.encode())).title
    lying = body.replace("</head>", '<link rel="canonical" href="https://news.example.org/2026/11/other"></head>', 1)
    with pytest.raises(NotAnArticle, match="^conflicting article identity: "):
        extract(Page(url="https://news.example.org/x", body=lying.encode()))


def test_retry_after_and_exponential_backoff():
    now = datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc)
    assert retry_after_seconds(b"120") == 120
    assert retry_after_seconds("Tue, 01 Dec 2026 08:00:30 GMT", now) == 30
    assert retry_after_seconds(b"soon") is None and retry_after_seconds(None) is None
    settings = Settings()
    settings.setmodule(project_settings)
    mw = BackoffRetryMiddleware(settings)
    request = Request("http://127.0.0.1/")
    assert [mw.delay_for(request.replace(meta={"retry_times": n})) for n in range(4)] == [1, 2, 4, 8]
    assert mw.delay_for(request.replace(meta={"retry_times": 10})) == 60  # capped
    busy = HtmlResponse("http://127.0.0.1/", status=503, headers={"Retry-After": "7"})
    assert mw.delay_for(request, busy) == 7


def test_settings_limits_and_no_remote_control():
    assert project_settings.DOWNLOAD_MAXSIZE == 32 * 1024 * 1024
    assert project_settings.DOWNLOAD_WARNSIZE == 8 * 1024 * 1024
    from scrapy.settings import Settings

    enabled = Settings(vars(project_settings)).get_component_priority_dict_with_base("EXTENSIONS")
    assert not [k for k in enabled if "RemoteControl" in str(k)]  # not in the chain at all
    assert "newsmirror.scrapy_parts.report.ReportExtension" in enabled
    assert project_settings.REMOTE_CONTROL_ENABLED is False and project_settings.TELNETCONSOLE_ENABLED is False
    assert project_settings.DOWNLOADER_MIDDLEWARES["scrapy.downloadermiddlewares.retry.RetryMiddleware"] is None


def test_orphan_temp_files_are_removed_at_once_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True, timeout=30)
    dead_pid = int(dead.stdout)
    orphan = tmp_path / f".x.md.{_HOST}-{dead_pid}.abc.tmp"
    mine = tmp_path / f".y.md.{_HOST}-{os.getpid()}.abc.tmp"
    elsewhere = tmp_path / ".z.md.otherhost-1.abc.tmp"
    old_style = tmp_path / ".w.md.abc.tmp"
    for path in (orphan, mine, elsewhere, old_style):
        path.write_text("half a post")
    assert sorted(remove_orphan_temp_files(tmp_path)) == [orphan]
    later = remove_orphan_temp_files(tmp_path, now=elsewhere.stat().st_mtime + STALE_TEMP_S + 1)
    assert sorted(p.name for p in later) == sorted([elsewhere.name, old_style.name])
    assert mine.exists()


def test_atomic_write_refuses_a_folder_and_leaves_no_temp_file(tmp_path):
    (tmp_path / "post.md").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write_bytes(tmp_path / "post.md", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["post.md"]


def test_a_damaged_store_is_corrupt_a_locked_down_one_is_not(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="is not a usable SQLite database .* move it away"):
        SeenStore(bad)
    unopenable = tmp_path / "no" / "such"
    unopenable.parent.write_text("a file where the store's folder must be")
    with pytest.raises((StateError, OSError)) as exc:
        SeenStore(unopenable)
    assert "move it away" not in str(exc.value)


def test_spider_arguments_given_as_strings(tmp_path):
    assert CacheSpider(paths="examples/cna").paths == [Path("examples/cna")]
    assert CacheSpider(paths="a b.html,c").paths == [Path("a b.html"), Path("c")]
    assert UrlSpider(urls="http://a/1,http://a/2").urls == ["http://a/1", "http://a/2"]
    assert UrlSpider(urls=["http://a/1"], url="http://a/2 http://a/3").urls == ["http://a/1", "http://a/2",
                                                                               "http://a/3"]
    spider = DiscoverSpider(sitemap="https://www.cna.com.tw/sitemap/a.xml,https://www.cna.com.tw/sitemap/b.xml",
                            feed="https://feeds.feedburner.com/rsscna/intworld")
    [source] = spider.sources
    assert source.sitemaps == ("https://www.cna.com.tw/sitemap/a.xml", "https://www.cna.com.tw/sitemap/b.xml")
    assert source.feeds == ("https://feeds.feedburner.com/rsscna/intworld",)
    assert strings(None) == [] and strings(["x"]) == ["x"]


def test_scrapy_crawl_cache_with_a_string_path_reads_only_that_path(tmp_path):
    out = tmp_path / "out"
    page = FIXTURES / "cna/cna-2023-acn-202308230192.html"
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore", HOME=str(tmp_path / "nohome"))
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "cache", "-a", f"paths={page}", "-s", f"NEWSMIRROR_OUTPUT={out}",
         "-s", "LOG_LEVEL=WARNING"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (out / "_posts").glob("*.md")] == ["2023-08-23-cna-202308230192.md"]
    assert "scrapy crawl: 1 new, 0 updated, 0 unchanged, 0 failed" in result.stderr
    assert "Traceback" not in result.stderr  # no RemoteControl complaining about HOME


def test_same_site_redirects():
    assert same_site("https://www.cna.com.tw/news/a/1.aspx", "https://cna.com.tw/news/a/1.aspx")
    assert same_site("https://www.cna.com.tw/x", "https://m.cna.com.tw/x")
    assert not same_site("http://127.0.0.1:1/x", "http://localhost:1/x")
    assert not same_site("https://www.cna.com.tw/x", "https://parked.example/x")
    assert same_site("https://feeds.example/x", "https://news.example.org/x", ["news.example.org"])


def test_items_repr_never_holds_the_page():
    page = Page(url="https://www.cna.com.tw/x", body=b"<html>" + b"x" * 10_000, origin="x.html")
    assert repr(page) == "Page(url='https://www.cna.com.tw/x', origin='x.html', 10006 bytes)"
    article = Article(url="u", site="cna", article_id="1", title="t", published=datetime.now(timezone.utc),
                      body_html="<p>" + "x" * 10_000, label="l")
    assert repr(article) == "Article(url='u', site='cna', article_id='1')"


def test_scrapy_crawl_discover_with_a_sitemap_argument(site, tmp_path):
    page = (FIXTURES / "cna/cna-2023-acn-202308230192.html").read_bytes()
    site.add("/news/acn/202308230192.aspx", page)
    site.add("/sitemap.xml", '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                             f'<url><loc>{site.url("/news/acn/202308230192.aspx")}</loc></url></urlset>',
             content_type="application/xml")
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "discover", "-a", f"sitemap={site.url('/sitemap.xml')}",
         "-a", "parser=cna", "-s", f"NEWSMIRROR_OUTPUT={out}", "-s", "LOG_LEVEL=WARNING", "-s", "DOWNLOAD_DELAY=0",
         "-s", "AUTOTHROTTLE_ENABLED=False"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert site.hits("/sitemap.xml") == 1
    assert [p.name for p in (out / "_posts").glob("*.md")] == ["2023-08-23-cna-202308230192.md"]


@pytest.mark.parametrize("canonical", ["https://news.example.org/", "https://news.example.org/world"])
def test_a_generic_canonical_naming_a_home_or_section_page_is_an_error(canonical):
    """A CMS whose canonical always names the home (or a section) page would give every article
    one identity: an error for the page, so no post overwrites another."""
    body = (FIXTURES / "generic/example-news.html").read_bytes()
    body = re.sub(rb'<link rel="canonical" href="[^"]*"', f'<link rel="canonical" href="{canonical}"'.encode(), body)
    body = re.sub(rb'<meta property="og:url"[^>]*>', b"", body)  # the canonical alone speaks
    assert canonical.encode() in body
    page = Page(url="https://news.example.org/world/2026/11/harbour-bridge-reopens", body=body)
    with pytest.raises(NotAnArticle, match=r"^conflicting article identity: canonical link .* names a page above"):
        extract(page)
