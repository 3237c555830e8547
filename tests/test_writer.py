"""The seed format, byte for byte, and YAML that reads back exactly for any value."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import frontmatter
import pytest
from helpers import FIXTURES, page, write_through
from hypothesis import given, settings
from hypothesis import strategies as st

from newsmirror.items import Article
from newsmirror.writer import (
    markdown_link_text,
    parse_post,
    post_filename,
    render_post,
    title_slug,
    yaml_scalar,
)

SEED = FIXTURES / "seed/000_fe3e056e8940f0c2.txt"
GOLDEN_PAGE = FIXTURES / "seed/202309110310.reconstructed.html"
GOLDEN_POST = FIXTURES / "seed/expected_clean.md"


def make(title="標題", label="(臺)中央社CNA", url="https://www.cna.com.tw/news/aopl/202309110310.aspx",
         published=None, body="<p>x</p>") -> Article:
    return Article(url=url, site="cna", article_id="202309110310", title=title,
                   published=published or datetime(2023, 9, 11, 20, 40, tzinfo=timezone(timedelta(hours=8))),
                   body_html=body, label=label)


def test_seed_round_trips_byte_for_byte():
    text = SEED.read_text(encoding="utf-8")
    assert render_post(parse_post(text)) == text


def test_golden_page_gives_expected_post_byte_for_byte(tmp_path):
    [art] = write_through([page(GOLDEN_PAGE, url="http://127.0.0.1:1/anything.html")], tmp_path)
    assert art.outcome == "new"
    assert art.post_path == "_posts/2023-09-11-cna-202309110310.md"
    assert (tmp_path / art.post_path).read_bytes() == GOLDEN_POST.read_bytes()


def test_header_shape_and_epoch():
    text = render_post(make())
    lines = text.split("\n")
    assert lines[:14] == [
        "---", "layout: post", 'title: "標題"', "date: 2023-09-11T12:40:00.000Z", "author: (臺)中央社CNA",
        "from: https://www.cna.com.tw/news/aopl/202309110310.aspx", "tags: [ (臺)中央社CNA ]",
        "comments: True", "categories: [ (臺)中央社CNA ]", "---", "<!--1694436000000-->",
        "[標題](https://www.cna.com.tw/news/aopl/202309110310.aspx)", "------", "",
    ]
    assert text.endswith("<div>\n<p>x</p>\n</div>\n")


def test_milliseconds_are_kept_and_never_nan():
    when = datetime(2021, 8, 4, 11, 46, 40, 291_999, tzinfo=timezone.utc)
    text = render_post(make(published=when))
    assert "date: 2021-08-04T11:46:40.291Z\n" in text
    assert "<!--1628077600291-->\n" in text


NASTY = ['He said "hi"', "back\\slash", "a: b", "# not a comment", "[brackets]", "a, b", "{{ liquid }}",
         "line\nbreak", "tab\there", "bell\x07", "nul\x00", "   padded   ", "yes", "123", "null", "~",
         "- dash", "---", "emoji 😷👔", "\u2028sep", "café\x85", "'single'", "@at", "%pct", "!tag", "*star",
         "&anchor", "|pipe", ">gt", "`tick`", "key:", "？：全形", "a #b", "\ufeffbom"]


@pytest.mark.parametrize("value", NASTY)
def test_yaml_reads_back_exactly(value):
    post = frontmatter.loads(render_post(make(title=value, label=value)))
    assert post["title"] == value
    assert post["author"] == value
    assert post["tags"] == [value] and post["categories"] == [value]
    assert post["from"] == "https://www.cna.com.tw/news/aopl/202309110310.aspx"
    assert post["date"] == datetime(2023, 9, 11, 12, 40, tzinfo=timezone.utc)


@settings(max_examples=300, deadline=None)
@given(title=st.text(), label=st.text(min_size=1))
def test_yaml_property(title, label):
    post = frontmatter.loads(render_post(make(title=title, label=label)))
    assert post["title"] == title
    assert post["author"] == label
    assert post["tags"] == [label] == post["categories"]
    assert post["comments"] is True


def test_ordinary_values_keep_sample_bytes():
    assert yaml_scalar("(臺)中央社CNA") == "(臺)中央社CNA"
    assert yaml_scalar("(臺)中央社CNA", flow=True) == "(臺)中央社CNA"
    assert yaml_scalar("https://www.cna.com.tw/news/aopl/202309110310.aspx") == \
        "https://www.cna.com.tw/news/aopl/202309110310.aspx"
    assert yaml_scalar(" 李天豪", flow=True) == '" 李天豪"'
    assert yaml_scalar("a, b", flow=True) == '"a, b"'
    assert yaml_scalar("a, b") == "a, b"


def test_link_line_escapes_brackets():
    assert markdown_link_text("[冷戰物語]做咩啫") == "\\[冷戰物語\\]做咩啫"
    text = render_post(make(title="[x] a\nb"))
    assert "\n[\\[x\\] a b](https://www.cna.com.tw/news/aopl/202309110310.aspx)\n" in text


def test_filenames():
    art = make(title='【文明客厅】从"开放"和"开枪"说起 1/4 \\ a:b?')
    assert post_filename(art) == "2023-09-11-cna-202309110310.md"
    name = post_filename(art, "title")
    assert name == "2023-09-11-【文明客厅】从开放和开枪说起 1--4 ab.md"
    assert "\\" not in name and '"' not in name and "/" not in name
    # cut at 50 code points, but never inside a flag, a ZWJ sequence or before a variation selector
    assert title_slug("台" * 49 + "🇹🇼") == "台" * 49
    assert title_slug("台" * 48 + "🇹🇼" + "x") == "台" * 48 + "🇹🇼"
    assert title_slug("台" * 47 + "👩\u200d👩\u200d👧") == "台" * 47
    assert title_slug("台" * 49 + "❤\ufe0f") == "台" * 49
    assert title_slug("台" * 49 + "é") == "台" * 49 + "é"  # precomposed (NFC): one code point
    assert title_slug("台" * 60) == "台" * 50
    # UTC date, not Taipei date
    late = make(published=datetime(2023, 9, 12, 1, 0, tzinfo=timezone(timedelta(hours=8))))
    assert post_filename(late).startswith("2023-09-11-")


def test_markdown_body_keeps_header_and_images():
    [art] = write_through([page(GOLDEN_PAGE)], __import__("pathlib").Path("/nonexistent-unused"),
                          dry_run=True)
    md = render_post(art, "markdown")
    html = GOLDEN_POST.read_text(encoding="utf-8")
    assert md.split("------\n\n")[0] == html.split("------\n\n")[0]
    body = md.split("------\n\n")[1]
    assert body.startswith("![到訪越南的美國總統拜登")
    assert "(https://imgcdn.cna.com.tw/www/WebPhotos/800/20230911/1024x768_wmky_0_C20230911000145.jpg)" in body
    assert "\n\n*到訪越南的美國總統拜登" in body
    assert body.rstrip().endswith("（編輯：陳惠珍）1120911")
    assert "<div>" not in body and "<p>" not in body


def test_no_raw_html_from_text_in_the_link_line_or_markdown_body():
    art = make(title="新聞 <img src=x onerror=alert(1)> &amp; A&B",
               body='<p>公式 &lt;script&gt;alert(1)&lt;/script&gt; 結束</p>'
                    '<iframe src="https://www.youtube.com/embed/x" title="a&quot; onload=&quot;alert(1)"></iframe>')
    html_post = render_post(art)
    assert "\n[新聞 &lt;img src=x onerror=alert(1)&gt; &amp;amp; A&B](" in html_post
    md = render_post(art, "markdown")
    assert "公式 &lt;script&gt;alert(1)&lt;/script&gt; 結束" in md and "<script>" not in md
    assert 'title="a&quot; onload=&quot;alert(1)"' in md
    assert frontmatter.loads(md)["title"] == "新聞 <img src=x onerror=alert(1)> &amp; A&B"


@settings(max_examples=500, deadline=None)
@given(tail=st.text(alphabet="abcyntfoXYZ09._~:/?&=%+-#[]{}, ", max_size=30),
       scheme=st.sampled_from(["http", "https"]))
def test_urls_written_plain_read_back_exactly(tail, scheme):
    # the `from:` line skips the YAML parse for plain URLs: what it writes must read back as the URL
    url = f"{scheme}://{tail}"
    post = frontmatter.loads(render_post(make(url=url)))
    assert post["from"] == url


def test_a_post_rendered_in_a_worker_is_used_only_while_its_fields_are_the_same_objects():
    import pickle

    from newsmirror.writer import post_bytes, prerender

    article = make(body="<p>one</p>")
    prerender(article)
    article = pickle.loads(pickle.dumps(article))  # as it comes back from a worker process
    data, digest = post_bytes(article)
    assert data == render_post(article).encode("utf-8") and len(digest) == 64
    prerender(article)
    article.body_html = "<p>two</p>"  # a later stage rewrote the body (--download-images)
    assert b"<p>two</p>" in post_bytes(article)[0]
    prerender(article)  # rendered as html, written as markdown: rendered again
    assert post_bytes(article, "markdown")[0] == render_post(article, "markdown").encode("utf-8")
