"""The generic extractor on real article pages of nine news sites, field by field.

The pages are Fundus's test captures, saved byte for byte (gzipped, as Fundus keeps them; see
tests/fixtures/SOURCES.md).  Titles and dates were checked against Fundus's own expected values
(its JSON files); where Fundus reads only a date (People's Daily: 2024-04-24 00:00), we read the
time the page shows (23:52 Beijing time).
"""

from __future__ import annotations

import gzip

import pytest
from helpers import FIXTURES, paragraphs

from newsmirror.items import Page
from newsmirror.pipelines import CleanPipeline, ExtractPipeline

pytest.importorskip("trafilatura")
PAGES = FIXTURES / "pages"
PEOPLE_URL = "http://politics.people.com.cn/n1/2024/0424/c1024-40223222.html"  # the page has no canonical link

# file, source timezone, title, published (to the minute), canonical URL, first paragraph, lead image, caption
CASES = [
    ("People_2024_04_24", "Asia/Shanghai",
     "促进航天技术更好惠及人民――习近平主席向首届“中国－拉美和加勒比国家航天合作论坛”致贺信为中拉深化航天合作指明方向",
     "2024-04-24T23:52+08:00", PEOPLE_URL, "新华社北京4月24日电 题：促进航天技术更好惠及人民", None, None),
    ("TaipeiTimes_2024_10_15", None, "US, Manila launch war games after PRC’s Taiwan drills",
     "2024-10-16T00:00+08:00", "https://www.taipeitimes.com/News/front/archives/2024/10/16/2003825372",
     "Thousands of US and Filipino troops yesterday launched joint exercises",
     "https://www.taipeitimes.com/images/2024/10/16/P01-241016-317.jpg", ""),
    ("AsahiShimbun_2025_01_13", None, "宮崎県で震度5弱、高知と宮崎に1メートルの津波注意報 気象庁",
     "2025-01-13T21:37+09:00", "https://www.asahi.com/articles/AST1F4445T1FUTIL02SM.html", "渡辺洋介",
     "https://imgopt.asahi.com/ogp/AS20250113003419_comm.jpg", ""),
    ("LeMonde_2023_09_01", None,
     "Sophie Binet met en garde Emmanuel Macron sur la « gravité de la situation dans le pays »",
     "2023-08-30T14:52+02:00",
     "https://www.lemonde.fr/politique/article/2023/08/30/sophie-binet-met-en-garde-emmanuel-macron-sur-la-gravite-de-la-situation-dans-le-pays_6187099_823448.html",
     "Sous les dorures du palais de l’Elysée, ils ont fait connaissance",
     "https://img.lemde.fr/2023/08/30/0/0/5120/3416/664/0/75/0/dd85876_1693399249509-000-33nt796.jpg",
     "La secrétaire générale de la CGT, Sophie Binet, à Matignon, à Paris, le 12\xa0juillet\xa02023. BERTRAND GUAY / AFP"),
    ("VoiceOfAmerica_2024_04_28", None,
     "America's child care crisis is holding back moms without college degrees", "2024-04-28T07:00+00:00",
     "https://www.voanews.com/a/america-s-child-care-crisis-is-holding-back-moms-without-college-degrees-/7585813.html",
     "After a series of lower-paying jobs, Nicole Slemp finally landed one she loved.",
     "https://gdb.voanews.com/7C01456E-AFA3-4D09-A6AA-A6042A5159FA.jpg", ""),
    ("BR_2024_04_22", None, "Evangelische Kirche: Landeskirche will Missbrauch aufarbeiten",
     "2024-04-22T15:26+00:00",
     "https://www.br.de/nachrichten/bayern/evangelische-kirche-landeskirche-will-missbrauch-aufarbeiten,UAf9GNd",
     "Gleich zu Beginn der bayerischen Landessynode gibt Präsidentin Annekathrin Preidel den Ton vor",
     "https://img.br.de/4db5b93f-7c39-490a-820d-4203d81e5862.jpeg?q=80&rect=455%2C257%2C3602%2C2025&w=1600&h=900",
     "Die Frühjahrstagung der bayerischen Landessynode."),
    ("MalayMail_2024_11_22", "Asia/Kuala_Lumpur",  # its markup writes 16:55:35 without an offset
     "All paid their own way on PM Anwar’s foreign trips, Fahmi clarifies", "2024-11-22T16:55+08:00",
     "https://www.malaymail.com/news/malaysia/2024/11/22/all-paid-their-own-way-on-pm-anwars-foreign-trips-fahmi-clarifies/157698",
     "PUTRAJAYA, Nov 22 — Private companies did not pay for Prime Minister",
     "https://www.malaymail.com/malaymail/uploads/images/2024/11/22/thumbs/400x400/246270.jpg", ""),
    ("HankookIlbo_2025_05_15", None, "왜 경상도, 전라도 나눠서 싸우나... DJ 고향에서 '국민 통합' 외친 이재명",
     "2025-05-15T20:00+09:00", "https://www.hankookilbo.com/News/Read/A2025051516330004328",
     "이재명 더불어민주당 대선 후보",
     "https://newsimg-hams.hankookilbo.com/2025/05/15/8b6d3aea-4847-41db-9d0a-a86bd7e55417.jpg",
     "이재명 더불어민주당 대선 후보가 15일 전남 순천시 연향동 패션의 거리에서 열린 유세에서 연설하고 있다. 연합뉴스"),
    ("APNews_2024_09_03", None, "The presidential campaigns brace for a sprint to Election Day",
     "2024-09-03T04:03+00:00",
     "https://apnews.com/article/trump-harris-presidential-election-2024-labor-day-151f82b59473d29a448ef1cea9afe471",
     "LA CROSSE, Wis. (AP) — After a summer of historic tumult", None, "This combination of photos shows"),
]


def extract(name: str, timezone: str | None, label: str = "Label"):
    body = gzip.decompress((PAGES / f"fundus-{name}.html.gz").read_bytes())
    page = Page(url=PEOPLE_URL if name.startswith("People") else "http://127.0.0.1:9/fetched.html",
                body=body, label=label, timezone=timezone)
    return CleanPipeline().process_item(ExtractPipeline().process_item(page))


@pytest.mark.parametrize(("name", "tz", "title", "when", "url", "first", "image", "caption"), CASES,
                         ids=[c[0] for c in CASES])
def test_generic_page_field_by_field(name, tz, title, when, url, first, image, caption):
    art = extract(name, tz)
    assert art.title == title
    iso = art.published.isoformat()
    assert art.published.utcoffset() is not None and iso[:16] + iso[-6:] == when
    assert art.url == url
    assert art.label == "Label"
    assert paragraphs(art.body_html)[0].startswith(first), paragraphs(art.body_html)[:2]
    if image is not None:
        assert art.lead_figure is not None and art.lead_figure.src == image
    if caption is not None:
        assert art.lead_figure is not None and art.lead_figure.caption.startswith(caption)
        assert art.body_html.startswith("<figure>") or art.body_html.index("<figure>") < 400


def test_people_daily_visible_date_is_beijing_time_even_without_a_source_zone():
    # "2024年04月24日23:52" on a .cn site: Beijing time from the country domain
    art = extract("People_2024_04_24", None)
    assert art.published.isoformat() == "2024-04-24T23:52:00+08:00"
    assert "logo" not in art.body_html and "share.png" not in art.body_html


def test_zone_less_markup_time_is_read_in_the_source_zone_not_utc():
    utc_guess = extract("MalayMail_2024_11_22", None)  # .com: nothing says where it is
    local = extract("MalayMail_2024_11_22", "Asia/Kuala_Lumpur")
    assert utc_guess.published.isoformat() == "2024-11-22T16:55:35+00:00"
    assert local.published.isoformat() == "2024-11-22T16:55:35+08:00"


def test_declared_gb2312_page_written_in_utf8_is_read_as_utf8():
    body = gzip.decompress((PAGES / "fundus-People_2024_04_24.html.gz").read_bytes())
    assert b"charset=GB2312" in body[:400]
    assert extract("People_2024_04_24", "Asia/Shanghai").title.startswith("促进航天技术")


@pytest.mark.parametrize(
    ("title", "site_name", "expected"),
    [
        ("Harbour bridge reopens - Example News", "Example News", "Harbour bridge reopens"),
        ("促进航天技术更好惠及人民--时政--人民网", None, "促进航天技术更好惠及人民"),
        ("短标题_新浪网", "新浪网", "短标题"),
        ("Story title here | The Site", None, "Story title here"),
        ("Biden - Harris ticket - CNN", None, "Biden - Harris ticket"),
        ("Trump - Harris race", None, "Trump - Harris race"),  # too short a head: not a site name
        ("The Daily Example", "The Daily Example", "The Daily Example"),
    ],
)
def test_title_without_the_site_name(title, site_name, expected):
    from newsmirror.sites.generic import strip_site_name

    assert strip_site_name(title, site_name) == expected
