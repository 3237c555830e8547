"""The loopback fault matrix: bad, broken and lying pages, mirrored in one run.

A loopback server plays CNA.  A first run mirrors good versions of some articles; then the
server turns hostile and one `newsmirror mirror` run fetches every case below.  Each case asserts
its error line (naming the requested URL), its report entry (requested and final URL), the exit
code, that no partial, empty, mis-decoded or wrongly-identified post exists, that no good post
changed, and that the good pages of the same run were written.  Disk faults (an unwritable
`_posts`, a post path that is a folder, a file where `_posts` must go, a full disk) follow, in
separate runs, without root-only tricks.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import re
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import frontmatter
import pytest
from helpers import FAST, FIXTURES, REPO
from loopback import LoopbackSite, Reply, redirect

from newsmirror.atomic import _HOST
from newsmirror.state import SeenStore

BASE_FILE = FIXTURES / "cna/cna-2023-acn-202308230192.html"
BASE = BASE_FILE.read_text(encoding="utf-8")
BASE_ID = "202308230192"
BASE_TITLE = "中國單身人口逾2億 專家說因年輕人太宅"
BASE_DATE = "2023-08-23T15:33:00+08:00"
HTML = "text/html; charset=utf-8"
RUN = [*FAST, "-s", "DOWNLOAD_TIMEOUT=6", "-s", "NEWSMIRROR_RETRY_BACKOFF=0.2",
       "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "-s", "CONCURRENT_REQUESTS=16"]


def art_id(n: int) -> str:
    return f"2023082{n:05d}"


def path_of(n: int) -> str:
    return f"/news/acn/{art_id(n)}.aspx"


def cna(n: int, title: str | None = None) -> str:
    """A real 2023 CNA page turned into article ``n`` (its id everywhere, its own title)."""
    return BASE.replace(BASE_ID, art_id(n)).replace(BASE_TITLE, title or f"{BASE_TITLE}（{n}）")


def title_of(n: int) -> str:
    return f"{BASE_TITLE}（{n}）"


def html(text: str, charset: str = "utf-8", content_type: str | None = None, **kw) -> Reply:
    return Reply(200, text.encode(charset, "xmlcharrefreplace"),
                 {"Content-Type": content_type or f"text/html; charset={charset}"}, **kw)


def sequence(*replies: Reply) -> Callable[[], Reply]:
    """Answers in turn; the last one repeats."""
    it = itertools.chain(replies, itertools.repeat(replies[-1]))
    return lambda: next(it)


def no_meta_charset(text: str) -> str:
    return text.replace('<meta charset="utf-8" />', "")


def with_meta_charset(text: str, charset: str) -> str:
    return text.replace('<meta charset="utf-8" />', f'<meta charset="{charset}" />')


@dataclass
class Case:
    n: int
    name: str
    reply: Reply | Callable[[], Reply] | None  # None: served elsewhere (see the fixture)
    error: str | None = None  # regex for the reason; None: a post with ``title`` is written
    title: str | None = None
    good_first: bool = False  # a good post of this article exists before the run
    url_path: str | None = None  # requested path, default /news/acn/<id>.aspx
    final_path: str | None = None  # path after redirects, when it differs

    @property
    def path(self) -> str:
        return self.url_path or path_of(self.n)


UTF8_PAGE = cna(1)
BOM = b"\xef\xbb\xbf"
BIG_FILLER = "<!-- " + "x" * (20 * 1024 * 1024) + " -->"

CASES = [
    # -- pages that must become posts ------------------------------------------------------
    Case(1, "good page", html(cna(1)), title=title_of(1)),
    Case(2, "Big5 with HTTP charset and meta", html(with_meta_charset(cna(2), "big5"), "big5"), title=title_of(2)),
    Case(3, "GBK with HTTP charset and meta", html(with_meta_charset(cna(3), "gbk"), "gbk"), title=title_of(3)),
    Case(4, "Big5 without any charset", html(no_meta_charset(cna(4)), "big5", "text/html"), title=title_of(4)),
    Case(5, "GBK without any charset", html(no_meta_charset(cna(5)), "gbk", "text/html"), title=title_of(5)),
    Case(6, "UTF-8 labelled iso-8859-1 by HTTP, utf-8 by meta, over a good post",
         html(cna(6), "utf-8", "text/html; charset=iso-8859-1"), title=title_of(6), good_first=True),
    Case(7, "UTF-8 BOM beats a wrong HTTP charset",
         Reply(200, BOM + cna(7).encode(), {"Content-Type": "text/html; charset=windows-1252"}), title=title_of(7)),
    Case(8, "gzip-encoded page",
         Reply(200, gzip.compress(cna(8).encode()), {"Content-Type": HTML, "Content-Encoding": "gzip"}),
         title=title_of(8)),
    Case(9, "500 then 200", sequence(Reply(500, b"oops", {"Content-Type": "text/plain"}), html(cna(9))),
         title=title_of(9)),
    Case(10, "503 with Retry-After then 200",
         sequence(Reply(503, b"busy", {"Content-Type": "text/plain", "Retry-After": "1"}), html(cna(10))),
         title=title_of(10)),
    Case(11, "20 MB page", html(cna(11).replace("</head>", BIG_FILLER + "</head>", 1)), title=title_of(11)),
    Case(12, "same-site redirect from an old URL form", None, title=title_of(12),
         url_path="/News/aCN/202308200012-1.aspx", final_path=path_of(12)),
    Case(13, "2014 layout", None, title=None, url_path="/news/acn/201412120137.aspx"),
    # bytes that are valid multi-byte UTF-8 are UTF-8 whatever the label (legacy CJK or Latin text
    # practically never is): the good post stays as it was
    Case(47, "UTF-8 page labelled big5 by HTTP, over a good post", html(cna(47), "utf-8", "text/html; charset=big5"),
         title=title_of(47), good_first=True),
    # -- pages that must fail, one line each -----------------------------------------------
    Case(20, "empty body", Reply(200, b"", {"Content-Type": HTML}), r"unreadable HTML: empty document"),
    Case(21, "whitespace body", Reply(200, b"  \n\n ", {"Content-Type": HTML}), r"unreadable HTML: empty document"),
    Case(22, "truncated HTML", html(cna(22)[: len(cna(22)) // 2]), r"truncated page"),
    Case(23, "cut-off transfer", Reply(200, cna(23).encode()[:50_000], {"Content-Type": HTML}, length=300_000),
         r"^connection closed before the whole response arrived$"),
    Case(24, "binary (image/png)", Reply(200, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40,
                                         {"Content-Type": "image/png"}), r"not an HTML page \(Content-Type image/png\)"),
    Case(25, "JSON instead of HTML", Reply(200, b'{"a": 1}', {"Content-Type": "application/json"}),
         r"not an HTML page \(Content-Type application/json\)"),
    Case(26, "binary bytes labelled text/html", Reply(200, bytes(range(256)) * 400, {"Content-Type": HTML}),
         r"mis-decoded page|no article|no CNA|no title|unreadable|no readable"),
    Case(27, "404", Reply(404, b"gone", {"Content-Type": "text/plain"}), r"^HTTP 404$"),
    Case(28, "410", Reply(410, b"gone", {"Content-Type": "text/plain"}), r"^HTTP 410$"),
    Case(29, "500 forever", Reply(500, b"oops", {"Content-Type": "text/plain"}), r"^HTTP 500$"),
    Case(30, "429 forever with Retry-After", Reply(429, b"slow down", {"Content-Type": "text/plain",
                                                                      "Retry-After": "1"}), r"^HTTP 429$"),
    Case(31, "hang", html(cna(31), delay=14), r"^timed out"),
    Case(32, "redirect loop", redirect("/loop-b"), r"^too many redirects", url_path="/loop-a"),
    Case(33, "redirect to the home page", redirect("/"), r"no article id", final_path="/"),
    Case(34, "redirect off-site", None, r"redirected off-site to http://localhost:\d+/news/acn/202308200034\.aspx"),
    Case(35, "gzip bomb", Reply(200, gzip.compress(b"\0" * (48 * 1024 * 1024)),
                                {"Content-Type": HTML, "Content-Encoding": "gzip"}),
         r"^response larger than DOWNLOAD_MAXSIZE once decompressed$"),
    Case(36, "announced size over DOWNLOAD_MAXSIZE", Reply(200, b"<html>", {"Content-Type": HTML},
                                                        length=40 * 1024 * 1024), r"^response larger than DOWNLOAD_MAXSIZE$"),
    Case(37, "two canonicals naming two articles",
         html(cna(37).replace("</head>", f'<link rel="canonical" href="https://www.cna.com.tw{path_of(1)}"></head>', 1)),
         r"conflicting article identity: .*202308200037.* vs .*202308200001"),
    Case(38, "canonical names another article already mirrored", None,
         r"conflicting article identity: canonical link .*202308200006.* vs og:url .*202308200038"),
    Case(39, "og:url names another article",
         html(cna(39).replace(f'content="https://www.cna.com.tw{path_of(39)}"',
                              f'content="https://www.cna.com.tw{path_of(1)}"')),
         r"conflicting article identity: .* vs og:url .*202308200001"),
    Case(40, "JSON-LD url names another article",
         html(cna(40).replace(f'"url":"https://www.cna.com.tw{path_of(40)}"',
                              f'"url":"https://www.cna.com.tw{path_of(1)}"')),
         r"conflicting article identity: .* vs JSON-LD url .*202308200001"),
    Case(41, "the page of another article at this URL", html(cna(6)),
         r"conflicting article identity: .*202308200006.* vs requested URL .*202308200041", good_first=False),
    Case(42, "missing title", html(re.sub(r"<h1>\s*<span>[^<]*</span>\s*</h1>", "<h1></h1>", cna(42))),
         r"no headline"),
    Case(43, "missing date", html(cna(43).replace(BASE_DATE, "").replace("2023/8/23 15:33", "")),
         r"no readable publication date"),
    Case(44, "future date", html(cna(44).replace(BASE_DATE, "2031-08-23T15:33:00+08:00")
                                  .replace("2023/8/23 15:33", "2031/8/23 15:33")), r"publication date 2031-.* in the future"),
    Case(45, "expired stub over a good post", None, r"expired article", good_first=True,
         url_path="/news/asoc/201603190029.aspx"),
    Case(46, "unknown layout", html(re.sub(r'class="centralContent"', 'class="somethingElse"', cna(46))),
         r"no CNA article layout recognised"),
    Case(48, "Big5 bytes labelled utf-8, over a good post",
         html(with_meta_charset(cna(48), "utf-8"), "big5", "text/html; charset=utf-8"),
         r"mis-decoded page", good_first=True),
    Case(49, "broken bytes in the title",
         Reply(200, cna(49).encode().replace(title_of(49).encode(), b"\xff\xfe" + title_of(49).encode()),
               {"Content-Type": HTML}), r"mis-decoded page: \d+ replacement characters .*title"),
    Case(50, "list page, not an article", None, r"no article id", url_path="/list/aall.aspx"),
    Case(51, "truncated page over a good post", html(cna(51)[:-5000]), r"truncated page", good_first=True),
]


def posts_of(out: Path, article_id: str) -> list[Path]:
    return sorted((out / "_posts").glob(f"*-cna-{article_id}.md"))


def last_report(out: Path) -> dict:
    return json.loads(sorted((out / ".newsmirror" / "runs").glob("*.json"))[-1].read_text())


def run(*args: str, timeout: float = 240, preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "newsmirror", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout, preexec_fn=preexec)


@dataclass
class Matrix:
    site: LoopbackSite
    out: Path
    before: dict[int, bytes]  # good posts before the hostile run
    result: subprocess.CompletedProcess
    report: dict

    def url(self, case: Case) -> str:
        return self.site.url(case.path) if case.n != 34 else self.offsite_from

    offsite_from: str = ""


@pytest.fixture(scope="module")
def matrix(tmp_path_factory) -> Matrix:
    out = tmp_path_factory.mktemp("faults") / "out"
    with LoopbackSite() as site, LoopbackSite() as other:
        # phase 1: good versions of the articles some faults must not overwrite
        expired_page = (FIXTURES / "cna/cna-2019capture-asoc-201603190029-expired.html").read_bytes()
        good_expired = expired_page.decode("utf-8").replace("已過查詢時效", "完整的報導內容在此。")
        for case in CASES:
            if case.good_first:
                body = good_expired if case.n == 45 else cna(case.n)
                site.add(case.path, body)
        site.add(path_of(6), cna(6))
        first = run("mirror", *(site.url(c.path) for c in CASES if c.good_first), "-o", str(out), *RUN)
        before = {c.n: posts_of(out, _id(c))[0].read_bytes() for c in CASES if c.good_first and posts_of(out, _id(c))}
        assert first.returncode == 0, first.stderr
        # phase 2: the hostile server
        site.routes.clear()
        for case in CASES:
            if case.reply is not None:
                site.routes[case.path] = case.reply
        site.add("/news/acn/201412120137.aspx", (FIXTURES / "cna/cna-2014-acn-201412120137.html").read_bytes())
        site.routes["/News/aCN/202308200012-1.aspx"] = redirect(path_of(12))
        site.add(path_of(12), cna(12))
        site.routes["/loop-b"] = redirect("/loop-a")
        site.add("/", (FIXTURES / "cna/cna-2014-list-aall.html").read_bytes())
        site.add("/list/aall.aspx", (FIXTURES / "cna/cna-2014-list-aall.html").read_bytes())
        site.add("/news/asoc/201603190029.aspx", expired_page)
        site.add(path_of(38), cna(38).replace(f'<link href="https://www.cna.com.tw{path_of(38)}" rel="canonical" />',
                                              f'<link href="https://www.cna.com.tw{path_of(6)}" rel="canonical" />'))
        other.add(path_of(34), cna(34))
        offsite = f"http://localhost:{other.port}{path_of(34)}"
        site.routes[path_of(34)] = redirect(offsite)
        urls = [site.url(c.path) for c in CASES]
        result = run("mirror", *urls, "-o", str(out), *RUN)
        m = Matrix(site, out, before, result, last_report(out))
        m.offsite_from = site.url(path_of(34))
        yield m


def _id(case: Case) -> str:
    m = re.search(r"(\d{12})", case.path)
    return m[1] if m else art_id(case.n)


def test_the_matrix_has_at_least_40_cases():
    assert len(CASES) >= 40
    assert len({c.n for c in CASES}) == len(CASES)


def test_the_run_exits_1_with_one_line_per_failure_and_no_page_bytes(matrix):
    failing = [c for c in CASES if c.error]
    assert matrix.result.returncode == 1, matrix.result.stderr[-3000:]
    assert matrix.report["counts"]["failed"] == len(failing), matrix.result.stderr
    lines = matrix.result.stderr.splitlines()
    assert all(len(line) < 1000 for line in lines), max(lines, key=len)[:300]
    assert "Traceback" not in matrix.result.stderr
    assert "<html" not in matrix.result.stderr.lower()
    # Scrapy does not say again what an error line already says
    assert "DOWNLOAD_MAXSIZE (" not in matrix.result.stderr and "data loss" not in matrix.result.stderr


def test_no_post_holds_replacement_characters(matrix):
    for post in (matrix.out / "_posts").glob("*.md"):
        assert "\ufffd" not in post.read_text(encoding="utf-8"), post.name


@pytest.mark.parametrize("case", [c for c in CASES if c.error], ids=lambda c: f"{c.n}-{c.name}")
def test_failing_case(matrix, case):
    url = matrix.site.url(case.path)
    line = next((x for x in matrix.result.stderr.splitlines() if x.startswith(f"error: {url}: ")), None)
    assert line is not None, f"no error line for {url}:\n{matrix.result.stderr[-4000:]}"
    reason = line[len(f"error: {url}: "):]
    assert re.search(case.error, reason), reason
    [entry] = [f for f in matrix.report["failures"] if f["url"] == url]
    assert entry["reason"] == reason
    if case.final_path:
        assert entry["final_url"] == matrix.site.url(case.final_path)
    posts = posts_of(matrix.out, _id(case))
    if case.good_first:  # the good post is untouched
        assert [p.read_bytes() for p in posts] == [matrix.before[case.n]]
    else:
        assert posts == []
    if "identity" in case.error:  # the article the page claims to be was not touched either
        for other in re.findall(r"\d{12}", reason):
            for post in posts_of(matrix.out, other):
                assert title_of(case.n) not in post.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", [c for c in CASES if not c.error], ids=lambda c: f"{c.n}-{c.name}")
def test_good_case(matrix, case):
    [post] = posts_of(matrix.out, _id(case))
    meta = frontmatter.loads(post.read_text(encoding="utf-8"))
    if case.title:
        assert meta["title"] == case.title
    url = matrix.site.url(case.path)
    assert f"error: {url}:" not in matrix.result.stderr
    if case.good_first:
        assert post.read_bytes() == matrix.before[case.n]  # same article, same bytes: unchanged
        return
    [entry] = [p for p in matrix.report["posts"] if p["requested"] == url]
    assert entry["post"] == post.relative_to(matrix.out).as_posix()
    assert entry["final_url"] == matrix.site.url(case.final_path or case.path)


def test_seen_store_names_only_written_posts(matrix):
    store = SeenStore(matrix.out / ".newsmirror" / "state.sqlite")
    try:
        for record in store:
            assert (matrix.out / record.post_path).is_file()
            text = (matrix.out / record.post_path).read_text(encoding="utf-8")
            assert record.url in text
    finally:
        store.close()


# -- disk faults ------------------------------------------------------------------------------


@pytest.fixture
def two_articles(site):
    site.add(path_of(1), cna(1))
    site.add(path_of(2), cna(2))
    return [site.url(path_of(1)), site.url(path_of(2))]


def _store_rows(out: Path) -> int:
    path = out / ".newsmirror" / "state.sqlite"
    if not path.exists():
        return 0
    store = SeenStore(path)
    try:
        return len(store)
    finally:
        store.close()


def test_post_path_that_is_a_folder_is_a_failed_page(two_articles, tmp_path):
    out = tmp_path / "out"
    blocked = out / "_posts" / f"2023-08-23-cna-{art_id(1)}.md"
    blocked.mkdir(parents=True)
    result = run("mirror", *two_articles, "-o", str(out), *RUN)
    assert result.returncode == 1, result.stderr
    assert f"error: {two_articles[0]}: cannot write _posts/{blocked.name}: Is a directory" in result.stderr
    assert "Traceback" not in result.stderr and "Error processing" not in result.stderr
    report = last_report(out)
    assert report["counts"] == {"new": 1, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 1}
    [failure] = report["failures"]
    assert failure["post"] == f"_posts/{blocked.name}" and failure["url"] == two_articles[0]
    assert blocked.is_dir() and not list(blocked.iterdir())
    assert len(posts_of(out, art_id(2))) == 1
    assert _store_rows(out) == 1  # the failed post was not remembered
    assert not list((out / "_posts").glob(".*.tmp"))


def test_a_file_where_posts_must_go(two_articles, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "_posts").write_text("not a folder")
    result = run("mirror", *two_articles, "-o", str(out), *RUN)
    assert result.returncode == 1, result.stderr
    for url in two_articles:
        assert re.search(rf"^error: {re.escape(url)}: cannot write _posts/\S+\.md: (File exists|Not a directory)$",
                         result.stderr, re.M), result.stderr
    assert last_report(out)["counts"]["failed"] == 2
    assert (out / "_posts").read_text() == "not a folder"
    assert _store_rows(out) == 0


def _unwritable_folder() -> Path | None:
    """A folder the kernel refuses to create files in, even for root: sysfs (no mount needed)."""
    folder = Path("/sys/kernel")
    if folder.is_dir() and not os.access(folder, os.W_OK) or folder.is_dir() and os.geteuid() == 0:
        return folder
    return None


def test_unwritable_posts_folder(two_articles, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    if os.geteuid() != 0:
        (out / "_posts").mkdir()
        (out / "_posts").chmod(0o555)
    elif _unwritable_folder():
        (out / "_posts").symlink_to(_unwritable_folder())
    else:
        pytest.skip("no folder refuses writes here")
    result = run("mirror", *two_articles, "-o", str(out), *RUN)
    assert result.returncode == 1, result.stderr
    for url in two_articles:
        assert re.search(rf"^error: {re.escape(url)}: cannot write _posts/\S+\.md: Permission denied$",
                         result.stderr, re.M), result.stderr
    assert "Traceback" not in result.stderr
    assert last_report(out)["counts"]["failed"] == 2
    assert _store_rows(out) == 0


def test_unwritable_output_folder_cannot_run(two_articles, tmp_path):
    if os.geteuid() == 0 and not _unwritable_folder():
        pytest.skip("no folder refuses writes here")
    out = (_unwritable_folder() or tmp_path) / "out" if os.geteuid() == 0 else tmp_path / "ro"
    if os.geteuid() != 0:
        out.mkdir()
        out.chmod(0o555)
    result = run("mirror", *two_articles, "-o", str(out), *RUN)
    assert result.returncode == 3, result.stderr
    assert re.fullmatch(rf"(newsmirror: )?cannot run: cannot write to {re.escape(str(out))}: "
                        r"(Permission denied|Operation not permitted|Read-only file system)",
                        result.stderr.strip().splitlines()[-1]), result.stderr
    assert "Traceback" not in result.stderr


def _file_size_limit(limit: int) -> Callable[[], None]:
    """A full disk for this process only: writes past ``limit`` bytes fail (EFBIG), like ENOSPC,
    without mounting anything."""
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_full_disk_for_posts(site, tmp_path):
    long_text = '<div class="paragraph">' + "<p>長文。</p>" * 8000
    urls = []
    for n in (1, 2):
        site.add(path_of(n), cna(n).replace('<div class="paragraph">', long_text, 1))
        urls.append(site.url(path_of(n)))
    out = tmp_path / "out"
    # posts of ~100 KB; the seen-store (20 KB), lock and report fit
    result = run("mirror", *urls, "-o", str(out), *RUN, preexec=_file_size_limit(64 * 1024))
    assert result.returncode != 0, result.stderr
    for url in urls:
        assert re.search(rf"^error: {re.escape(url)}: cannot write _posts/\S+\.md: File too large$",
                         result.stderr, re.M), result.stderr
    assert "not a usable SQLite database" not in result.stderr and "Traceback" not in result.stderr
    assert list((out / "_posts").glob("*")) == []  # no partial post, no temp file left
    assert _store_rows(out) == 0


def test_full_disk_for_the_seen_store_is_not_called_corrupt(two_articles, tmp_path):
    out = tmp_path / "out"
    state = out / ".newsmirror" / "state.sqlite"
    SeenStore(state).close()
    assert state.stat().st_size > 8192
    # posts (~2 KB), the lock and the report fit; the store's index pages lie past the limit
    result = run("mirror", *two_articles, "-o", str(out), *RUN, preexec=_file_size_limit(8192))
    assert result.returncode == 3, result.stderr
    assert "not a usable SQLite database" not in result.stderr and "move it away" not in result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert re.search(rf"cannot run: .*cannot use seen-store {re.escape(str(state))}: "
                     r"(database or disk is full|disk I/O error) \(is the disk full or read-only\?", line), line
    assert posts_of(out, art_id(1)) == []
    store = SeenStore(state)  # the store is intact and usable
    try:
        assert len(store) == 0
    finally:
        store.close()


def test_seen_store_full_while_recording_is_a_failed_page(tmp_path):
    """SQLite's own "database or disk is full" (max_page_count reached) while remembering a post:
    one failed page naming the post, the store not called corrupt, the next article still handled."""
    from helpers import write_through

    from newsmirror.items import Page
    from newsmirror.report import PageFailed

    out = tmp_path / "out"
    store = SeenStore(tmp_path / "state.sqlite")
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")
    long_title = "長" * 6000  # the row needs overflow pages the store may not grow
    page = Page(url=f"https://www.cna.com.tw{path_of(1)}", body=cna(1, long_title).encode(), origin="one.html")
    with pytest.raises(PageFailed) as failed:
        write_through([page], out, store)
    message = str(failed.value)
    assert re.fullmatch(r"wrote _posts/2023-08-23-cna-202308200001\.md but could not record it: seen-store "
                        r".*: database or disk is full \(is the disk full or read-only\? .*\)", message), message
    assert failed.value.post_path == "_posts/2023-08-23-cna-202308200001.md"
    assert len(store) == 0
    store.close()


def test_unwritable_run_report_is_one_line_and_a_failed_exit(two_articles, tmp_path):
    out = tmp_path / "out"
    (out / ".newsmirror").mkdir(parents=True)
    (out / ".newsmirror" / "runs").write_text("a file where the reports folder must be")
    result = run("mirror", *two_articles, "-o", str(out), *RUN)
    assert result.returncode == 1, result.stderr
    assert re.search(r"^error: cannot write the run report .*runs/\S+-mirror\.json: (Not a directory|File exists)$",
                     result.stderr, re.M), result.stderr
    assert "Traceback" not in result.stderr
    assert len(list((out / "_posts").glob("*.md"))) == 2  # the posts themselves are fine


def test_kill_9_mid_run_then_rerun_gives_every_post_once(site, tmp_path):
    """SIGKILL at a random point while posts are being written; the next run removes the dead
    run's temp files at once, tears nothing, duplicates nothing and finishes the job."""
    import random
    import time

    n_pages = 12
    urls = []
    for n in range(1, n_pages + 1):
        site.add(path_of(n), html(cna(n), delay=0.2))
        urls.append(site.url(path_of(n)))
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([sys.executable, "-m", "newsmirror", "mirror", *urls, "-o", str(out), *FAST],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):  # at most 60 s for the first post
            if list((out / "_posts").glob("*.md")) or proc.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(random.uniform(0, 0.6))
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    for post in (out / "_posts").glob("*.md"):  # whatever was written is whole
        meta = frontmatter.loads(post.read_text(encoding="utf-8"))
        assert meta["title"].startswith(BASE_TITLE) and post.read_text(encoding="utf-8").rstrip().endswith("</div>")
    # a leftover the dead process could have left mid-write
    (out / "_posts").mkdir(parents=True, exist_ok=True)
    leftover = out / "_posts" / f".x.md.{_HOST}-{proc.pid}.zz.tmp"
    leftover.write_text("half a post")
    again = run("mirror", *urls, "-o", str(out), *FAST)
    assert again.returncode == 0, again.stderr
    assert not leftover.exists()
    for n in range(1, n_pages + 1):
        assert len(posts_of(out, art_id(n))) == 1
    assert len(list((out / "_posts").iterdir())) == n_pages
    assert _store_rows(out) == n_pages


@pytest.mark.parametrize("allowed", [False, True], ids=["host-not-allowed", "host-allowed"])
def test_crawl_off_site_redirect_only_where_the_sources_file_allows_it(site, tmp_path, allowed):
    with LoopbackSite() as other:
        other.add(path_of(2), cna(2))
        site.add(path_of(1), cna(1))
        site.routes[path_of(2)] = redirect(f"http://localhost:{other.port}{path_of(2)}")
        urls = "".join(f"<url><loc>{site.url(path_of(n))}</loc></url>" for n in (1, 2))
        site.add("/sitemap.xml", f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                                 f"{urls}</urlset>", content_type="application/xml")
        domains = '"127.0.0.1", "localhost"' if allowed else '"127.0.0.1"'
        sources = tmp_path / "sources.toml"
        sources.write_text(f'[[source]]\nname = "cna"\nlabel = "(臺)中央社CNA"\nparser = "cna"\n'
                           f'sitemaps = ["{site.url("/sitemap.xml")}"]\nallow_domains = [{domains}]\n')
        out = tmp_path / "out"
        result = run("crawl", "--sources", str(sources), "-o", str(out), *RUN)
    assert len(posts_of(out, art_id(1))) == 1
    if allowed:
        assert result.returncode == 0, result.stderr
        assert len(posts_of(out, art_id(2))) == 1
    else:
        assert result.returncode == 1, result.stderr
        assert f"error: {site.url(path_of(2))}: redirected off-site to http://localhost:" in result.stderr
        assert posts_of(out, art_id(2)) == []


def test_retries_back_off_and_honour_retry_after(site, tmp_path):
    """Lower bounds only (a busy machine makes gaps longer, never shorter): Scrapy's own
    RetryMiddleware would retry within milliseconds."""
    site.add(path_of(1), sequence(Reply(503, b"busy", {"Content-Type": "text/plain", "Retry-After": "2"}),
                                  html(cna(1))))
    site.add(path_of(2), sequence(Reply(500, b"oops", {"Content-Type": "text/plain"}),
                                  Reply(500, b"oops", {"Content-Type": "text/plain"}), html(cna(2))))
    out = tmp_path / "out"
    result = run("mirror", site.url(path_of(1)), site.url(path_of(2)), "-o", str(out), *FAST,
                 "-s", "RETRY_TIMES=2", "-s", "NEWSMIRROR_RETRY_BACKOFF=0.5")
    assert result.returncode == 0, result.stderr
    one = [t for p, t in site.times if p == path_of(1)]
    two = [t for p, t in site.times if p == path_of(2)]
    assert len(one) == 2 and one[1] - one[0] >= 2.0  # Retry-After: 2
    assert len(two) == 3 and two[1] - two[0] >= 0.5 and two[2] - two[1] >= 1.0  # 0.5 s, then doubled


def test_an_unexpected_pipeline_error_is_a_counted_failure_of_one_line(two_articles, tmp_path):
    from newsmirror.settings import ITEM_PIPELINES

    pipelines = json.dumps({**ITEM_PIPELINES, "tests.fault_pipeline.BuggyStage": 350})
    out = tmp_path / "out"
    result = run("mirror", *two_articles, "-o", str(out), *RUN, "-s", f"ITEM_PIPELINES={pipelines}")
    assert result.returncode == 1, result.stderr
    assert f"error: {two_articles[0]}: RuntimeError: boom in a pipeline stage" in result.stderr.splitlines()
    assert "Traceback" not in result.stderr and "Error processing" not in result.stderr
    report = last_report(out)
    assert report["counts"]["failed"] == 1 and report["counts"]["new"] == 1
    assert posts_of(out, art_id(1)) == [] and len(posts_of(out, art_id(2))) == 1
    verbose = run("mirror", two_articles[0], "-o", str(tmp_path / "v"), *RUN, "-v",
                  "-s", f"ITEM_PIPELINES={pipelines}")
    assert verbose.returncode == 1
    assert "Traceback" in verbose.stderr and "RuntimeError: boom in a pipeline stage" in verbose.stderr


# -- command-line mistakes (fixed on main; kept in the matrix) ---------------------------------

CLI_MISTAKES = [
    (["mirror", "http://127.0.0.1:9/x", "-o", "{file}"], r"-o \S+: exists and is not a folder", "mirror"),
    (["mirror", "not-a-url"], r"URL 'not-a-url' is not an http\(s\) URL", "mirror"),
    (["crawl", "--feed", "not-a-url"], r"--feed 'not-a-url' is not an http\(s\) URL", "crawl"),
    (["mirror", "--bogus", "http://127.0.0.1:9/x"], r"unrecognized arguments: --bogus", "mirror"),
]


@pytest.mark.parametrize(("args", "message", "command"), CLI_MISTAKES, ids=lambda v: str(v)[:30])
def test_cli_mistakes_are_one_line_and_exit_2(tmp_path, args, message, command):
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = run(*(a.replace("{file}", str(afile)) for a in args), timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"usage: newsmirror {command} ")
    [error] = [line for line in result.stderr.splitlines() if "error:" in line]
    assert re.fullmatch(rf"newsmirror {command}: error: {message}", error), error
    assert "Traceback" not in result.stderr
