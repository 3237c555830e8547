"""Site-independent body cleaning, on small hand-made inputs."""

from __future__ import annotations

from newsmirror.clean import clean_body, lead_figure
from newsmirror.html import inner_html, parse_fragment

BASE = "https://www.cna.com.tw/news/aopl/202309110310.aspx"


def test_lazy_images_become_real_and_get_no_referrer():
    html = ('<figure class="floatImg center"><picture><source media="(max-width: 800px)" data-srcset="/a.jpg 1x">'
            '<img class="lazyload" data-src="//imgcdn.cna.com.tw/b.jpg" alt="圖"></picture>'
            '<figcaption class="picinfo">說明</figcaption></figure>')
    assert clean_body(html, BASE) == (
        '<figure class="floatImg center"><picture><source media="(max-width: 800px)" '
        'srcset="https://www.cna.com.tw/a.jpg 1x"><img src="https://imgcdn.cna.com.tw/b.jpg" alt="圖" '
        'referrerpolicy="no-referrer"></picture><figcaption class="picinfo">說明</figcaption></figure>'
    )
    fig = lead_figure(clean_body(html, BASE))
    assert (fig.src, fig.alt, fig.caption) == ("https://imgcdn.cna.com.tw/b.jpg", "圖", "說明")
    assert fig.sources == [{"media": "(max-width: 800px)", "srcset": "https://www.cna.com.tw/a.jpg 1x"}]


def test_scripts_forms_and_scripted_links_go_text_stays():
    html = ('<p>前<script>alert(1)</script><a href="javascript:void(0)">按鈕</a><a href="/tag/1/" onclick="x()">'
            '標籤</a><input value="x"><span onmouseover="y()">後</span></p><style>p{}</style>')
    assert clean_body(html, BASE) == '<p>前按鈕<a href="https://www.cna.com.tw/tag/1/">標籤</a><span>後</span></p>'


def test_only_video_iframes_are_kept():
    html = ('<iframe src="//www.youtube.com/embed/abc" allowfullscreen></iframe>'
            '<iframe src="https://ads.example/x"></iframe><p>x</p>')
    assert clean_body(html, BASE) == (
        '<iframe src="https://www.youtube.com/embed/abc" allowfullscreen=""></iframe><p>x</p>'
    )


def test_one_line_keeps_a_space_between_inline_elements_only():
    html = "<p>a</p>\n   <p><b>Taipei</b>\n<i>Times</i> one\ntwo</p>\n"
    assert clean_body(html, BASE) == "<p>a</p><p><b>Taipei</b> <i>Times</i> one two</p>"


def test_libxml2_source_nesting_is_repaired():
    root = parse_fragment('<picture><source srcset="a"><source srcset="b"><img src="c"></picture>')
    assert inner_html(root) == '<picture><source srcset="a"><source srcset="b"><img src="c"></picture>'


def test_plain_absolute_urls_are_what_urljoin_gives() -> None:
    """clean's shortcut for absolute URLs returns exactly urljoin's result (or its error)."""
    import random
    from urllib.parse import urljoin

    from newsmirror.clean import _PLAIN_ABSOLUTE, _absolute

    rng = random.Random(7)
    alphabet = "abAZ09.-_~!$&'()*+,=:@%/?#;[] \t\né"
    starts = ["https://", "http://", "HTTPS://", "https:", "https://a.b", "http://x.test:80", "ftp://"]
    urls = [rng.choice(starts) + "".join(rng.choice(alphabet) for _ in range(rng.randrange(12))) for _ in range(20000)]
    urls += ["https://imgcdn.cna.com.tw/www/WebPhotos/800/2023/a_b.jpg", "https://x.test/a?", "https://x.test/a;p",
             "https://x.test/a?b=1&c=%20", "https://x.test:/a", "https://x.test/a/../b", "https://x.test//a"]
    bases = [BASE, "http://x.test/a/b/", "file:///tmp/a.html", "", "http://[::1"]
    taken = 0
    for url in urls:
        taken += bool(_PLAIN_ABSOLUTE.fullmatch(url))
        for base in bases:
            try:
                expected = urljoin(base, url)
            except ValueError as exc:
                expected = repr(exc)
            try:
                got = _absolute(url, base)
            except ValueError as exc:
                got = repr(exc)
            assert got == expected, (url, base)
    assert taken > 500  # the shortcut is exercised


def test_lead_figure_of_bodies_with_and_without_images() -> None:
    assert lead_figure("<p>no picture here &lt;img src=x&gt;</p>") is None
    assert lead_figure("<p>text</p><figure><figcaption>only a caption</figcaption></figure>") is None
    fig = lead_figure('<p>x</p><IMG SRC="https://a.test/b.jpg" alt="b">')  # not nh3's spelling, still read
    assert fig is not None and (fig.src, fig.alt, fig.caption, fig.sources) == ("https://a.test/b.jpg", "b", "", [])
