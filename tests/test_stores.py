"""Reading pages back from HTML files, Scrapy's HTTP caches and WARCs -- and writing WARCs.

The caches and WARCs are written by real Scrapy crawls (in a subprocess, so each gets a fresh
Twisted reactor) against the loopback server; nothing here is a hand-made imitation of Scrapy's
format.  Crawls are module-scoped and copied before a test damages them, to keep the module fast.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import shutil
import subprocess
import sys
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loopback import LoopbackSite, Reply
from warcio.archiveiterator import ArchiveIterator

from newsmirror.stores import (
    StoredPage,
    StoreError,
    decode_body,
    gunzip,
    iter_stored_pages,
)

REPO = Path(__file__).resolve().parent.parent

# What the loopback site serves: path -> (status, body as served, body after content decoding)
# a few KB that compress badly, so a cut 2/3 into its WARC record always lands in the payload
NOISE = f"{random.Random(7).getrandbits(16384):x}"
A_BODY = f"<html><head><title>A</title></head><body>Ünïcode – 中央社 ✓ {NOISE}</body></html>".encode()
B_BODY = b"<html><body><p>page two of the list</p></body></html>"
GZ_PLAIN = b"<html><body>" + b"compressed on the wire " * 40 + b"</body></html>"
GZ_WIRE = gzip.compress(GZ_PLAIN, mtime=0)
MOVED_BODY = b"<html><body>moved here</body></html>"
SERVED: dict[str, tuple[int, bytes, bytes]] = {
    "/a.html": (200, A_BODY, A_BODY),
    "/b.html?page=2": (200, B_BODY, B_BODY),
    "/gz.html": (200, GZ_WIRE, GZ_PLAIN),
    "/missing.html": (404, b"not found", b"not found"),  # loopback's answer for unknown paths
    "/old.html": (301, b"", b""),
    "/moved.html": (200, MOVED_BODY, MOVED_BODY),
}
START = ["/a.html", "/b.html?page=2", "/gz.html", "/missing.html", "/old.html"]  # /moved.html via 301

CRAWL_SCRIPT = r"""
import json, sys
import scrapy
from scrapy.crawler import CrawlerProcess

urls, settings = json.loads(sys.argv[1]), json.loads(sys.argv[2])

class Pages(scrapy.Spider):
    name = "pages"
    start_urls = urls

    def parse(self, response):
        return None

process = CrawlerProcess({"LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False, **settings})
process.crawl(Pages)
process.start()
"""


def serve_news(site: LoopbackSite) -> None:
    site.add("/a.html", A_BODY)
    site.add("/b.html?page=2", B_BODY)
    site.routes["/gz.html"] = Reply(200, GZ_WIRE, {"Content-Type": "text/html", "Content-Encoding": "gzip"})
    site.routes["/old.html"] = Reply(301, b"", {"Location": "/moved.html"})
    site.add("/moved.html", MOVED_BODY)


@dataclass
class Crawl:
    base: str  # http://127.0.0.1:port of the server that answered
    out: Path  # folder holding the cache ("cache/") and/or the WARC ("crawl.warc.gz")
    started: datetime
    finished: datetime

    @property
    def cache(self) -> Path:
        return self.out / "cache"

    @property
    def warc(self) -> Path:
        return self.out / "crawl.warc.gz"

    def url(self, path: str) -> str:
        return self.base + path


def run_crawl(out: Path, site: LoopbackSite, settings: dict[str, object]) -> Crawl:
    """Run a real Scrapy crawl of START in a subprocess; `settings` may use {out} in strings."""
    out.mkdir(parents=True, exist_ok=True)
    script = out / "crawl_script.py"
    script.write_text(CRAWL_SCRIPT)
    settings = {k: v.format(out=out) if isinstance(v, str) else v for k, v in settings.items()}
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    started = datetime.now(timezone.utc)
    proc = subprocess.run(
        [sys.executable, str(script), json.dumps([site.url(p) for p in START]), json.dumps(settings)],
        cwd=out, env=env, capture_output=True, text=True, timeout=120,
    )
    finished = datetime.now(timezone.utc)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return Crawl(site.base, out, started, finished)


@pytest.fixture(scope="module")
def news_site():
    with LoopbackSite() as server:
        serve_news(server)
        yield server


@pytest.fixture(scope="module")
def crawl_plain(news_site: LoopbackSite, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    """HTTP cache (no HTTPCACHE_GZIP) and the WARC writer, in the same crawl."""
    return run_crawl(tmp_path_factory.mktemp("plain"), news_site, {
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_DIR": "{out}/cache",
        "EXTENSIONS": {"newsmirror.scrapy_parts.warc_writer.WarcWriter": 500},
        "NEWSMIRROR_WARC": "{out}/crawl.warc.gz",
    })


@pytest.fixture(scope="module")
def crawl_gzip(news_site: LoopbackSite, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    return run_crawl(tmp_path_factory.mktemp("gzip"), news_site, {
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_DIR": "{out}/cache",
        "HTTPCACHE_GZIP": True,
    })


def pages_only(results: list[StoredPage | StoreError]) -> dict[str, StoredPage]:
    errors = [r for r in results if isinstance(r, StoreError)]
    assert errors == []
    pages = {r.url: r for r in results if isinstance(r, StoredPage)}
    assert len(pages) == len(results)
    return pages


def assert_served(pages: dict[str, StoredPage], crawl: Crawl, timestamp_precision: timedelta) -> None:
    """Every response the server gave is there, with exact status, decoded body and headers."""
    assert set(pages) == {crawl.url(p) for p in SERVED}
    for path, (status, _wire, plain) in SERVED.items():
        page = pages[crawl.url(path)]
        assert page.status == status, path
        assert page.body == plain, path
        assert page.fetched_at is not None and page.fetched_at.tzinfo is not None
        assert crawl.started - timestamp_precision <= page.fetched_at <= crawl.finished, path
        assert "content-encoding" not in page.headers, path
    assert pages[crawl.url("/a.html")].headers["content-type"] == "text/html; charset=utf-8"
    assert pages[crawl.url("/a.html")].headers["content-length"] == str(len(A_BODY))
    assert pages[crawl.url("/gz.html")].headers["content-length"] == str(len(GZ_WIRE))  # as on the wire
    assert pages[crawl.url("/old.html")].headers["location"] == "/moved.html"
    assert pages[crawl.url("/missing.html")].headers["content-type"] == "text/plain"
    assert all(name == name.lower() for page in pages.values() for name in page.headers)


# -- Scrapy filesystem HTTP cache ------------------------------------------------------------


@pytest.mark.parametrize("which", ["plain", "gzip"])
def test_reads_scrapy_filesystem_cache(which: str, request: pytest.FixtureRequest) -> None:
    crawl: Crawl = request.getfixturevalue(f"crawl_{which}")
    entries = sorted(crawl.cache.glob("pages/*/*"))
    assert len(entries) == len(SERVED)  # Scrapy cached the 301 and the 404 too
    metas = [(e / "pickled_meta").read_bytes() for e in entries]
    assert all(m.startswith(b"\x1f\x8b") == (which == "gzip") for m in metas)  # HTTPCACHE_GZIP took effect

    results = list(iter_stored_pages(crawl.cache))
    pages = pages_only(results)
    assert_served(pages, crawl, timedelta(0))
    assert [r.origin for r in results] == [str(e) for e in entries]  # sorted, one per entry folder

    # the spider's folder, and one entry folder on its own, read the same
    assert list(iter_stored_pages(crawl.cache / "pages")) == results
    entry = Path(pages[crawl.url("/a.html")].origin)
    assert list(iter_stored_pages(entry)) == [pages[crawl.url("/a.html")]]


def test_corrupt_cache_entries_are_errors_and_the_rest_still_read(crawl_plain: Crawl, crawl_gzip: Crawl,
                                                                  tmp_path: Path) -> None:
    plain, gz = tmp_path / "plain", tmp_path / "gzip"
    shutil.copytree(crawl_plain.cache, plain)
    shutil.copytree(crawl_gzip.cache, gz)

    plain_entries = {p.url: Path(p.origin) for p in pages_only(list(iter_stored_pages(plain))).values()}
    gz_entries = {p.url: Path(p.origin) for p in pages_only(list(iter_stored_pages(gz))).values()}

    def entry(cache: Path, crawl: Crawl, path: str) -> Path:
        return (plain_entries if cache == plain else gz_entries)[crawl.url(path)]

    # plain cache: garbled pickled_meta; a content-encoded body cut short
    garbled = entry(plain, crawl_plain, "/a.html")
    (garbled / "pickled_meta").write_bytes(b"\x80\x04\x95garbage")
    cut = entry(plain, crawl_plain, "/gz.html")
    (cut / "response_body").write_bytes(GZ_WIRE[: len(GZ_WIRE) // 2])
    # gzip cache: response_body truncated mid-stream; response_body missing
    truncated = entry(gz, crawl_gzip, "/a.html")
    raw = (truncated / "response_body").read_bytes()
    (truncated / "response_body").write_bytes(raw[:-9])
    missing = entry(gz, crawl_gzip, "/moved.html")
    (missing / "response_body").unlink()

    results = list(iter_stored_pages(tmp_path))
    errors = {r.origin: r.reason for r in results if isinstance(r, StoreError)}
    assert errors == {
        str(garbled): "unreadable pickled_meta (UnpicklingError)",
        str(cut): "truncated gzip content-encoding",
        str(truncated): "truncated gzip stream in response_body",
        str(missing): "missing response_body",
    }
    # every other entry of both caches is still read, exactly
    damaged = {garbled, cut, truncated, missing}
    expected = sorted(
        (str(origin), url, SERVED[url.removeprefix(crawl.base)][0], SERVED[url.removeprefix(crawl.base)][2])
        for entries, crawl in ((plain_entries, crawl_plain), (gz_entries, crawl_gzip))
        for url, origin in entries.items()
        if origin not in damaged
    )
    pages = [r for r in results if isinstance(r, StoredPage)]
    assert len(expected) == 2 * len(SERVED) - 4
    assert sorted((p.origin, p.url, p.status, p.body) for p in pages) == expected
    assert [r.origin for r in results] == sorted(r.origin for r in results)


def test_reads_scrapy_dbm_cache(news_site: LoopbackSite, tmp_path: Path) -> None:
    crawl = run_crawl(tmp_path, news_site, {
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_DIR": "{out}/cache",
        "HTTPCACHE_STORAGE": "scrapy.extensions.httpcache.DbmCacheStorage",
    })
    files = sorted(f.name for f in crawl.cache.iterdir())
    assert "pages.db.dat" in files or "pages.db" in files  # depends on the dbm backend Python has

    results = list(iter_stored_pages(crawl.cache))
    pages = pages_only(results)
    assert_served(pages, crawl, timedelta(0))
    assert all(p.origin.startswith(f"{crawl.cache / 'pages.db'}#") for p in results)
    assert [r.origin for r in results] == sorted(r.origin for r in results)
    # any of the backend's files names the database
    assert list(iter_stored_pages(crawl.cache / files[0])) == results


# -- WARC writer + reader --------------------------------------------------------------------


def test_warc_writer_records_what_the_server_sent(crawl_plain: Crawl, news_site: LoopbackSite) -> None:
    records = []
    with open(crawl_plain.warc, "rb") as fh:
        for record in ArchiveIterator(fh):
            payload = record.raw_stream.read()
            records.append((record.rec_type, record.rec_headers, record.http_headers, payload))
    assert records[0][0] == "warcinfo"
    assert b"newsmirror" in records[0][3]
    pairs = records[1:]
    assert len(pairs) == 2 * len(SERVED)
    seen = set()
    # warcio writes each pair response first, as Heritrix does
    for (resp_type, resp_warc, resp_http, resp_body), (req_type, req_warc, req_http, req_body) in zip(
        pairs[::2], pairs[1::2], strict=True
    ):
        assert (resp_type, req_type) == ("response", "request")
        assert req_warc.get_header("WARC-Concurrent-To") == resp_warc.get_header("WARC-Record-ID")
        assert req_warc.get_header("WARC-Date") == resp_warc.get_header("WARC-Date")
        url = resp_warc.get_header("WARC-Target-URI")
        assert req_warc.get_header("WARC-Target-URI") == url
        path = url.removeprefix(crawl_plain.base)
        status, wire, _plain = SERVED[path]
        # the request as Scrapy sent it
        assert (req_http.protocol, req_http.statusline) == ("GET", f"{path} HTTP/1.1")
        assert req_http.get_header("Host") == crawl_plain.base.removeprefix("http://")
        assert "Scrapy" in req_http.get_header("User-Agent")
        assert req_body == b""
        # the response as the server sent it: status line, headers, raw (still gzipped) body
        assert resp_http.protocol == "HTTP/1.0"  # http.server answers HTTP/1.0
        assert int(resp_http.get_statuscode()) == status
        assert resp_body == wire
        assert resp_warc.get_header("WARC-IP-Address") == "127.0.0.1"
        seen.add(path)
    assert seen == set(SERVED)
    statuslines = {r[2].statusline for r in pairs if r[0] == "response"}
    assert {"301 Moved Permanently", "404 Not Found", "200 OK"} == statuslines
    gz_http = next(r[2] for r in pairs if r[0] == "response" and r[3] == GZ_WIRE)
    assert gz_http.get_header("Content-Encoding") == "gzip"
    assert news_site.hits("/moved.html") >= 1


def test_reads_back_the_written_warc(crawl_plain: Crawl) -> None:
    results = list(iter_stored_pages(crawl_plain.warc))
    pages = pages_only(results)
    assert_served(pages, crawl_plain, timedelta(seconds=1))  # WARC/1.0 dates have whole seconds
    # origins number every record: warcinfo is #1, then response/request pairs
    assert [r.origin for r in results] == [f"{crawl_plain.warc}#record {n}" for n in range(2, 13, 2)]


def test_warc_writer_appends_and_does_not_archive_cache_hits(crawl_plain: Crawl, news_site: LoopbackSite,
                                                             tmp_path: Path) -> None:
    shutil.copytree(crawl_plain.cache, tmp_path / "cache")
    shutil.copy(crawl_plain.warc, tmp_path / "crawl.warc.gz")
    before = len(news_site.requests)
    run_crawl(tmp_path, news_site, {
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_DIR": "{out}/cache",
        "EXTENSIONS": {"newsmirror.scrapy_parts.warc_writer.WarcWriter": 500},
        "NEWSMIRROR_WARC": "{out}/crawl.warc.gz",
    })
    assert len(news_site.requests) == before  # every page came from the cache
    with open(tmp_path / "crawl.warc.gz", "rb") as fh:
        types = [record.rec_type for record in ArchiveIterator(fh)]
    # old records kept, nothing from the cache re-archived (and no warcinfo if nothing was downloaded)
    assert types == ["warcinfo"] + ["response", "request"] * len(SERVED)


def test_warc_writer_not_configured_without_setting() -> None:
    from scrapy.exceptions import NotConfigured
    from scrapy.utils.test import get_crawler

    from newsmirror.scrapy_parts.warc_writer import WarcWriter

    with pytest.raises(NotConfigured):
        WarcWriter.from_crawler(get_crawler(settings_dict={}))


def test_warc_writer_flushes_each_pair_before_the_crawl_ends(tmp_path: Path) -> None:
    """What a crashed crawl leaves behind: every finished pair is already readable on disk."""
    from scrapy.http import Request, Response

    from newsmirror.scrapy_parts.warc_writer import WarcWriter

    writer = WarcWriter(tmp_path / "out" / "live.warc")  # no .gz: written uncompressed
    for n in (1, 2):
        request = Request(f"https://news.test/{n}.html", headers={"User-Agent": "t"})
        response = Response(request.url, status=200, body=b"<p>%d</p>" % n, request=request,
                            headers={"Content-Type": "text/html"}, protocol="HTTP/1.1")
        writer.response_downloaded(response, request, spider=None)
        on_disk = list(iter_stored_pages(tmp_path / "out" / "live.warc"))  # file still open
        assert [(p.url, p.body, p.status) for p in on_disk] == [
            (f"https://news.test/{i}.html", b"<p>%d</p>" % i, 200) for i in range(1, n + 1)
        ]
    assert (tmp_path / "out" / "live.warc").read_bytes().startswith(b"WARC/1.0\r\nWARC-Type: warcinfo")
    writer.response_downloaded(Response("file:///x.html", body=b"x"), Request("file:///x.html"), None)
    writer.spider_closed(spider=None)
    assert len(list(iter_stored_pages(tmp_path / "out" / "live.warc"))) == 2  # file:// not archived


@pytest.mark.parametrize("suffix", [".warc.gz", ".warc"])
def test_truncated_warc_yields_earlier_pages_then_one_error(crawl_plain: Crawl, tmp_path: Path,
                                                            suffix: str) -> None:
    data = crawl_plain.warc.read_bytes()
    if suffix == ".warc":
        data = gzip.decompress(data)  # concatenated members = the same records uncompressed
    records = []  # (number, type, url, offset, length)
    with io.BytesIO(data) as fh:
        it = ArchiveIterator(fh)
        for number, record in enumerate(it, start=1):
            url = record.rec_headers.get_header("WARC-Target-URI")
            records.append((number, record.rec_type, url, it.get_record_offset(), it.get_record_length()))
    assert len(records) == 13
    target = next(r for r in records if r[1] == "response" and r[2] == crawl_plain.url("/a.html"))
    number, _type, _url, offset, length = target
    warc = tmp_path / f"cut{suffix}"
    warc.write_bytes(data[: offset + length * 2 // 3])  # the file ends in the middle of a.html's body

    results = list(iter_stored_pages(warc))
    before = [r for r in records if r[0] < number and r[1] == "response"]
    assert [(p.origin, p.url) for p in results[:-1]] == [(f"{warc}#record {r[0]}", r[2]) for r in before]
    full = {p.url: p.body for p in iter_stored_pages(crawl_plain.warc) if isinstance(p, StoredPage)}
    assert all(isinstance(p, StoredPage) and p.body == full[p.url] for p in results[:-1])
    assert results[-1] == StoreError(f"{warc}#record {number}", results[-1].reason)
    assert results[-1].reason.startswith("truncated record:")


@pytest.mark.parametrize("suffix", [".warc.gz", ".warc"])
def test_warc_cut_anywhere_never_yields_a_wrong_page(crawl_plain: Crawl, tmp_path: Path, suffix: str) -> None:
    """Cut the file at (nearly) every byte: pages are exact or missing, and the cut is reported."""
    data = crawl_plain.warc.read_bytes()
    if suffix == ".warc":
        data = gzip.decompress(data)
    with io.BytesIO(data) as fh:
        it = ArchiveIterator(fh)
        response_starts = [it.get_record_offset() for record in it if record.rec_type == "response"]
    full = {p.url: p for p in iter_stored_pages(crawl_plain.warc) if isinstance(p, StoredPage)}
    warc = tmp_path / f"cut{suffix}"
    for cut in range(1, len(data), 11):  # ~1100 cuts of a 12 KB file
        warc.write_bytes(data[:cut])
        results = list(iter_stored_pages(warc))
        errors = [r for r in results if isinstance(r, StoreError)]
        for page in results:
            if isinstance(page, StoredPage):
                expected = full[page.url]
                assert (page.body, page.status, page.headers) == (expected.body, expected.status,
                                                                  expected.headers), cut
        assert errors == results[-1:] or not errors, cut  # at most one error, and it ends the file
        if not errors:
            # nothing lost silently: every response that starts before the cut came back whole
            # (a cut in a record's last bytes -- gzip trailer, blank lines -- loses nothing)
            pages = [r for r in results if isinstance(r, StoredPage)]
            assert len(pages) == sum(1 for start in response_starts if start < cut), cut


def test_garbled_warc_record_is_an_error_not_a_crash(crawl_plain: Crawl, tmp_path: Path) -> None:
    data = bytearray(crawl_plain.warc.read_bytes())
    with open(crawl_plain.warc, "rb") as fh:
        it = ArchiveIterator(fh)
        offsets = [it.get_record_offset() for _ in it]
    fourth = offsets[3]  # the 2nd response record: the start of its gzip member is overwritten
    data[fourth: fourth + 40] = b"\x00garbage" * 5
    warc = tmp_path / "garbled.warc.gz"
    warc.write_bytes(bytes(data))

    results = list(iter_stored_pages(warc))
    assert [type(r) for r in results] == [StoredPage, StoreError]
    assert results[0].origin == f"{warc}#record 2"
    assert results[1].origin == f"{warc}#record 4"
    assert results[1].reason and "\n" not in results[1].reason
    # warcio cannot find the next record after a damaged gzip member, so that is where it ends


def test_warc_with_chunked_and_brotli_payloads(tmp_path: Path) -> None:
    """WARCs from other tools keep chunked framing and any Content-Encoding; bodies come out plain."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    brotli = pytest.importorskip("brotli")
    html = b"<html><body>" + "中央社".encode() * 50 + b"</body></html>"
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (html[:100], html[100:])) + b"0\r\n\r\n"
    payloads = [
        ("http://x.test/chunked", [("Transfer-Encoding", "chunked")], chunked),
        ("http://x.test/br", [("Content-Encoding", "br")], brotli.compress(html)),
        ("http://x.test/deflate", [("Content-Encoding", "deflate")], zlib.compress(html)),
    ]
    warc = tmp_path / "other.warc"
    with open(warc, "wb") as fh:
        writer = WARCWriter(fh, gzip=False)
        writer.write_record(writer.create_warc_record("http://x.test/", "resource", payload=io.BytesIO(b"x"),
                                                      length=1, warc_content_type="text/plain"))
        for url, headers, payload in payloads:
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), *headers], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(payload), length=len(payload), http_headers=http,
                warc_headers_dict={"WARC-Date": "2024-05-01T12:30:45.123456789Z"}))
    results = list(iter_stored_pages(warc))
    assert [(r.url, r.body, r.status, r.origin) for r in results] == [
        (url, html, 200, f"{warc}#record {n}") for n, (url, _h, _p) in enumerate(payloads, start=2)
    ]
    assert all(r.headers == {"content-type": "text/html"} for r in results)
    assert {r.fetched_at for r in results} == {datetime(2024, 5, 1, 12, 30, 45, 123456, tzinfo=timezone.utc)}


# -- bare files, folders, dispatch -----------------------------------------------------------


def test_html_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.HTM").write_bytes(b"<p>two</p>")
    (tmp_path / "a.html").write_bytes(b"\xef\xbb\xbf<p>one</p>")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.html").write_text("hidden")
    when = datetime(2023, 8, 23, 1, 2, 3, tzinfo=timezone.utc)
    os.utime(tmp_path / "a.html", (when.timestamp(), when.timestamp()))

    results = list(iter_stored_pages(tmp_path))
    assert results == [
        StoredPage(None, b"\xef\xbb\xbf<p>one</p>", None, {}, str(tmp_path / "a.html"), when),
        StoredPage(None, b"<p>two</p>", None, {}, str(tmp_path / "b" / "two.HTM"),
                   datetime.fromtimestamp((tmp_path / "b" / "two.HTM").stat().st_mtime, timezone.utc)),
    ]
    assert list(iter_stored_pages(str(tmp_path / "a.html"))) == results[:1]


def test_mixed_folder_reads_everything_in_name_order(crawl_plain: Crawl, tmp_path: Path) -> None:
    shutil.copytree(crawl_plain.cache, tmp_path / "cache")
    shutil.copy(crawl_plain.warc, tmp_path / "crawl.warc.gz")
    (tmp_path / "a.html").write_bytes(b"<p>saved</p>")
    results = list(iter_stored_pages(tmp_path))
    assert len(results) == 1 + 2 * len(SERVED)
    assert results[0].origin == str(tmp_path / "a.html")
    assert all(r.origin.startswith(str(tmp_path / "cache")) for r in results[1:7])
    assert all(r.origin.startswith(f"{tmp_path / 'crawl.warc.gz'}#record ") for r in results[7:])
    from_cache = {r.url: r.body for r in results[1:7] if isinstance(r, StoredPage)}
    from_warc = {r.url: r.body for r in results[7:] if isinstance(r, StoredPage)}
    assert from_cache == from_warc and len(from_cache) == len(SERVED)


def test_bad_paths_fail_at_the_call(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        iter_stored_pages(tmp_path / "nope")
    (tmp_path / "x.txt").write_text("?")
    with pytest.raises(ValueError, match="x.txt"):
        iter_stored_pages(tmp_path / "x.txt")
    (tmp_path / "fake.db").write_bytes(b"not a database")
    with pytest.raises(ValueError, match="DBM"):
        iter_stored_pages(tmp_path / "fake.db")
    assert list(iter_stored_pages(tmp_path)) == []  # in a folder, unknown files are skipped


# -- content decoding ------------------------------------------------------------------------


def test_decode_body_codings() -> None:
    html = b"<p>hello</p>" * 20
    headers = {"content-type": "text/html", "content-encoding": "gzip, identity"}
    assert decode_body(gzip.compress(html), headers) == (html, {"content-type": "text/html"})
    raw_deflate = zlib.compressobj(wbits=-15)
    raw = raw_deflate.compress(html) + raw_deflate.flush()
    assert decode_body(raw, {"content-encoding": "deflate"})[0] == html  # headerless deflate, as IIS sent
    assert decode_body(zlib.compress(html), {"content-encoding": "Deflate"})[0] == html
    assert decode_body(b"", {"content-encoding": "gzip"}) == (b"", {})  # 304/HEAD style empty body
    with pytest.raises(ValueError, match="unsupported content-encoding 'compress'"):
        decode_body(html, {"content-encoding": "compress"})
    with pytest.raises(ValueError, match="garbled gzip"):
        decode_body(html, {"content-encoding": "gzip"})
    # two gzip members, then padding some servers add
    assert gunzip(gzip.compress(b"ab") + gzip.compress(b"cd") + b"\0\0") == b"abcd"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000), st.data())
def test_gunzip_is_strict_about_truncation(data: bytes, draw: st.DataObject) -> None:
    packed = gzip.compress(data)
    assert gunzip(packed) == data
    cut = draw.draw(st.integers(min_value=0, max_value=len(packed) - 1))
    with pytest.raises(ValueError, match="truncated|garbled"):
        gunzip(packed[:cut])
