"""YouTube channel and playlist feeds (``youtube.com/feeds/videos.xml?channel_id=|playlist_id=``).

A video's post is the player (a youtube-nocookie.com iframe: no cookies until the reader presses
play), the thumbnail as lead figure, the title, the date and the description -- what the replaced
system showed, minus its empty bodies.  A video is identified by its id, whichever channel or
playlist feed announced it, so a video listed in two playlists is one post.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from lxml import etree

from ..document import PageDocument
from .base import NotAnArticle, PageMeta
from .feed import common_fields, item_data

__all__ = ["YouTubeParser", "embed_url"]

_VIDEO_ID_RE = re.compile(r"^[A-Za-z0-9_-]{6,20}$")
_URL_RE = re.compile(r"https?://[^\s<>\"']+")


def embed_url(video_id: str) -> str:
    return f"https://www.youtube-nocookie.com/embed/{video_id}"


def _paragraphs(description: str) -> str:
    """Plain-text description -> paragraphs, links clickable, line breaks kept."""
    out = []
    for block in re.split(r"\n\s*\n", description.strip()):
        lines = [_link(escape(line.strip(), quote=False)) for line in block.splitlines() if line.strip()]
        if lines:
            out.append("<p>" + "<br>".join(lines) + "</p>")
    return "".join(out)


def _link(text: str) -> str:
    return _URL_RE.sub(lambda m: f'<a href="{m[0]}">{m[0]}</a>', text)


class YouTubeParser:
    key = "youtube"
    default_label = ""
    feed_documents = True  # only for documents the crawl built from feed items (Page.from_feed)

    def matches(self, page: PageDocument, meta: PageMeta, url: str) -> bool:
        data = item_data(page.lxml())
        return bool(data and data.get("video_id"))

    def key_from_url(self, url: str) -> tuple[str, str] | None:
        m = re.search(r"[?&]v=([A-Za-z0-9_-]{6,20})", url)
        return ("youtube", m[1]) if m else None

    def parse(self, doc: etree._Element, meta: PageMeta, url: str) -> dict[str, Any]:
        data = item_data(doc) or {}
        fields = common_fields(data)
        video_id = str(data["video_id"])
        if not _VIDEO_ID_RE.match(video_id):
            raise NotAnArticle(f"not a YouTube video id: {video_id!r}")
        title = escape(fields["title"], quote=True)
        parts = []
        if data.get("thumbnail"):
            thumbnail = escape(data["thumbnail"], quote=True)
            parts.append(f'<figure><img src="{thumbnail}" alt="{title}"></figure>')
        parts.append(
            f'<iframe src="{embed_url(video_id)}" width="640" height="360" title="{title}" '
            'allow="accelerometer; encrypted-media; gyroscope; picture-in-picture" allowfullscreen></iframe>'
        )
        parts.append(_paragraphs(data.get("description") or ""))
        fields["body_html"] = "".join(parts)
        return fields
