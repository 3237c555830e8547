"""``--download-images``: the post's images live in the site, fetched once, failures counted."""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers import FAST, FIXTURES, run_cli

from newsmirror.pipelines.images import body_image_urls, image_path, rewrite_image_urls

ARTICLE = "/news/aopl/202309110310.aspx"
POST = "_posts/2023-09-11-cna-202309110310.md"
SMALL = "/www/WebPhotos/800/20230911/1024x768_wmky_0_C20230911000145.jpg"
LARGE = "/www/WebPhotos/1024/20230911/1024x768_wmky_0_C20230911000145.jpg"
JPEG = {SMALL: b"\xff\xd8\xff\xe0small-jpeg-bytes\xff\xd9", LARGE: b"\xff\xd8\xff\xe0large-jpeg-bytes\xff\xd9"}


def serve(site, images=(SMALL, LARGE)) -> None:
    """The golden page with its image CDN on the loopback server."""
    page = (FIXTURES / "seed/202309110310.reconstructed.html").read_text(encoding="utf-8")
    site.add(ARTICLE, page.replace("https://imgcdn.cna.com.tw", site.base))
    for path in images:
        site.add(path, JPEG[path], content_type="image/jpeg")


def image_hits(site) -> int:
    return site.hits(SMALL) + site.hits(LARGE)


def mirror(site, out: Path, *extra: str):
    return run_cli("mirror", site.url(ARTICLE), "-o", str(out), *FAST, *extra)


def local_refs(post: str) -> list[str]:
    return sorted(set(re.findall(r"/assets/img/[^\"\s,]+", post)))


def test_images_are_stored_in_the_site_and_the_post_points_at_them(site, tmp_path):
    serve(site)
    plain = tmp_path / "plain"
    assert mirror(site, plain).returncode == 0
    assert image_hits(site) == 0  # without the option nothing but the page is fetched

    out = tmp_path / "out"
    result = mirror(site, out, "--download-images")
    assert result.returncode == 0, result.stderr
    post = (out / POST).read_text(encoding="utf-8")
    refs = local_refs(post)
    assert len(refs) == 2 and all(r.startswith("/assets/img/cna/202309110310/") for r in refs)
    stored = {ref: (out / ref.lstrip("/")).read_bytes() for ref in refs}  # every reference resolves
    assert sorted(stored.values()) == sorted(JPEG.values())
    assert site.hits(SMALL) == 1 and site.hits(LARGE) == 1  # once each, though used 3 and 4 times
    # the only bytes that differ from the hot-linked post are the image URLs
    original = (plain / POST).read_text(encoding="utf-8")
    back = post
    for path in (SMALL, LARGE):
        back = back.replace("/" + image_path("cna", "202309110310", site.url(path)), site.url(path))
    assert back == original
    assert site.base not in post.split("------", 1)[1].replace(f"{site.base}/news", "")
    # the article is the Referer of every image request
    referers = {h.get("Referer") for path, h in site.headers if path in (SMALL, LARGE)}
    assert referers == {site.url(ARTICLE)}
    report = json.loads(next((out / ".newsmirror/runs").glob("*-mirror.json")).read_text())
    assert report["images"] == {"downloaded": 2} and report["image_failures"] == []
    assert "; images: 2 downloaded" in result.stderr

    again = mirror(site, out, "--download-images")  # same page: skipped before parsing
    assert again.returncode == 0, again.stderr
    (out / POST).unlink()  # now the page goes through the pipeline again, and finds the images
    third = mirror(site, out, "--download-images")
    assert third.returncode == 0, third.stderr
    assert image_hits(site) == 2  # a re-run fetches no image
    assert (out / POST).read_text(encoding="utf-8") == post
    assert "; images: 2 uptodate" in third.stderr


def test_a_missing_image_is_counted_and_the_post_still_written(site, tmp_path):
    serve(site, images=(SMALL,))  # LARGE answers 404
    out = tmp_path / "out"
    result = mirror(site, out, "--download-images")
    assert result.returncode == 0, result.stderr
    warning = (f"warning: image {site.url(LARGE)}: HTTP 404 "
               f"(the post of {site.url(ARTICLE)} keeps this URL)")
    assert warning in result.stderr.splitlines()
    post = (out / POST).read_text(encoding="utf-8")
    assert site.url(LARGE) in post  # the failed image keeps its original URL
    assert site.url(SMALL) not in post and len(local_refs(post)) == 1
    report = json.loads(next((out / ".newsmirror/runs").glob("*-mirror.json")).read_text())
    assert report["images"] == {"downloaded": 1, "failed": 1}
    assert report["image_failures"] == [{"url": site.url(LARGE), "reason": "HTTP 404", "article": site.url(ARTICLE)}]
    assert report["counts"]["new"] == 1 and report["counts"]["failed"] == 0


def test_robots_txt_applies_to_images_and_a_source_can_ask_for_images(site, tmp_path):
    serve(site)
    site.add("/robots.txt", "User-agent: *\nDisallow: /www/WebPhotos/1024/\n", content_type="text/plain")
    site.add("/rss.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>c</title><item><title>t</title>'
                         f"<link>{site.url(ARTICLE)}</link></item></channel></rss>", content_type="application/rss+xml")
    sources = tmp_path / "sources.toml"
    sources.write_text(f'''[[source]]
name = "cna"
label = "(臺)中央社CNA"
parser = "cna"
feeds = ["{site.url('/rss.xml')}"]
allow_domains = ["127.0.0.1"]
download_images = true
''', encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("crawl", "--sources", str(sources), "-o", str(out), *FAST)
    assert result.returncode == 0, result.stderr
    assert site.hits(LARGE) == 0 and site.hits(SMALL) == 1
    assert f"warning: image {site.url(LARGE)}: forbidden by robots.txt" in result.stderr
    assert len(local_refs((out / POST).read_text(encoding="utf-8"))) == 1


def test_rewriting_touches_only_the_urls():
    body = ('<figure><picture><source srcset="https://x.test/a.jpg"><img src="https://x.test/a.jpg" '
            'alt="a.jpg" srcset="https://x.test/a.jpg 414w, https://x.test/b.jpg?x=1&amp;y=2 1024w">'
            '</picture></figure><p>https://x.test/a.jpg</p>')
    assert body_image_urls(body) == ["https://x.test/a.jpg", "https://x.test/b.jpg?x=1&y=2"]
    local = {"https://x.test/a.jpg": "/assets/img/a.jpg", "https://x.test/b.jpg?x=1&y=2": "/assets/img/b.img"}
    assert rewrite_image_urls(body, local) == (
        '<figure><picture><source srcset="/assets/img/a.jpg"><img src="/assets/img/a.jpg" '
        'alt="a.jpg" srcset="/assets/img/a.jpg 414w, /assets/img/b.img 1024w">'
        '</picture></figure><p>https://x.test/a.jpg</p>')
    assert image_path("cna", "1", "https://x.test/b.jpg?x=1").endswith(".jpg")
    assert image_path("cna", "1", "https://x.test/photo").endswith(".img")


def test_only_img_and_source_urls_are_images():
    """A YouTube player (CNA 2026 leads, YouTube feed posts) and links stay as they are."""
    body = ('<iframe src="https://www.youtube-nocookie.com/embed/abc" allowfullscreen></iframe>'
            '<figure><img alt="a > b" src="https://img.example/a.jpg"><picture><source '
            'srcset="https://img.example/b.webp 1x"></picture></figure>'
            '<p><a href="https://img.example/c.jpg">c</a></p>')
    assert body_image_urls(body) == ["https://img.example/a.jpg", "https://img.example/b.webp"]
    local = {"https://www.youtube-nocookie.com/embed/abc": "/assets/img/x.img",
             "https://img.example/a.jpg": "/assets/img/a.jpg", "https://img.example/b.webp": "/assets/img/b.webp"}
    out = rewrite_image_urls(body, local)
    assert out == body.replace("https://img.example/a.jpg", "/assets/img/a.jpg").replace(
        "https://img.example/b.webp", "/assets/img/b.webp")


def test_the_sources_key_is_checked_and_written_back():
    import pytest

    from newsmirror.sources import SourcesError, dump_sources, parse_sources_text

    text = ('[[source]]\nname = "voa"\nlabel = "VOA"\nparser = "feed"\n'
            'feeds = ["https://example.org/rss.xml"]\ndownload_images = true\n')
    [source] = parse_sources_text(text, "s.toml")
    assert source.download_images is True
    assert parse_sources_text(dump_sources([source]), "again.toml") == [source]
    with pytest.raises(SourcesError, match="key 'download_images': must be true or false, got str 'yes'"):
        parse_sources_text(text.replace("= true", '= "yes"'), "s.toml")


def test_reprocess_localizes_images_from_the_http_cache_offline(tmp_path):
    from loopback import LoopbackSite

    crawled = tmp_path / "crawled"
    with LoopbackSite() as site:
        serve(site)
        first = mirror(site, crawled, "--download-images", "-s", "HTTPCACHE_ENABLED=True",
                       "-s", f"HTTPCACHE_DIR={crawled / '.newsmirror/httpcache'}")
        assert first.returncode == 0, first.stderr
    post = (crawled / POST).read_text(encoding="utf-8")
    # the server is gone: every image must come from the cache
    again = tmp_path / "again"
    result = run_cli("reprocess", str(crawled / ".newsmirror/httpcache"), "-o", str(again), "--download-images")
    assert result.returncode == 0, result.stderr
    assert (again / POST).read_text(encoding="utf-8") == post
    for ref in local_refs(post):
        assert (again / ref.lstrip("/")).read_bytes() == (crawled / ref.lstrip("/")).read_bytes()
    assert "; images: 2 cached" in result.stderr
    # pages without their images in a store keep the URLs, counted, and nothing is fetched
    bare = tmp_path / "bare"
    page = tmp_path / "page.html"
    page.write_bytes((FIXTURES / "seed/202309110310.reconstructed.html").read_bytes())
    plain = run_cli("reprocess", str(page), "-o", str(bare), "--download-images")
    assert plain.returncode == 0, plain.stderr
    assert (bare / POST).read_bytes() == (FIXTURES / "seed/expected_clean.md").read_bytes()
    assert "; images: 2 failed" in plain.stderr and "not in the HTTP cache or WARC" in plain.stderr


def test_reprocess_localizes_images_from_a_warc_offline(tmp_path):
    from loopback import LoopbackSite

    crawled, warc = tmp_path / "crawled", tmp_path / "crawl.warc.gz"
    with LoopbackSite() as site:
        serve(site)
        site.add("/rss.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>c</title><item>'
                             f"<title>t</title><link>{site.url(ARTICLE)}</link></item></channel></rss>",
                 content_type="application/rss+xml")
        first = run_cli("crawl", "--feed", site.url("/rss.xml"), "--parser", "cna", "-o", str(crawled),
                        "--download-images", "--warc", str(warc), *FAST)
        assert first.returncode == 0, first.stderr
    post = (crawled / POST).read_text(encoding="utf-8")
    again = tmp_path / "again"
    result = run_cli("reprocess", str(warc), "-o", str(again), "--download-images")
    assert result.returncode == 0, result.stderr
    assert (again / POST).read_text(encoding="utf-8") == post
    assert sorted(p.read_bytes() for p in (again / "assets/img").rglob("*.jpg")) == sorted(JPEG.values())
    assert "; images: 2 cached" in result.stderr
