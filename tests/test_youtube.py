"""YouTube channel and playlist feeds: one post per video, player without cookies."""

from __future__ import annotations

from helpers import FIXTURES, write_through

from newsmirror.discovery import parse_feed_items
from newsmirror.items import Page
from newsmirror.sites.feed import feed_item_document, item_key

FEED = FIXTURES / "feeds/capyreader-atom-feed-youtube.xml"
CHANNEL = "https://www.youtube.com/feeds/videos.xml?channel_id=UC9PBzalIcEQCsiIkq36PyUA"


def pages(feed_url: str, source: str, label: str) -> list[Page]:
    return [Page(url=i.url or feed_url, body=feed_item_document(i, source=source, feed_url=feed_url,
                                                                author=i.author or label),
                 encoding="utf-8", origin=i.url or feed_url, label=label)
            for i in parse_feed_items(FEED.read_bytes(), feed_url)]


def test_video_post(tmp_path):
    first = write_through(pages(CHANNEL, "df", "Digital Foundry TV")[:1], tmp_path)[0]
    text = (tmp_path / first.post_path).read_text(encoding="utf-8")
    assert first.post_path == "_posts/2025-01-01-youtube-W_S7iKZZdHw.md"
    assert text.startswith(
        '---\nlayout: post\ntitle: "Digital Foundry Games of 2024: The Oliver Mackenzie Collection!"\n'
        "date: 2025-01-01T16:07:24.000Z\nauthor: Digital Foundry\nfrom: https://www.youtube.com/watch?v=W_S7iKZZdHw\n"
        "tags: [ Digital Foundry TV ]\ncomments: True\ncategories: [ Digital Foundry TV ]\n---\n<!--1735747644000-->\n")
    body = text.split("<div>\n", 1)[1]
    assert body.startswith('<figure><img src="https://i4.ytimg.com/vi/W_S7iKZZdHw/hqdefault.jpg" '
                           'alt="Digital Foundry Games of 2024: The Oliver Mackenzie Collection!" '
                           'referrerpolicy="no-referrer"></figure><iframe src="https://www.youtube-nocookie.com/embed/W_S7iKZZdHw"')
    assert "youtube.com/embed" not in body  # only the no-cookie player
    assert '<a href="https://store.digitalfoundry.net">https://store.digitalfoundry.net</a>' in body
    assert first.lead_figure is not None and first.lead_figure.src.endswith("/vi/W_S7iKZZdHw/hqdefault.jpg")


def test_a_video_in_a_channel_and_a_playlist_feed_is_one_post(tmp_path):
    playlist = "https://www.youtube.com/feeds/videos.xml?playlist_id=UU9PBzalIcEQCsiIkq36PyUA"
    [a] = parse_feed_items(FEED.read_bytes(), CHANNEL)[:1]
    [b] = parse_feed_items(FEED.read_bytes(), playlist)[:1]
    assert item_key("df", a) == item_key("playlist", b) == ("youtube", "W_S7iKZZdHw")
    from newsmirror.state import SeenStore

    store = SeenStore.memory()
    [one] = write_through(pages(CHANNEL, "df", "DF")[:1], tmp_path, store=store)
    [two] = write_through(pages(playlist, "pl", "DF")[:1], tmp_path, store=store)
    assert one.post_path == two.post_path and two.outcome == "unchanged"
    assert sorted(p.name for p in (tmp_path / "_posts").iterdir()) == ["2025-01-01-youtube-W_S7iKZZdHw.md"]


def test_fifteen_videos_fifteen_posts(tmp_path):
    written = write_through(pages(CHANNEL, "df", "DF"), tmp_path)
    assert len({a.post_path for a in written}) == 15
    assert all(a.site == "youtube" and a.url.startswith("https://www.youtube.com/watch?v=") for a in written)
