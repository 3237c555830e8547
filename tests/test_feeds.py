"""Posts made from real full-text feeds (parser = "feed"), field by field.

The feeds are saved byte for byte from other projects' test corpora (tests/fixtures/SOURCES.md):
English, German and Portuguese; UTF-8, ISO-8859-1 and undeclared windows-1252; RSS 1.0, RSS 2.0
(content:encoded, description only, Feedburner origLink) and Atom.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import FIXTURES, write_through

from newsmirror.discovery import FeedItem, parse_feed, parse_feed_items
from newsmirror.items import Article, Page
from newsmirror.report import PageFailed
from newsmirror.sites.feed import feed_item_document, item_key

FEEDS = FIXTURES / "feeds"


def items(name: str, feed_url: str, **kw) -> list[FeedItem]:
    return parse_feed_items((FEEDS / name).read_bytes(), feed_url, **kw)


def feed_page(item: FeedItem, feed_url: str, source: str = "src", label: str = "Label") -> Page:
    author = item.author or label
    return Page(url=item.url or feed_url, body=feed_item_document(item, source=source, feed_url=feed_url,
                                                                  author=author),
                encoding="utf-8", origin=item.url or feed_url, label=label)


def post(item: FeedItem, feed_url: str, tmp_path, label: str = "Label") -> tuple[Article, str]:
    [art] = write_through([feed_page(item, feed_url, label=label)], tmp_path)
    return art, (tmp_path / art.post_path).read_text(encoding="utf-8")


# title, url, published (ISO to the minute, with the feed's offset), author, first paragraph, lead image
CASES = [
    ("rssparser-guardian.rss", "https://www.theguardian.com/us/rss",
     "Trump State of the Union address promised unity but emphasized discord",
     "https://www.theguardian.com/us-news/2018/jan/31/donald-trump-state-of-the-union-address-unity-discord",
     "2018-01-31T07:26+00:00", "David Smith in Washington",
     "The president’s ‘new American moment’ speech stirred Republican applause", None),
    ("rssparser-content-encoded.rss", "https://medium.com/feed/invironment/tagged/food",
     "THE CREATIVE FORAGER",
     "https://medium.com/invironment/the-creative-forager-125af37d838f?source=rss----d12c403d4976--food",
     "2018-04-09T18:55+00:00", "Jeremy Puma", None,
     "https://cdn-images-1.medium.com/max/938/1*C_nVpehD-NKBgtVEULabmQ.jpeg"),
    ("rssparser-encoding.rss", "http://feeds.jn.pt/JN-ULTIMAS",  # ISO-8859-1, Feedburner origLink
     "Mãe de utente é a nova presidente da Raríssimas",
     "https://www.jn.pt/nacional/interior/sonia-laig-e-a-nova-presidente-da-rarissimas-9021600.html",
     "2018-01-03T13:47+00:00", "Label",
     "Sónia Laygue, profissional na área da Recursos Humanos e mãe de uma criança", None),
    ("rssparser-feedburner.atom", "http://feeds.feedburner.com/blogspot/lQlzL",  # Atom, origLink
     "AdWords and DFP Java client library will soon require Java 7+",
     "http://googleadsdeveloper.blogspot.com/2016/06/adwords-and-dfp-java-client-library.html",
     "2016-06-03T07:38-07:00", "Google Ads Developer Advisor", None,
     "https://lh6.googleusercontent.com/OARJJ1a0J4Mw11dlC-Wl_OuLl2eKtEjhYQw8DiRxq19R_N38Vu5xICRd6D5WE66ibQklt5BWyquFuRLThvI6V067SGVhE-vW_5IiKq_G1tn8cDcZRAdHXE-8UegB_UryQ9dw5N7K"),
    ("rssparser-heise.atom", "http://www.heise.de/developer/rss/news-atom.xml",  # German Atom
     "Java-Anwendungsserver: Red Hat gibt WildFly 10 frei",
     "http://www.heise.de/developer/meldung/Java-Anwendungsserver-Red-Hat-gibt-WildFly-10-frei-3088438.html",
     "2016-02-01T17:22+01:00", "Label", "Die nun verfügbare Version 10 des Enterprise-Java-Servers",
     "http://www.heise.de/scale/geometry/264/q80/imgs/18/1/7/3/9/9/2/1/wildfly-2bf4ffd2935e38b6-90200def80b152e9-5ba35d3770232d92.jpeg"),
    ("rssparser-uolNoticias.rss", "http://rss.home.uol.com.br/index.xml",  # no declaration: windows-1252
     "Ibope: Bolsonaro perde de Haddad, Ciro e Alckmin em simulações de 2º turno",
     "https://noticias.uol.com.br/politica/eleicoes/2018/noticias/2018/09/24/ibope-bolsonaro-perde-de-haddad-ciro-e-alckmin-em-simulacoes-de-2-turno.htm",
     "2018-09-24T19:42-03:00", "Label", "Líder na pesquisa Ibope de intenção de voto",
     "https://conteudo.imguol.com.br/c/noticias/5f/2018/09/17/presidenciaveis-1537211917356_142x100.jpg"),
]


@pytest.mark.parametrize(("name", "feed_url", "title", "url", "when", "author", "first", "image"), CASES,
                         ids=[c[0] for c in CASES])
def test_feed_item_post_field_by_field(tmp_path, name, feed_url, title, url, when, author, first, image):
    art, text = post(items(name, feed_url)[0], feed_url, tmp_path)
    assert art.title == title
    assert art.url == url
    assert art.published.isoformat()[:16] + art.published.isoformat()[-6:] == when
    assert art.label == "Label"
    assert f"\nauthor: {author}\n" in text
    assert "tags: [ Label ]\n" in text and "categories: [ Label ]\n" in text
    assert f"\nfrom: {url}\n" in text
    if first is not None:
        first_p = text.split("<p>", 1)[1]
        assert first_p.startswith(first), first_p[:200]
    if image is None:
        assert art.lead_figure is None
    else:
        assert art.lead_figure is not None and art.lead_figure.src == image
    # nothing of the feed's plumbing leaks into the post
    assert "newsmirror-feed-item" not in text and "height=\"1\"" not in text


def test_tracking_pixels_and_scripts_are_dropped(tmp_path):
    [item] = [i for i in items("rssparser-encoding.rss", "http://feeds.jn.pt/JN-ULTIMAS")][:1]
    assert "feeds.feedburner.com/~r/JN-ULTIMAS/~4/" in item.content  # the pixel is in the feed
    art, text = post(item, "http://feeds.jn.pt/JN-ULTIMAS", tmp_path)
    assert "feedburner" not in art.body_html and "<img" not in art.body_html
    assert art.body_html.startswith("<p>Sónia Laygue") and art.body_html.endswith("Raríssimas.</p>")


def test_medium_stat_pixel_dropped(tmp_path):
    item = items("rssparser-content-encoded.rss", "https://medium.com/feed/x")[0]
    assert "medium.com/_/stat" in item.content
    art, _ = post(item, "https://medium.com/feed/x", tmp_path)
    assert "_/stat" not in art.body_html


def test_rss_1_0_items_beside_the_channel_with_dc_date():
    got = items("rssparser-rss-1.rss", "http://science.sciencemag.org/rss/twis.xml")
    assert len(got) == 69
    assert got[0].title == "Food for fungi" and got[0].author == "Hines, P. J."
    assert got[0].published is not None and got[0].published.isoformat() == "2017-06-15T10:29:47-07:00"
    assert got[0].modified is None and not got[0].full_text


def test_summary_less_item_is_an_error_not_an_empty_post(tmp_path):
    item = items("rssparser-rss-1.rss", "http://science.sciencemag.org/rss/twis.xml")[0]
    with pytest.raises(PageFailed, match="feed item has no content"):
        write_through([feed_page(item, "http://science.sciencemag.org/rss/twis.xml")], tmp_path)


def test_full_text_flag():
    assert items("rssparser-content-encoded.rss", "https://medium.com/feed/x")[0].full_text
    assert items("rssparser-heise.atom", "http://www.heise.de/x.xml")[0].full_text
    assert not items("rssparser-guardian.rss", "https://www.theguardian.com/us/rss")[0].full_text


def test_identity_is_guid_else_link_else_title_and_date():
    body = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>A</title><guid isPermaLink="false">id-1</guid><link>https://x.test/a?utm_source=rss</link>
<pubDate>Wed, 23 Sep 2026 08:00:00 GMT</pubDate></item>
<item><title>B</title><link>https://x.test/b</link><pubDate>Wed, 23 Sep 2026 09:00:00 GMT</pubDate></item>
<item><title>C</title><description>no link, no guid</description><pubDate>Wed, 23 Sep 2026 10:00:00</pubDate></item>
<item><title>B again</title><link>https://x.test/b</link></item>
</channel></rss>"""
    got = parse_feed_items(body, "https://x.test/feed")
    assert [i.key for i in got[:2]] == ["id-1", "https://x.test/b"]
    assert len(got) == 3 and got[2].url is None and len(got[2].key) == 40  # sha1 of title and date
    # zone-less time: UTC+8 (Asia/Taipei) unless the source names its zone
    assert got[2].published.utcoffset() == timedelta(hours=8)
    from newsmirror.dates import zone_named

    paris = parse_feed_items(body, "https://x.test/feed", default_tz=zone_named("Europe/Paris"))
    assert paris[2].published.isoformat() == "2026-09-23T10:00:00+02:00"
    assert item_key("src", got[0]) == item_key("src", parse_feed_items(body, "https://x.test/other")[0])
    # page parsers see only items with a link
    assert [e.url for e in parse_feed(body, "https://x.test/feed")] == ["https://x.test/a?utm_source=rss",
                                                                        "https://x.test/b"]


def test_crlf_cdata_and_escaped_html_content(tmp_path):
    body = (b'<?xml version="1.0" encoding="gb2312"?>\r\n<rss version="2.0" '
            b'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title>\r\n'
            b"<item><title>\xd6\xd0\xce\xc4\xb1\xea\xcc\xe2</title><link>/a.html</link>"
            b"<pubDate>Wed, 23 Sep 2026 08:00:00 +0800</pubDate>"
            b"<content:encoded><![CDATA[<p>\xb5\xda\xd2\xbb\xb6\xce</p><img src='/p.jpg'>]]></content:encoded>"
            b"</item>\r\n<item><title>esc</title><link>https://x.test/b</link>"
            b"<pubDate>Wed, 23 Sep 2026 09:00:00 +0800</pubDate>"
            b"<description>&lt;p&gt;escaped &amp;amp; fine&lt;/p&gt;</description></item></channel></rss>")
    got = parse_feed_items(body, "https://x.test/feed.xml")
    assert got[0].title == "中文标题" and got[0].url == "https://x.test/a.html"
    art, text = post(got[0], "https://x.test/feed.xml", tmp_path)
    assert art.body_html.startswith("<p>第一段</p>")
    assert art.lead_figure is not None and art.lead_figure.src == "https://x.test/p.jpg"
    art2, _ = post(got[1], "https://x.test/feed.xml", tmp_path)
    assert art2.body_html == "<p>escaped &amp; fine</p>"


def test_item_without_date_is_an_error_never_now(tmp_path):
    body = b"""<rss version="2.0"><channel><title>t</title><item><title>x</title><link>https://x.test/a</link>
<description>text</description><pubDate>yesterday</pubDate></item></channel></rss>"""
    [item] = parse_feed_items(body, "https://x.test/feed")
    with pytest.raises(PageFailed, match="no readable publication date"):
        write_through([feed_page(item, "https://x.test/feed")], tmp_path)


def test_same_item_same_bytes_and_edit_rewrites(tmp_path):
    feed_url = "https://www.theguardian.com/us/rss"
    item = items("rssparser-guardian.rss", feed_url)[0]
    assert feed_page(item, feed_url).body == feed_page(item, feed_url).body  # deterministic input
    art, _ = post(item, feed_url, tmp_path)
    assert art.site == "src" and len(art.article_id) == 12
    assert art.post_path == f"_posts/2018-01-31-src-{art.article_id}.md"
