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
