"""One crawl over every kind of source the replaced system mirrored, on a loopback server:
CNA's sitemap (cna parser), two full-text feeds (parser = "feed"), a YouTube channel feed and
a generic news site announced through tracking and Feedburner-style redirect URLs.

The first run writes every post under its own label; the second run makes zero article requests
and writes nothing, whatever URL form the feeds and sitemaps use.
"""

from __future__ import annotations

import gzip
import json

import frontmatter
import pytest
from helpers import FAST, FIXTURES, run_cli
from loopback import Reply

pytest.importorskip("trafilatura")

CNA_PAGES = {
    "/news/aopl/202309110310.aspx": "seed/202309110310.reconstructed.html",
    "/news/acn/202308230192.aspx": "cna/cna-2023-acn-202308230192.html",
    "/news/ahel/202308230179.aspx": "cna/cna-2023-ahel-202308230179.html",
}
GENERIC_PAGES = {  # loopback path -> Fundus capture; the pages' canonical links name their real sites
    "/lemonde/binet.html": "pages/fundus-LeMonde_2023_09_01.html.gz",
    "/voa/childcare.html": "pages/fundus-VoiceOfAmerica_2024_04_28.html.gz",
}
LABELS = {"cna": "(臺)中央社CNA", "heise": "heise Developer", "ads": "Google Ads Developer Blog", "df": "Digital Foundry TV",
          "news": "World News"}


def serve(site) -> None:
    for path, name in CNA_PAGES.items():
        site.add(path, (FIXTURES / name).read_bytes())
    for path, name in GENERIC_PAGES.items():
        site.add(path, gzip.decompress((FIXTURES / name).read_bytes()))
    urls = "".join(f"<url><loc>{site.url(p)}</loc></url>" for p in CNA_PAGES)
    site.add("/cna/sitemap.xml", f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             f"{urls}</urlset>", content_type="application/xml")
    site.add("/feeds/heise.atom", (FIXTURES / "feeds/rssparser-heise.atom").read_bytes(),
             content_type="application/atom+xml")
    site.add("/feeds/ads.atom", (FIXTURES / "feeds/rssparser-feedburner.atom").read_bytes(),
             content_type="application/rss+xml")
    site.add("/feeds/videos.xml", (FIXTURES / "feeds/capyreader-atom-feed-youtube.xml").read_bytes(),
             content_type="application/atom+xml")
    # the news site's feed links through a Feedburner-style redirect and with tracking parameters
    site.add("/~r/news/~3/aBc/binet", Reply(302, b"", {"Location": site.url("/lemonde/binet.html")}))
    site.add("/voa/childcare.html?utm_source=rss&utm_medium=feed", site.routes["/voa/childcare.html"])
    items = "".join(
        f"<item><title>{t}</title><link>{site.url(p)}</link><pubDate>Mon, 29 Apr 2024 08:00:00 GMT</pubDate></item>"
        for t, p in (("Binet", "/~r/news/~3/aBc/binet"), ("Childcare", "/voa/childcare.html?utm_source=rss&amp;utm_medium=feed"))
    )
    site.add("/news/rss.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>n</title>{items}</channel></rss>',
             content_type="application/rss+xml")


def sources_file(site, tmp_path):
    path = tmp_path / "sources.toml"
    path.write_text(f"""
[[source]]
name = "cna"
label = "{LABELS['cna']}"
parser = "cna"
sitemaps = ["{site.url('/cna/sitemap.xml')}"]

[[source]]
name = "heise"
label = "{LABELS['heise']}"
parser = "feed"
feeds = ["{site.url('/feeds/heise.atom')}"]

[[source]]
name = "ads"
label = "{LABELS['ads']}"
parser = "feed"
feeds = ["{site.url('/feeds/ads.atom')}"]
timezone = "America/Los_Angeles"
author = "label"

[[source]]
name = "df"
label = "{LABELS['df']}"
parser = "feed"
feeds = ["{site.url('/feeds/videos.xml')}"]

[[source]]
name = "news"
label = "{LABELS['news']}"
parser = "generic"
feeds = ["{site.url('/news/rss.xml')}"]
""", encoding="utf-8")
    return path


ARTICLE_PATHS = [*CNA_PAGES, *GENERIC_PAGES, "/~r/news/~3/aBc/binet", "/voa/childcare.html?utm_source=rss&utm_medium=feed"]


def article_requests(site) -> int:
    return sum(site.hits(p) for p in ARTICLE_PATHS)


def posts(out):
    return {p.name: p.read_bytes() for p in sorted((out / "_posts").glob("*.md"))}


def last_report(out):
    return json.loads(sorted((out / ".newsmirror/runs").glob("*-crawl.json"))[-1].read_text())


def test_mixed_sources_right_labels_then_an_unchanged_run_fetches_and_writes_nothing(site, tmp_path):
    serve(site)
    out = tmp_path / "out"
    args = ("crawl", "--sources", str(sources_file(site, tmp_path)), "-o", str(out), *FAST)
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    written = posts(out)
    by_label: dict[str, list] = {}
    for name, data in written.items():
        post = frontmatter.loads(data.decode("utf-8"))
        assert post["tags"] == post["categories"] and len(post["tags"]) == 1, name
        by_label.setdefault(post["tags"][0], []).append((name, post))
    assert {k: len(v) for k, v in by_label.items()} == {
        LABELS["cna"]: 3, LABELS["heise"]: 15, LABELS["ads"]: 25, LABELS["df"]: 15, LABELS["news"]: 2}
    # CNA: the golden post, byte for byte, though the pages came from a loopback host
    assert written["2023-09-11-cna-202309110310.md"] == (FIXTURES / "seed/expected_clean.md").read_bytes()
    # full-text feed: the item's author (heise names none: the label); the Ads blog asks for the label
    heise = dict(by_label[LABELS["heise"]])
    wildfly = next(p for p in heise.values() if p["title"] == "Java-Anwendungsserver: Red Hat gibt WildFly 10 frei")
    assert wildfly["author"] == LABELS["heise"]
    assert wildfly["from"] == "http://www.heise.de/developer/meldung/Java-Anwendungsserver-Red-Hat-gibt-WildFly-10-frei-3088438.html"
    assert str(wildfly["date"]).startswith("2016-02-01 16:22:00")  # 17:22+01:00
    assert all(p["author"] == LABELS["ads"] for _, p in by_label[LABELS["ads"]])
    java = next(p for _, p in by_label[LABELS["ads"]]
                if p["title"] == "AdWords and DFP Java client library will soon require Java 7+")
    # feedburner:origLink, not the feedproxy redirect
    assert java["from"] == "http://googleadsdeveloper.blogspot.com/2016/06/adwords-and-dfp-java-client-library.html"
    # YouTube: embedded player without cookies, thumbnail first, the channel as author
    name, video = next((n, p) for n, p in by_label[LABELS["df"]] if "W_S7iKZZdHw" in n)
    assert name == "2025-01-01-youtube-W_S7iKZZdHw.md"
    assert video["from"] == "https://www.youtube.com/watch?v=W_S7iKZZdHw" and video["author"] == "Digital Foundry"
    assert video.content.split("<div>\n", 1)[1].startswith(
        '<figure><img src="https://i4.ytimg.com/vi/W_S7iKZZdHw/hqdefault.jpg"')
    assert '<iframe src="https://www.youtube-nocookie.com/embed/W_S7iKZZdHw"' in video.content
    assert "As the holiday period begins to unwind" in video.content
    # generic site: canonical URLs, whatever the feed linked to
    news = {p["from"]: p for _, p in by_label[LABELS["news"]]}
    assert set(news) == {
        "https://www.lemonde.fr/politique/article/2023/08/30/sophie-binet-met-en-garde-emmanuel-macron-sur-la-gravite-de-la-situation-dans-le-pays_6187099_823448.html",
        "https://www.voanews.com/a/america-s-child-care-crisis-is-holding-back-moms-without-college-degrees-/7585813.html",
    }
    assert article_requests(site) == 3 + 2 + 1  # CNA, the two announced URLs, the redirect target
    report = last_report(out)
    assert report["counts"]["new"] == 60 and report["counts"]["failed"] == 0
    # every URL the articles came under is remembered: announced, redirected to, canonical
    from newsmirror.sites.generic import GenericParser
    from newsmirror.state import SeenStore

    lemonde = GenericParser().key_from_url(next(u for u in news if "lemonde" in u))
    with SeenStore(out / ".newsmirror/state.sqlite") as store:
        for url in ("/~r/news/~3/aBc/binet", "/lemonde/binet.html"):
            assert store.article_for_url(site.url(url)) == lemonde, url
        assert store.article_for_url(site.url("/news/rss.xml")) is None  # a feed is no article
        assert store.article_for_url(site.url("/feeds/heise.atom")) is None

    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "_posts").iterdir()}
    second = run_cli(*args)
    assert second.returncode == 0, second.stderr
    assert article_requests(site) == 6  # not one article page fetched again
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "_posts").iterdir()} == before
    counts = last_report(out)["counts"]
    assert (counts["new"], counts["updated"], counts["failed"], counts["unchanged"]) == (0, 0, 0, 60)


def test_cna_parser_on_another_host_keeps_cna_label(site, tmp_path):
    serve(site)
    out = tmp_path / "out"
    args = ("crawl", "--sitemap", site.url("/cna/sitemap.xml"), "--parser", "cna", "-o", str(out), *FAST)
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    for data in posts(out).values():
        assert frontmatter.loads(data.decode())["tags"] == [LABELS["cna"]]
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert sum(site.hits(p) for p in CNA_PAGES) == len(CNA_PAGES)


def test_summary_only_items_fetch_their_page_when_the_source_says_so(site, tmp_path):
    serve(site)
    site.add("/mixed/rss.xml", f"""<?xml version="1.0"?><rss version="2.0"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>m</title>
<item><title>Full text</title><link>https://full.example.org/a</link><guid>full-1</guid>
<pubDate>Mon, 29 Apr 2024 08:00:00 GMT</pubDate><description>short</description>
<content:encoded><![CDATA[<p>The whole story.</p>]]></content:encoded></item>
<item><title>Only a summary</title><link>{site.url('/voa/childcare.html')}</link>
<pubDate>Mon, 29 Apr 2024 07:00:00 GMT</pubDate><description>A teaser.</description></item>
</channel></rss>""", content_type="application/rss+xml")
    path = tmp_path / "s.toml"
    path.write_text(f'[[source]]\nname = "mixed"\nlabel = "Mixed"\nparser = "feed"\n'
                    f'feeds = ["{site.url("/mixed/rss.xml")}"]\nfetch_summary_only = true\n', encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("crawl", "--sources", str(path), "-o", str(out), *FAST)
    assert result.returncode == 0, result.stderr
    got = {frontmatter.loads(d.decode())["title"]: frontmatter.loads(d.decode()) for d in posts(out).values()}
    assert set(got) == {"Full text", "America's child care crisis is holding back moms without college degrees"}
    assert got["Full text"].content.endswith("<div>\n<p>The whole story.</p>\n</div>")
    page_post = got["America's child care crisis is holding back moms without college degrees"]
    assert page_post["tags"] == ["Mixed"] and "Nicole Slemp" in page_post.content
    assert site.hits("/voa/childcare.html") == 1


def test_one_off_full_text_feed_from_the_command_line(site, tmp_path):
    serve(site)
    out = tmp_path / "out"
    result = run_cli("crawl", "--feed", site.url("/feeds/heise.atom"), "--parser", "feed", "--label", "heise",
                     "-o", str(out), *FAST)
    assert result.returncode == 0, result.stderr
    written = posts(out)
    assert len(written) == 15
    assert all(frontmatter.loads(d.decode())["tags"] == ["heise"] for d in written.values())
    assert all(name.split("-", 3)[3].startswith("127-0-0-1-") for name in written)  # site = the source name


def test_items_without_link_are_posts_and_the_feed_is_no_alias(site, tmp_path):
    site.add("/nolink.xml", """<?xml version="1.0"?><rss version="2.0"><channel><title>n</title>
<item><title>First note</title><description>One.</description><pubDate>Mon, 29 Apr 2024 08:00:00 GMT</pubDate></item>
<item><title>Second note</title><description>Two.</description><pubDate>Mon, 29 Apr 2024 09:00:00 GMT</pubDate></item>
<item><title>Second note</title><description>Two.</description><pubDate>Mon, 29 Apr 2024 09:00:00 GMT</pubDate></item>
</channel></rss>""", content_type="application/rss+xml")
    out = tmp_path / "out"
    args = ("crawl", "--feed", site.url("/nolink.xml"), "--parser", "feed", "--label", "Notes", "-o", str(out), *FAST)
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    written = {frontmatter.loads(d.decode())["title"]: frontmatter.loads(d.decode()) for d in posts(out).values()}
    assert set(written) == {"First note", "Second note"}  # the duplicate item is one post
    assert {p["from"] for p in written.values()} == {site.url("/nolink.xml")}
    from newsmirror.state import SeenStore

    with SeenStore(out / ".newsmirror/state.sqlite") as store:
        assert store.article_for_url(site.url("/nolink.xml")) is None
    again = run_cli(*args)
    assert again.returncode == 0 and json.loads(sorted((out / ".newsmirror/runs").glob("*.json"))[-1]
                                                .read_text())["counts"]["unchanged"] == 2
