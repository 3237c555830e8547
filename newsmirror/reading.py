"""Read the mirror back: every post in ``_posts/`` and ``archived/*/`` as plain fields and text.

``newsmirror export`` uses it to dump everything the mirror holds (Scrapy's ``FEEDS`` only sees
the articles of one run).  The front matter is read with YAML's BaseLoader, so every value stays
the exact string the post holds (a date stays ``2023-09-11T12:40:00.000Z``, not a datetime in
the reader's zone).  Old posts of the replaced system read the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import lxml.html
import yaml

from .archive import ARCHIVE_DIR, POSTS_DIR

_FRONT = re.compile(r"\A---\r?\n(.*?)\r?\n---\r?\n", re.DOTALL)
# the sample's header between the front matter and the body: <!--ms-->, [title](url), ------
_HEADER = re.compile(r"\A(?:<!--[^\n]*-->\r?\n)?(?:\[[^\n]*\]\([^\n]*\)\r?\n)?(?:-{3,}\r?\n)?\s*", re.DOTALL)
_BLOCKS = ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "br")
_NOT_TEXT = ("figure", "iframe", "script", "style", "picture")


@dataclass
class MirroredPost:
    title: str
    date: str  # as the post writes it (UTC ISO with milliseconds)
    url: str  # the front matter's ``from``: the canonical article URL
    label: str  # author / tags / categories
    post_path: str  # relative to the output root
    text: str  # the body as plain text, one paragraph per line


class UnreadablePost(ValueError):
    """A post file that is not in the sample format; the message says why."""


def post_files(out: Path) -> list[Path]:
    """``_posts/*.md``, then ``archived/<day>/*.md``, each in name order."""
    files = sorted((out / POSTS_DIR).glob("*.md"))
    files += sorted((out / ARCHIVE_DIR).glob("*/*.md"))
    return [f for f in files if not f.name.startswith(".")]


def read_post(path: Path, out: Path) -> MirroredPost:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadablePost(getattr(exc, "strerror", None) or str(exc)) from exc
    m = _FRONT.match(text)
    if not m:
        raise UnreadablePost("no front matter (--- ... ---) at the top")
    try:
        meta = yaml.load(m[1], Loader=yaml.BaseLoader)  # noqa: S506 (BaseLoader builds only str/list/dict)
    except yaml.YAMLError as exc:
        raise UnreadablePost(f"front matter is not YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(meta, dict):
        raise UnreadablePost("front matter is not a mapping")
    label = meta.get("author") or _first(meta.get("tags")) or _first(meta.get("categories")) or ""
    return MirroredPost(
        title=str(meta.get("title", "")),
        date=str(meta.get("date", "")),
        url=str(meta.get("from", "")),
        label=str(label),
        post_path=path.relative_to(out).as_posix(),
        text=plain_text(text[m.end() :]),
    )


def iter_posts(out: Path) -> Iterator[MirroredPost | tuple[str, str]]:
    """Every post, or ``(path, reason)`` for one that cannot be read (reading goes on)."""
    for path in post_files(out):
        try:
            yield read_post(path, out)
        except UnreadablePost as exc:
            yield (str(path), str(exc))


def plain_text(body: str) -> str:
    """The body without markup: paragraphs, one per line; figures and embeds left out."""
    body = _HEADER.sub("", body, count=1).strip()
    if not body.startswith("<"):  # a Markdown body (--body markdown) is already text
        return body
    root = lxml.html.fragment_fromstring(body, create_parent="div")
    for el in list(root.iter(*_NOT_TEXT)):
        tail = el.tail
        parent = el.getparent()
        if parent is not None:
            el.tail = None
            prev = el.getprevious()
            if tail:
                if prev is not None:
                    prev.tail = (prev.tail or "") + tail
                else:
                    parent.text = (parent.text or "") + tail
            parent.remove(el)
    for el in root.iter(*_BLOCKS):
        el.tail = "\n" + (el.tail or "")
    lines = (" ".join(line.split()) for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line)


def _first(value: object) -> str:
    if isinstance(value, list) and value:
        return str(value[0])
    return str(value) if isinstance(value, str) else ""
