"""Discovery parsers against the real CNA samples and the generated sitemaps/feeds (no network)."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsmirror.discovery import (
    TAIPEI,
    DiscoveryError,
    Entry,
    filter_since,
    parse_datetime,
    parse_feed,
    parse_list_page,
    parse_since,
    parse_sitemap,
)

HERE = Path(__file__).parent / "fixtures"
DISCOVERY = HERE / "discovery"
UTC = timezone.utc
CST = timezone(timedelta(hours=8))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def taipei(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


def read(name: str) -> bytes:
    return (DISCOVERY / name).read_bytes()


# --------------------------------------------------------------------------- RSS / Atom


def test_real_cna_rss_sample() -> None:
    entries = parse_feed(read("cna-rss-intworld-sample.xml"), "https://feeds.feedburner.com/rsscna/intworld")
    assert entries == [
        Entry(
            "https://www.cna.com.tw/news/aopl/202609240002.aspx",
            utc(2026, 9, 23, 16, 0, 1),
            None,
            "伊朗總統聯大發表強硬演說\u3000矢言不向美屈服投降",
        ),
        Entry(
            "https://www.cna.com.tw/news/aopl/202609230365.aspx",
            utc(2026, 9, 23, 15, 2, 56),
            None,
            "馬來西亞校園刺殺案\u3000少年精神失常獲判無罪引發關注",
        ),
        Entry(
            "https://www.cna.com.tw/news/aopl/202609230364.aspx",
            utc(2026, 9, 23, 14, 51, 54),
            None,
            "敘利亞總統聯大喊話\u3000堅稱戈蘭高地主權",
        ),
        Entry(
            "https://www.cna.com.tw/news/aopl/202609230363.aspx",
            utc(2026, 9, 23, 14, 48, 49),
            None,
            "泰國中華會館紀念孔子誕辰\u3000駐泰代表處肯定華文教育傳承",
        ),
    ]
    first = entries[0].published
    assert first is not None
    assert first.utcoffset() == timedelta(hours=8)  # the feed's own offset is kept
    assert first.astimezone(UTC).isoformat() == "2026-09-23T16:00:01+00:00"


def test_rss_link_fallbacks_relative_links_and_duplicates() -> None:
    body = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel><title>t</title>
<item><title> One </title><atom:link rel="self" href="https://x.test/self"/><link>/news/aipl/202609230001.aspx</link>
  <pubDate>Wed, 23 Sep 2026 08:00:00 GMT</pubDate></item>
<item><title>Permalink guid</title><guid>https://www.cna.com.tw/news/aipl/202609230002.aspx</guid>
  <dc:date>2026-09-23T09:00:00+08:00</dc:date></item>
<item><title>Not a permalink</title><guid isPermaLink="false">CNA/2026-09-23/202609230003</guid></item>
<item><title>Script link</title><link>javascript:void(0)</link></item>
<item><title>Again</title><link>https://www.cna.com.tw/news/aipl/202609230001.aspx</link></item>
<item><title>Bad date</title><link>https://www.cna.com.tw/news/aipl/202609230004.aspx</link>
  <pubDate>yesterday</pubDate></item>
</channel></rss>"""
    assert parse_feed(body, "https://www.cna.com.tw/rss.xml") == [
        Entry("https://www.cna.com.tw/news/aipl/202609230001.aspx", utc(2026, 9, 23, 8), None, "One"),
        Entry(
            "https://www.cna.com.tw/news/aipl/202609230002.aspx",
            taipei(2026, 9, 23, 9),
            None,
            "Permalink guid",
        ),
        Entry("https://www.cna.com.tw/news/aipl/202609230004.aspx", None, None, "Bad date"),
    ]


def test_atom_feed() -> None:
    # base_url differs from the feed's xml:base, so relative links prove xml:base is honoured
    entries = parse_feed(read("atom-generated.xml"), "https://feeds.example.net/example.atom")
    assert entries == [
        Entry(
            "https://news.example.org/2026/09/23/typhoon.html",
            taipei(2026, 9, 23, 22, 14),
            utc(2026, 9, 24, 0, 30),
            "Typhoon forms east of Luzon",  # type="html" markup removed
        ),
        Entry(
            "https://news.example.org/2026/09/23/relative.html",
            None,
            utc(2026, 9, 23, 12),
            "Relative link, only updated",
        ),
        Entry(
            "https://news.example.org/world/oecd.html",
            taipei(2026, 9, 23, 20, 29),
            None,
            "Entry with its own xml:base",
        ),
    ]


@pytest.mark.parametrize(
    "body",
    [b"", b"   ", b"<html><body><p>502 Bad Gateway</p></body></html>", b"not xml at all", b"<urlset/>"],
)
def test_non_feed_raises(body: bytes) -> None:
    with pytest.raises(DiscoveryError, match="not an? "):
        parse_feed(body, "https://feeds.feedburner.com/rsscna/politics")


def test_rss_without_items_is_empty() -> None:
    assert (
        parse_feed(b"<rss version='2.0'><channel><title>x</title></channel></rss>", "https://x.test/") == []
    )


# --------------------------------------------------------------------------- sitemaps

SITEMAP_ENTRIES = [
    # the repeated URL later in the file (lastmod 09:00) is dropped: first wins
    Entry("https://www.cna.com.tw/news/aopl/202609240002.aspx", None, taipei(2026, 9, 24, 0, 5, 12), None),
    Entry("https://www.cna.com.tw/news/ahel/202609230359.aspx", None, utc(2026, 9, 23, 14, 14), None),
    Entry("https://www.cna.com.tw/news/aspt/202609230341.aspx", None, taipei(2026, 9, 23), None),  # date only
    Entry("https://www.cna.com.tw/news/aspt/202609230330.aspx", None, None, None),  # no lastmod
    Entry("https://www.cna.com.tw/news/aopl/202609230336.aspx", None, taipei(2026, 9, 23, 20, 29), None),
    Entry("https://www.cna.com.tw/news/acn/202609230300.aspx", None, None, None),  # lastmod "not a date"
]


def test_standard_sitemap() -> None:
    entries, children = parse_sitemap(read("sitemap-cna-generated.xml"), "https://www.cna.com.tw/sitemap.xml")
    assert entries == SITEMAP_ENTRIES
    assert children == []
    naive = entries[4].modified  # "2026-09-23T20:29:00" has no offset -> Taipei
    assert naive is not None and naive.astimezone(UTC) == utc(2026, 9, 23, 12, 29)


def test_gzipped_sitemap_equals_plain() -> None:
    body = read("sitemap-cna-generated.xml.gz")
    assert body[:2] == b"\x1f\x8b"
    assert gzip.decompress(body) == read("sitemap-cna-generated.xml")
    assert parse_sitemap(body, "https://www.cna.com.tw/sitemap.xml.gz") == (SITEMAP_ENTRIES, [])


def test_sitemap_index() -> None:
    entries, children = parse_sitemap(
        read("sitemapindex-cna-generated.xml"), "https://www.cna.com.tw/index.xml"
    )
    assert entries == []
    assert children == [
        "https://www.cna.com.tw/sitemap_fromRemote_cfp.xml",
        "https://www.cna.com.tw/GoogleNewsSitemap_fromRemote_cfp.xml",
        "https://www.cna.com.tw/sitemap_2026-09.xml.gz",  # relative loc resolved, repeat dropped
    ]


def test_google_news_sitemap() -> None:
    entries, children = parse_sitemap(
        read("googlenews-sitemap-cna-generated.xml"),
        "https://www.cna.com.tw/GoogleNewsSitemap_fromRemote_cfp.xml",
    )
    assert children == []
    assert entries == [
        Entry(
            "https://www.cna.com.tw/news/aopl/202609240002.aspx",
            utc(2026, 9, 23, 16, 0, 1),
            taipei(2026, 9, 24, 0, 12, 30),
            "伊朗總統聯大發表強硬演說\u3000矢言不向美屈服投降",
        ),
        Entry(
            "https://www.cna.com.tw/news/aopl/202609230365.aspx",
            taipei(2026, 9, 23, 23, 2, 56),
            taipei(2026, 9, 23, 23, 2, 56),
            "馬來西亞校園刺殺案\u3000少年精神失常獲判無罪引發關注",
        ),
        Entry(
            "https://www.cna.com.tw/news/ahel/202609230359.aspx",
            taipei(2026, 9, 23, 22, 14),
            None,
            "颱風舒力基生成\u3000最快25日增強中颱、發布警報機會低",  # CDATA title
        ),
    ]


def test_sitemap_on_loopback_keeps_loopback_urls() -> None:
    body = b"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'><url><loc>/news/aipl/202609230001.aspx</loc></url></urlset>"
    entries, _ = parse_sitemap(body, "http://127.0.0.1:8765/sitemap.xml")
    assert [e.url for e in entries] == ["http://127.0.0.1:8765/news/aipl/202609230001.aspx"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"<html><head><title>404</title></head><body>Not found</body></html>", "root element <html>"),
        (b"<rss version='2.0'><channel/></rss>", "root element <rss>"),
        (b"\x1f\x8b\x08\x00garbage", "cannot gunzip"),
        (b"@@@ not xml", "not a sitemap"),
    ],
)
def test_non_sitemap_raises(body: bytes, message: str) -> None:
    with pytest.raises(DiscoveryError, match=message):
        parse_sitemap(body, "https://www.cna.com.tw/sitemap.xml")


def test_gzipped_sitemap_size_limit() -> None:
    body = read("sitemap-cna-generated.xml.gz")
    size = len(read("sitemap-cna-generated.xml"))
    with pytest.raises(DiscoveryError, match="cannot gunzip"):
        parse_sitemap(body, "https://www.cna.com.tw/sitemap.xml.gz", max_size=size // 2)
    assert len(parse_sitemap(body, "https://www.cna.com.tw/sitemap.xml.gz", max_size=size)[0]) == 6


# --------------------------------------------------------------------------- list pages


def test_2026_headlines_list_fragment() -> None:
    entries = parse_list_page(
        read("cna-list-headlines-fragment.html"), "https://www.cna.com.tw/list/headlines.aspx"
    )
    assert entries == [
        Entry(
            "https://www.cna.com.tw/news/ahel/202609230359.aspx",
            taipei(2026, 9, 23, 22, 14),
            None,
            "颱風舒力基生成\u3000最快25日增強中颱、發布警報機會低",
        ),
        Entry(
            "https://www.cna.com.tw/news/aspt/202609230341.aspx",
            taipei(2026, 9, 23, 20, 58),
            None,
            "亞運桌球男團不敵中國\u3000止步4強銅牌作收",
        ),
        Entry(
            "https://www.cna.com.tw/news/aspt/202609230330.aspx",
            taipei(2026, 9, 23, 20, 2),
            None,
            "張煥宜眉骨傷口濺血\u3000亞運武術散打止步4強連2屆奪銅",
        ),
        Entry(
            "https://www.cna.com.tw/news/aopl/202609230336.aspx",
            taipei(2026, 9, 23, 20, 29),
            None,
            "OECD小幅上調2026年全球經濟成長預測至2.9%",
        ),
    ]
    urls = {e.url for e in entries}
    assert "https://www.cna.com.tw/news/aipl/209901010001.aspx" not in urls  # ul.nav link
    assert not any("youtube" in u for u in urls)


def test_list_page_served_on_loopback() -> None:
    entries = parse_list_page(
        read("cna-list-headlines-fragment.html"), "http://127.0.0.1:8765/list/headlines.aspx"
    )
    assert [e.url for e in entries][:2] == [
        "http://127.0.0.1:8765/news/ahel/202609230359.aspx",
        "http://127.0.0.1:8765/news/aspt/202609230341.aspx",
    ]
    assert len(entries) == 4


def test_2026_list_time_text_fallback() -> None:
    body = b"""<ul id="jsMainList"><li><a href="/news/aipl/202609230001.aspx"><h2><span>T</span></h2>
    <time class="date">2026/09/23 07:05</time></a></li></ul>"""
    assert parse_list_page(body, "https://www.cna.com.tw/list/aipl.aspx") == [
        Entry("https://www.cna.com.tw/news/aipl/202609230001.aspx", taipei(2026, 9, 23, 7, 5), None, "T")
    ]


def test_2014_list_page() -> None:
    # The fixture is ten saved documents back to back: the 2014 home page, then /list/aall-1.aspx
    # .. aall-9.aspx.  Each list page has 30 rows in div.news_list_content; the home page none.
    entries = parse_list_page(
        (HERE / "cna" / "cna-2014-list-aall.html").read_bytes(), "http://www.cna.com.tw/list/aall-1.aspx"
    )
    assert len(entries) == 270
    assert len({e.url for e in entries}) == 270
    assert entries[:3] == [
        Entry(
            "http://www.cna.com.tw/news/afe/201412130007-1.aspx",
            taipei(2014, 12, 13, 1, 29),
            None,
            "油價跌不停 歐股重挫",
        ),
        Entry(
            "http://www.cna.com.tw/news/aopl/201412130006-1.aspx",
            taipei(2014, 12, 13, 1, 22),
            None,
            "一度故障 英飛航管制系統修復",
        ),
        Entry(
            "http://www.cna.com.tw/news/aspt/201412130005-1.aspx",
            taipei(2014, 12, 13, 1, 20),
            None,
            "桌總年終賽 莊智淵男單晉級8強",
        ),
    ]
    assert entries[-1] == Entry(
        "http://www.cna.com.tw/news/ahel/201412120129-1.aspx",
        taipei(2014, 12, 12, 12, 2),
        None,
        "成長快 台灣虎航招150空服員",
    )
    # navigation menus and the "firstnews" boxes are not part of the list
    assert not any("/firstnews/" in e.url for e in entries)
    # every row has a date, the listed MM/DD matches the id's YYYYMMDD (the year comes from there)
    assert all(e.published is not None for e in entries)
    assert all(e.published.strftime("%Y%m%d") == e.url.rsplit("/", 1)[1][:8] for e in entries if e.published)
    stamps = [e.published for e in entries if e.published]
    assert (min(stamps), max(stamps)) == (taipei(2014, 12, 12, 12, 2), taipei(2014, 12, 13, 1, 29))


def test_2014_single_list_document() -> None:
    text = (HERE / "cna" / "cna-2014-list-aall.html").read_bytes().decode("utf-8")
    docs = text.split("</html>")
    home, page1 = docs[0] + "</html>", docs[1] + "</html>"
    assert parse_list_page(home.encode(), "http://www.cna.com.tw/") == []
    entries = parse_list_page(page1.encode(), "http://www.cna.com.tw/list/aall-1.aspx")
    assert len(entries) == 30
    assert entries[0].url == "http://www.cna.com.tw/news/afe/201412130007-1.aspx"


def test_2014_year_rolls_over_at_new_year() -> None:
    row = "<tr><td><h2>{}</h2></td><td><h1><a href='/news/aopl/{}-1.aspx'>{}</a></h1></td></tr>"
    rows = [
        row.format("01/01 00:05", "201412310999", "late"),
        row.format("12/31 23:50", "201412310998", "on time"),
        row.format("13/45 99:99", "201412310997", "bad date"),
    ]
    body = f'<div class="news_list_content"><table>{"".join(rows)}</table></div>'.encode()
    assert parse_list_page(body, "http://www.cna.com.tw/list/aall-1.aspx") == [
        Entry("http://www.cna.com.tw/news/aopl/201412310999-1.aspx", taipei(2015, 1, 1, 0, 5), None, "late"),
        Entry(
            "http://www.cna.com.tw/news/aopl/201412310998-1.aspx",
            taipei(2014, 12, 31, 23, 50),
            None,
            "on time",
        ),
        Entry("http://www.cna.com.tw/news/aopl/201412310997-1.aspx", None, None, "bad date"),
    ]


def test_page_without_list_is_empty() -> None:
    body = b"<html><body><a href='/news/aipl/202609230001.aspx'>loose link</a></body></html>"
    assert parse_list_page(body, "https://www.cna.com.tw/") == []


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thu, 24 Sep 2026 00:00:01 +0800", utc(2026, 9, 23, 16, 0, 1)),
        ("24 Sep 2026 00:00 GMT", utc(2026, 9, 24)),
        ("Thu, 24 Sep 26 00:00:01 EST", utc(2026, 9, 24, 5, 0, 1)),
        ("Thu, 24 Sep 2026 00:00:01", taipei(2026, 9, 24, 0, 0, 1)),  # no zone -> Taipei
        ("2026-09-24T00:00:01+08:00", utc(2026, 9, 23, 16, 0, 1)),
        ("2026-09-23T16:00:01Z", utc(2026, 9, 23, 16, 0, 1)),
        ("2026-09-23t16:00:01z", utc(2026, 9, 23, 16, 0, 1)),
        ("2026-09-24T00:00:01+0800", utc(2026, 9, 23, 16, 0, 1)),
        ("2026-09-24T00:00:01.123456789+08", taipei(2026, 9, 24, 0, 0, 1, 123456)),
        ("2026-09-24T00:00", taipei(2026, 9, 24)),  # naive -> Taipei
        ("2026-09-24 08:30:00", taipei(2026, 9, 24, 8, 30)),
        ("2026-09-24", taipei(2026, 9, 24)),
        ("2026/09/23 22:14", taipei(2026, 9, 23, 22, 14)),
        ("2026/9/3 8:05", taipei(2026, 9, 3, 8, 5)),
        ("  2026/09/23\n 22:14  ", taipei(2026, 9, 23, 22, 14)),
    ],
)
def test_parse_datetime(text: str, expected: datetime) -> None:
    value = parse_datetime(text)
    assert value == expected
    assert value is not None and value.tzinfo is not None


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "garbage",
        "now",
        "yesterday",
        "2026-02-30",
        "2026-13-01T00:00:00Z",
        "2026-09-24T25:00:00+08:00",
        "2026-09-24T10:00:00+25:00",
        "Thu, 31 Feb 2026 00:00:01 +0800",
        "Thu, 24 Foo 2026 00:00:01 +0800",
        "Thu, 24 Sep 2026 00:00:01 XYZ",  # unknown zone name: no guessing
        "12/13 01:29",  # no year
        "1727107201",
    ],
)
def test_parse_datetime_unreadable_is_none(text: str | None) -> None:
    assert parse_datetime(text) is None


@given(st.text(max_size=60))
def test_parse_datetime_never_raises(text: str) -> None:
    value = parse_datetime(text)
    assert value is None or value.utcoffset() is not None


@given(st.datetimes(min_value=datetime(1980, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_parse_datetime_reads_isoformat_back(value: datetime) -> None:
    assert parse_datetime(value.isoformat()) == value
    assert parse_datetime(value.astimezone(TAIPEI).isoformat()) == value


NOW = utc(2026, 11, 5, 12, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", utc(2026, 11, 5, 10)),
        ("30m", utc(2026, 11, 5, 11, 30)),
        ("90s", utc(2026, 11, 5, 11, 58, 30)),
        ("3d", utc(2026, 11, 2, 12)),
        ("1w", utc(2026, 10, 29, 12)),
        (" 2H ", utc(2026, 11, 5, 10)),
        ("0h", NOW),
        ("2026-11-01", taipei(2026, 11, 1)),
        ("2026-11-01T08:00:00+00:00", utc(2026, 11, 1, 8)),
        ("2026-11-01T08:00", taipei(2026, 11, 1, 8)),
    ],
)
def test_parse_since(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "2", "h", "-2h", "2 hours", "2y", "1.5h", "last week", "2026-11-31"])
def test_parse_since_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"--since .*expected an age such as 30m, 2h, 3d, 1w"):
        parse_since(text, NOW)


def test_parse_since_needs_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_since("2h", datetime(2026, 11, 5, 12))


def test_filter_since() -> None:
    since = utc(2026, 9, 23, 12)
    old = Entry("https://x.test/old", utc(2026, 9, 22), None, "old")
    boundary = Entry("https://x.test/boundary", since, None, "boundary")
    new = Entry("https://x.test/new", taipei(2026, 9, 23, 21), None, "new")  # 13:00Z
    updated = Entry("https://x.test/updated", utc(2026, 9, 1), utc(2026, 9, 23, 13), "updated")
    stale_update = Entry("https://x.test/stale", utc(2026, 9, 24), utc(2026, 9, 20), "modified wins")
    undated = Entry("https://x.test/undated", None, None, None)
    kept = filter_since([old, boundary, new, updated, stale_update, undated], since)
    assert kept == [boundary, new, updated, undated]
    with pytest.raises(ValueError, match="timezone-aware"):
        filter_since([new], datetime(2026, 9, 23))
