"""The output folder as a Jekyll site: a real ``jekyll build`` (Debian's jekyll + jekyll-feed) of posts
made from the bundled pages and of hostile posts, checked in headless Chromium over loopback HTTP."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import threading
from datetime import datetime, timezone
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import frontmatter
import pytest
from helpers import REPO, run_cli
from lxml import html as lxml_html

from newsmirror.items import Article, Figure
from newsmirror.jekyll import INSTALL_HINT, init_site, template_files
from newsmirror.writer import post_filename, render_post

JEKYLL = shutil.which("jekyll")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_jekyll = pytest.mark.skipif(JEKYLL is None, reason="jekyll not installed (apt-get install jekyll ruby-jekyll-feed)")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")


# ---- helpers -----------------------------------------------------------------------------------

def build(out: Path, tz: str = "UTC", *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore", TZ=tz)
    result = subprocess.run([sys.executable, "-m", "newsmirror", "site", "build", "-o", str(out), *extra],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


class Served:
    """A built site on a loopback HTTP server."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def dom(url: str, profile: Path):
    """The DOM Chromium renders for ``url``, parsed with lxml."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0 and "<body" in result.stdout, result.stderr[-2000:]
    return lxml_html.fromstring(result.stdout)


def squash(value: str) -> str:
    """Whitespace as a browser shows it: runs collapse to one space."""
    return re.sub(r"\s+", " ", value).strip()


def text(node) -> str:
    return squash(node.text_content())


def permalink(post_name: str) -> str:
    """/YYYY/MM/DD/<slug>.html from the post's file name: the day in the URL is the file name's."""
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})-(.+)\.md$", post_name)
    assert match, post_name
    return f"/{match[1]}/{match[2]}/{match[3]}/{match[4]}.html"


@pytest.fixture(scope="module")
def cna_site(tmp_path_factory):
    """`newsmirror reprocess examples/cna -o OUT && newsmirror site build -o OUT`, as the README says."""
    out = tmp_path_factory.mktemp("cna-site")
    result = run_cli("reprocess", "examples/cna", "-o", str(out))
    assert result.returncode == 0, result.stderr
    if JEKYLL is not None:
        build(out)
    return out


def hostile_article(article_id: str, title: str, body_html: str, published: datetime) -> Article:
    return Article(
        url=f"https://www.cna.com.tw/news/aipl/{article_id}.aspx", site="cna", article_id=article_id,
        title=title, published=published, body_html=body_html, label="(臺)中央社CNA",
        lead_figure=Figure(src="https://imgcdn.cna.com.tw/x.jpg", caption="{{ caption }}"),
    )


HOSTILE = [
    # (title, body HTML)
    ("{{ site.title }} 與 {% raw %} 標題", "<p>內文 {{ page.title }} 與 {% include nothing.html %}</p>"),
    ("{% endraw %}{% if x %}", "<p>{% raw %} unclosed raw</p><p>{% comment %} never closed</p>"),
    ("---", "<p>---</p><p>layout: default</p><p>title: injected</p><p>---</p>"),
    ('"quoted" : title # [x] {::comment}', "<p>{::nomarkdown}kramdown extension{:/}</p><p>{{</p>"),
]


# ---- the template and `site init` -------------------------------------------------------------

def test_the_repository_output_folder_is_the_packaged_template():
    """output/ (the default output root) is the site: the same bytes `site init` writes."""
    for rel, data in template_files().items():
        assert (REPO / "output" / rel).read_bytes() == data, f"output/{rel} differs from the template"
    assert {"_config.yml", "_layouts/default.html", "_layouts/post.html", "index.html",
            "_plugins/newsmirror_pages.rb", "assets/site.css"} <= set(template_files())


def test_config_makes_posts_liquid_free_and_utc():
    import yaml

    config = yaml.safe_load(template_files()["_config.yml"])
    assert config["timezone"] == "UTC"
    assert config["permalink"] == "/:year/:month/:day/:title:output_ext"
    assert {"scope": {"path": "", "type": "posts"},
            "values": {"layout": "post", "render_with_liquid": False}} in config["defaults"]
    assert "jekyll-feed" in config["plugins"] and "archived" in config["exclude"]


def test_site_init_never_touches_posts_and_keeps_edits(tmp_path):
    post = tmp_path / "_posts" / "2023-09-11-cna-202309110310.md"
    post.parent.mkdir()
    post.write_bytes(b"---\nlayout: post\n---\nmine\n")
    (tmp_path / "_config.yml").write_text("title: my own\n")
    result = run_cli("site", "init", str(tmp_path))
    assert result.returncode == 0, result.stderr
    n = len(template_files())
    assert result.stderr.splitlines()[-1] == f"site init: {n - 1} written, 1 kept, 0 unchanged in {tmp_path}"
    assert f"kept {tmp_path}/_config.yml (edited; --force overwrites it)" in result.stderr
    assert (tmp_path / "_config.yml").read_text() == "title: my own\n"
    assert post.read_bytes() == b"---\nlayout: post\n---\nmine\n"
    again = run_cli("site", "init", str(tmp_path), "--force")
    assert again.stderr.splitlines()[-1] == f"site init: 1 written, 0 kept, {n - 1} unchanged in {tmp_path}"
    assert (tmp_path / "_config.yml").read_bytes() == template_files()["_config.yml"]
    assert post.read_bytes() == b"---\nlayout: post\n---\nmine\n"
    assert not list(tmp_path.rglob("*.newsmirror-tmp"))


def test_site_init_dry_run_writes_nothing(tmp_path):
    result = run_cli("site", "init", str(tmp_path / "new"), "--dry-run")
    assert result.returncode == 0
    assert f"would write {tmp_path}/new/_config.yml" in result.stderr
    assert not (tmp_path / "new").exists()


def test_build_and_serve_without_jekyll_say_how_to_install_it(tmp_path):
    init_site(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(REPO), PATH=str(tmp_path / "empty-bin"))
    for action in ("build", "serve"):
        result = subprocess.run([sys.executable, "-m", "newsmirror", "site", action, "-o", str(tmp_path)],
                                env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 3
        assert result.stderr == f"newsmirror: cannot run: {INSTALL_HINT}\n"


def test_site_actions_have_examples_and_helped_options():
    from newsmirror.commands import _subparser, build_parser

    site = _subparser(build_parser(), "site")
    for name in ("init", "build", "serve"):
        action = _subparser(site, name)
        assert "examples:" in action.format_help(), name
        for option in action._actions:
            assert option.help, f"site {name} {option.option_strings or option.dest} has no help text"


# ---- a real jekyll build --------------------------------------------------------------------

@needs_jekyll
@pytest.mark.parametrize("tz", ["America/Los_Angeles", "Asia/Taipei"])
def test_permalink_day_is_the_file_name_day_in_any_time_zone(tmp_path, tz):
    result = run_cli("reprocess", "examples/cna", "-o", str(tmp_path))
    assert result.returncode == 0
    # 03:24 UTC is the previous day in Los Angeles; 20:40 UTC the next day in Taipei
    build(tmp_path, tz)
    names = sorted(p.name for p in (tmp_path / "_posts").glob("*.md"))
    assert len(names) == 8
    built = sorted(str(p.relative_to(tmp_path / "_site")) for p in (tmp_path / "_site").glob("[0-9]*/*/*/*.html"))
    assert built == sorted(permalink(name).lstrip("/") for name in names)
    assert (tmp_path / "_site/2013/08/13/cna-201308130021.html").is_file()
    page = (tmp_path / "_site/2023/09/11/cna-202309110310.html").read_text(encoding="utf-8")
    assert '<time datetime="2023-09-11T12:40:00+00:00">2023-09-11 20:40 臺灣時間' in page
    assert "· 12:40 UTC" in page


@needs_jekyll
def test_build_writes_listings_feed_and_source_pages(cna_site):
    site = cna_site / "_site"
    posts = sorted((cna_site / "_posts").glob("*.md"))
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in index
    hrefs = re.findall(r'<li><time [^>]*>[^<]*</time><a href="([^"]+)"', index)
    assert hrefs == [permalink(p.name) for p in reversed(posts)]  # every post, newest first
    for month in ("2013/08", "2014/12", "2023/08", "2023/09", "2026/06"):
        assert (site / month / "index.html").is_file()
    august = (site / "2023/08/index.html").read_text(encoding="utf-8")
    assert len(re.findall(r"<li><time", august)) == 4
    source = (site / "source/cna/index.html").read_text(encoding="utf-8")
    assert "<h1>(臺)中央社CNA</h1>" in source and len(re.findall(r"<li><time", source)) == 8
    feed = (site / "feed.xml").read_text(encoding="utf-8")
    assert feed.startswith("<?xml") and "<feed" in feed and feed.count("<entry>") == 8
    assert "越美產官峰會 半導體與新科技合作成焦點" in feed
    assert not (site / "README.html").exists()


@needs_jekyll
def test_archived_posts_are_not_published(tmp_path):
    run_cli("reprocess", "examples/cna", "-o", str(tmp_path))
    run_cli("archive", "--older-than", "365", "-o", str(tmp_path))
    archived = sorted(p.name for p in (tmp_path / "archived").rglob("*.md"))
    assert "2013-08-13-cna-201308130021.md" in archived
    build(tmp_path)
    site = tmp_path / "_site"
    assert not (site / "archived").exists() and not (site / "2013").exists()
    assert "cna-201308130021" not in (site / "index.html").read_text(encoding="utf-8")


@needs_jekyll
def test_baseurl_and_url_reach_links_and_feed(tmp_path):
    run_cli("reprocess", "examples/cna", "-o", str(tmp_path))
    build(tmp_path, "UTC", "--baseurl", "/mirror", "--url", "https://me.example")
    index = (tmp_path / "_site/index.html").read_text(encoding="utf-8")
    assert 'href="/mirror/2023/09/11/cna-202309110310.html"' in index
    assert 'href="/mirror/assets/site.css"' in index
    feed = (tmp_path / "_site/feed.xml").read_text(encoding="utf-8")
    assert "https://me.example/mirror/2023/09/11/cna-202309110310.html" in feed


@needs_jekyll
@pytest.mark.parametrize("body_format", ["html", "markdown"])
def test_hostile_titles_and_bodies_render_verbatim(tmp_path, body_format):
    when = datetime(2024, 1, 2, 3, 4, tzinfo=timezone.utc)
    for n, (title, body) in enumerate(HOSTILE):
        article = hostile_article(f"20240102{n:04d}", title, body, when)
        (tmp_path / "_posts").mkdir(exist_ok=True)
        (tmp_path / "_posts" / post_filename(article)).write_text(render_post(article, body_format), encoding="utf-8")
    # a hand-made post (e.g. from the replaced system) with a lone --- line and front matter in its body
    (tmp_path / "_posts/2024-01-02-cna-209901010001.md").write_text(
        '---\nlayout: post\ntitle: "手寫"\ndate: 2024-01-02T05:00:00.000Z\nauthor: x\n'
        "from: https://www.cna.com.tw/news/aipl/209901010001.aspx\ntags: [ x ]\ncomments: True\n"
        "categories: [ x ]\n---\n<!--1704171600000-->\n[手寫](https://www.cna.com.tw/news/aipl/209901010001.aspx)\n"
        "------\n\n<div>\n<p>before</p>\n---\nlayout: default\ntitle: {{ evil }}\n---\n<p>after {% raw %}</p>\n</div>\n",
        encoding="utf-8")
    result = build(tmp_path)
    assert "Liquid" not in result.stdout + result.stderr
    site = tmp_path / "_site"
    for n, (title, body) in enumerate(HOSTILE):
        page = lxml_html.parse(str(site / f"2024/01/02/cna-20240102{n:04d}.html")).getroot()
        assert text(page.find_class("post-title")[0]) == title
        body_text = text(page.find_class("post-body")[0])
        for fragment in re.findall(r"<p>(.*?)</p>", body):
            # markdown treats a lone --- as a rule and {::...} as kramdown markup; the HTML body keeps it all
            if body_format == "html" or fragment not in ("---",) and "{::" not in fragment:
                assert fragment in body_text, (fragment, body_text)
    hand = lxml_html.parse(str(site / "2024/01/02/cna-209901010001.html")).getroot()
    assert "before --- layout: default title: {{ evil }} --- after {% raw %}" in text(hand.find_class("post-body")[0])
    index = lxml_html.parse(str(site / "index.html")).getroot()
    assert [text(a) for a in index.xpath("//ol[@class='post-list']/li/a")] == ["手寫"] + [t for t, _ in reversed(HOSTILE)]


# ---- in a browser -----------------------------------------------------------------------------

@needs_jekyll
@needs_chromium
def test_chromium_shows_every_post_on_the_index_and_each_post_whole(cna_site, tmp_path):
    posts = sorted((cna_site / "_posts").glob("*.md"))
    served = Served(cna_site / "_site")
    try:
        index = dom(served.base + "/", tmp_path / "profile")
        links = index.xpath("//ol[@class='post-list']/li/a")
        expected = [squash(frontmatter.load(p)["title"]) for p in reversed(posts)]
        assert [text(a) for a in links] == expected
        assert [a.get("href") for a in links] == [permalink(p.name) for p in reversed(posts)]
        assert index.xpath("//meta[@charset]")[0].get("charset") == "utf-8"
        for path in posts:
            post = frontmatter.load(path)
            page = dom(served.base + permalink(path.name), tmp_path / "profile")
            assert text(page.xpath("//h1")[0]) == squash(post["title"])
            assert page.xpath("//title")[0].text.startswith(post["title"])
            [original] = page.xpath("//p[@class='original']/a")
            assert original.get("href") == post["from"]
            assert page.xpath("//time/@datetime")[0] == post["date"].strftime("%Y-%m-%dT%H:%M:%S+00:00")
            assert text(page.xpath("//*[@class='source']")[0]) == "(臺)中央社CNA"
            body = page.xpath("//div[@class='post-body']")[0]
            source_html = post.content
            first_img = re.search(r'<img src="([^"]+)"', source_html)
            if first_img:
                assert body.xpath(".//img")[0].get("src") == first_img[1].replace("&amp;", "&")
            caption = re.search(r"<figcaption[^>]*>(.*?)</figcaption>", source_html)
            if caption:
                assert text(body.xpath(".//figcaption")[0]) == squash(caption[1])
            last_paragraph = re.findall(r"<p>([^<]*)</p>", source_html)[-1]
            assert last_paragraph.strip()[:30] in text(body)
    finally:
        served.close()


@needs_jekyll
@needs_chromium
def test_chromium_shows_hostile_text_as_written(tmp_path):
    site_dir = tmp_path / "site"
    when = datetime(2024, 1, 2, 3, 4, tzinfo=timezone.utc)
    (site_dir / "_posts").mkdir(parents=True)
    title, body = HOSTILE[0]
    article = hostile_article("202401020000", title, body + "<p>{% raw %}{{ x }}{% endraw %}</p>", when)
    (site_dir / "_posts" / post_filename(article)).write_text(render_post(article), encoding="utf-8")
    build(site_dir)
    served = Served(site_dir / "_site")
    try:
        page = dom(served.base + "/2024/01/02/cna-202401020000.html", tmp_path / "profile")
        assert text(page.xpath("//h1")[0]) == "{{ site.title }} 與 {% raw %} 標題"
        body = text(page.xpath("//div[@class='post-body']")[0])
        assert "內文 {{ page.title }} 與 {% include nothing.html %}" in body
        assert "{% raw %}{{ x }}{% endraw %}" in body
    finally:
        served.close()


@needs_jekyll
def test_site_serve_serves_the_site_and_stops_on_ctrl_c(tmp_path):
    import signal
    import socket
    import time
    import urllib.request

    run_cli("reprocess", "examples/cna", "-o", str(tmp_path))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([sys.executable, "-m", "newsmirror", "site", "serve", "-o", str(tmp_path),
                             "--port", str(port), "-q"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        page = None
        for _ in range(600):  # up to about 60 s for the first build
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    page = response.read().decode("utf-8")
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        assert page is not None, proc.communicate(timeout=10)
        assert "越美產官峰會 半導體與新科技合作成焦點" in page
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert err.splitlines()[-1] == "site serve: stopped"


@needs_jekyll
def test_a_failing_jekyll_build_is_one_line_and_exit_3(tmp_path):
    init_site(tmp_path)
    (tmp_path / "_config.yml").write_text("title: [unclosed\n", encoding="utf-8")
    result = run_cli("site", "build", "-o", str(tmp_path))
    assert result.returncode == 3
    assert result.stderr.splitlines()[-1] == (
        f"newsmirror: cannot run: jekyll build failed on {tmp_path} (exit 1; its errors are above)")


@needs_jekyll
def test_listings_follow_the_shown_clock_across_a_month_end(tmp_path):
    """20:30 UTC on 30 September is 1 October, 04:30 in Taipei: the post's URL keeps its UTC file-name
    day, and it is listed under 2023-10-01 on the October page, which the pages show."""
    (tmp_path / "_posts").mkdir()
    article = hostile_article("202309300001", "月底的新聞", "<p>x</p>", datetime(2023, 9, 30, 20, 30, tzinfo=timezone.utc))
    (tmp_path / "_posts" / post_filename(article)).write_text(render_post(article), encoding="utf-8")
    build(tmp_path, "Asia/Taipei")
    site = tmp_path / "_site"
    assert (site / "2023/09/30/cna-202309300001.html").is_file()
    october = (site / "2023/10/index.html").read_text(encoding="utf-8")
    assert '<time datetime="2023-10-01">2023-10-01</time>' in october and "月底的新聞" in october
    assert "<h1>2023 年 10 月</h1>" in october
    assert not (site / "2023/09/index.html").exists()


@needs_jekyll
def test_one_ascii_page_per_source_label(tmp_path):
    """Labels become ASCII path segments; one without ASCII letters, or two that would collide, get a
    digest; every source page lists exactly its own posts."""
    import hashlib

    (tmp_path / "_posts").mkdir()
    labels = {"(臺)中央社CNA": 2, "CNA": 1, "美国之音": 3, "heise Developer": 1}
    n = 0
    for label, count in labels.items():
        for _ in range(count):
            n += 1
            article = hostile_article(f"2024010200{n:02d}", f"{label} 第{n}篇", "<p>x</p>",
                                      datetime(2024, 1, 2, n, 0, tzinfo=timezone.utc))
            article.label = label
            (tmp_path / "_posts" / post_filename(article)).write_text(render_post(article), encoding="utf-8")
    build(tmp_path)
    digest = {label: hashlib.md5(label.encode()).hexdigest()[:8] for label in labels}
    slugs = {"(臺)中央社CNA": f"cna-{digest['(臺)中央社CNA']}", "CNA": f"cna-{digest['CNA']}",
             "美国之音": f"s-{digest['美国之音']}", "heise Developer": "heise-developer"}
    for label, slug in slugs.items():
        page = lxml_html.parse(str(tmp_path / "_site/source" / slug / "index.html")).getroot()
        assert text(page.xpath("//h1")[0]) == label
        titles = [text(a) for a in page.xpath("//ol[@class='post-list']/li/a")]
        assert len(titles) == labels[label] and all(t.startswith(f"{label} 第") for t in titles)
    post = lxml_html.parse(str(tmp_path / "_site/2024/01/02/cna-202401020004.html")).getroot()
    [source] = post.xpath("//a[@class='source']")
    assert text(source) == "美国之音" and source.get("href") == f"/source/s-{digest['美国之音']}/"
