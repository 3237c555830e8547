"""The post renderer: Article -> the exact text of a Jekyll post in the sample format.

Pure functions, no I/O.  The format (see ``tests/fixtures/seed/FORMAT.md``)::

    ---
    layout: post
    title: "<title>"                      always double-quoted
    date: 2023-09-11T12:40:00.000Z        UTC, milliseconds, Z
    author: <label>
    from: <canonical URL>
    tags: [ <label> ]
    comments: True
    categories: [ <label> ]
    ---
    <!--<epoch ms>-->
    [<title>](<url>)
    ------

    <div>
    <body HTML on one line>
    </div>

YAML safety: ordinary values keep the sample's bytes; anything a YAML parser could misread
(quotes, backslashes, ``: ``, ``#``, brackets, commas, control characters, line breaks, leading
spaces, values that look like numbers/booleans) is written as a double-quoted scalar with YAML
escapes, so python-frontmatter (PyYAML) -- and Jekyll -- read back exactly the intended string.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from functools import lru_cache

import yaml

from .dates import epoch_ms, utc_iso_ms
from .items import Article

BODY_FORMATS = ("html", "markdown")
FILENAME_STYLES = ("id", "title")

_YAML_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\0": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
# YAML's printable set: tab, LF, CR, 0x20-0x7E, 0x85, 0xA0-0xD7FF, 0xE000-0xFFFD, 0x10000+.
_NEEDS_ESCAPE = re.compile(r'[\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]')
_PLAIN_START = re.compile(r"^[-?:,\[\]{}#&*!|>'\"%@`\s]")
_FLOW_UNSAFE = re.compile(r"[,\[\]{}]")
# An http(s) URL of these characters is a plain block scalar YAML reads back as itself (no
# space, so no ": " or " #"; "h" starts no implicit type): no YAML parse per post for `from:`.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9._~:/?&=%+-]*")


def yaml_quoted(value: str) -> str:
    """A YAML double-quoted scalar that reads back as exactly ``value``."""

    def esc(m: re.Match[str]) -> str:
        ch = m.group()
        if ch in _YAML_ESCAPES:
            return _YAML_ESCAPES[ch]
        code = ord(ch)
        return f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}"

    return '"' + _NEEDS_ESCAPE.sub(esc, value) + '"'


def yaml_scalar(value: str, flow: bool = False) -> str:
    """Plain scalar when YAML reads it back unchanged (the sample's bytes), else double-quoted."""
    if not flow and _PLAIN_URL.fullmatch(value) and not value.endswith(":"):
        return value  # every post's URL: decided without YAML, and not kept in the cache below
    if _plain_is_safe(value, flow):
        return value
    return yaml_quoted(value)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: same rules, faster


@lru_cache(maxsize=4096)  # labels repeat in every post of a source
def _plain_is_safe(value: str, flow: bool) -> bool:
    if not value or value != value.strip() or _NEEDS_ESCAPE.search(value) or _PLAIN_START.match(value):
        return False
    if ": " in value or " #" in value or value.endswith(":") or (flow and _FLOW_UNSAFE.search(value)):
        return False
    doc = f"k: [ {value} ]" if flow else f"k: {value}"
    try:
        loaded = yaml.load(doc, Loader=_Loader)
    except yaml.YAMLError:
        return False
    expected = [value] if flow else value
    return loaded == {"k": expected}


def markdown_link_text(title: str) -> str:
    """The title as Markdown link text: one line, brackets and backslashes escaped, and no raw
    HTML (``<`` and ``>`` as entities, ``&`` too where it would start an entity)."""
    one_line = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", title).strip()
    one_line = re.sub(r"&(?=#?\w+;)", "&amp;", one_line).replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\\[\]])", r"\\\1", one_line)


def markdown_link_url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def render_front_matter(article: Article) -> str:
    label_block = yaml_scalar(article.label)
    label_flow = yaml_scalar(article.label, flow=True)
    return (
        "---\n"
        "layout: post\n"
        f"title: {yaml_quoted(article.title)}\n"
        f"date: {utc_iso_ms(article.published)}\n"
        f"author: {yaml_scalar(article.author) if article.author else label_block}\n"
        f"from: {yaml_scalar(article.url)}\n"
        f"tags: [ {label_flow} ]\n"
        "comments: True\n"
        f"categories: [ {label_flow} ]\n"
        "---\n"
    )


def render_post(article: Article, body_format: str = "html") -> str:
    """The whole post text (UTF-8, ``\\n`` line ends, final newline)."""
    if body_format not in BODY_FORMATS:
        raise ValueError(f"body format must be one of {BODY_FORMATS}, not {body_format!r}")
    head = (
        render_front_matter(article)
        + f"<!--{epoch_ms(article.published)}-->\n"
        + f"[{markdown_link_text(article.title)}]({markdown_link_url(article.url)})\n"
        + "------\n\n"
    )
    if body_format == "markdown":
        from .markdown import body_to_markdown

        return head + body_to_markdown(article.body_html) + "\n"
    body = article.body_html.replace("\n", " ")
    return head + f"<div>\n{body}\n</div>\n"


# An instance attribute, not a field (feed exports never show it), kept by pickle: a worker
# process renders the post (pure CPU) and the single writer only compares and writes its bytes.
_RENDERED = "_newsmirror_rendered"


def _render_inputs(article: Article) -> tuple[object, ...]:
    """Every field render_post reads."""
    return (article.title, article.published, article.author, article.label, article.url, article.body_html)


def prerender(article: Article, body_format: str = "html") -> None:
    """Render the post now and keep its bytes and SHA-256 on the article (see post_bytes).  A
    render that fails keeps nothing: the writer renders again and meets the error itself."""
    try:
        rendered = _post_bytes_now(article, body_format)
    except Exception:  # noqa: BLE001 - reported where the post is written, as without a worker
        return
    setattr(article, _RENDERED, (body_format, _render_inputs(article), *rendered))


def post_bytes(article: Article, body_format: str = "html") -> tuple[bytes, str]:
    """The post's UTF-8 bytes and their SHA-256 hex digest: what :func:`prerender` kept, if
    every field it read is still the very same object (pickle keeps that identity; a later
    stage that rewrote the body, e.g. --download-images, set a new one), else rendered now."""
    kept = article.__dict__.pop(_RENDERED, None)
    if kept is not None:
        fmt, inputs, data, digest = kept
        if fmt == body_format and all(a is b for a, b in zip(inputs, _render_inputs(article), strict=True)):
            return data, digest
    return _post_bytes_now(article, body_format)


def _post_bytes_now(article: Article, body_format: str) -> tuple[bytes, str]:
    data = render_post(article, body_format).encode("utf-8")
    return data, hashlib.sha256(data).hexdigest()


def slug_for(article: Article) -> str:
    """Stable ASCII slug from the article's identity: ``cna-202309110310``."""
    site = re.sub(r"[^a-z0-9]+", "-", article.site.lower()).strip("-") or "post"
    return f"{site}-{article.article_id}"


def title_slug(title: str, limit: int = 50) -> str:
    """The replaced system's title-style name, made safe: no path separators, quotes,
    control characters or characters Jekyll/URLs choke on; cut at ``limit`` characters
    (code points, so an emoji is never split)."""
    text = unicodedata.normalize("NFC", title)
    text = text.replace("/", "--")
    text = re.sub(r'[\x00-\x1f\x7f\\:*?"<>|#%{}\[\]^~`]', "", text)
    text = re.sub(r"\s+", " ", text).strip()
    return _cut_between_graphemes(text, limit).rstrip(" .-")


_ZWJ = "\u200d"


def _continues(ch: str) -> bool:
    """Does ``ch`` belong to the character before it (combining mark, variation selector, skin
    tone, emoji tag, keycap, zero-width joiner)?"""
    code = ord(ch)
    return bool(
        unicodedata.combining(ch)
        or ch == _ZWJ
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
        or code == 0x20E3
    )


def _cut_between_graphemes(text: str, limit: int) -> str:
    """``text[:limit]``, shortened so no flag, ZWJ sequence or accented letter is split."""
    if len(text) <= limit:
        return text
    cut = limit
    while cut > 0 and (_continues(text[cut]) or text[cut - 1] == _ZWJ):
        cut -= 1
    regional = 0  # flags are pairs of regional indicators
    while cut - regional > 0 and 0x1F1E6 <= ord(text[cut - regional - 1]) <= 0x1F1FF:
        regional += 1
    if regional % 2 and 0x1F1E6 <= ord(text[cut]) <= 0x1F1FF:
        cut -= 1
    return text[:cut]


def post_filename(article: Article, style: str = "id") -> str:
    """``YYYY-MM-DD-<slug>.md`` with the UTC publication date."""
    if style not in FILENAME_STYLES:
        raise ValueError(f"filename style must be one of {FILENAME_STYLES}, not {style!r}")
    day = utc_iso_ms(article.published)[:10]
    slug = title_slug(article.title) if style == "title" else ""
    return f"{day}-{slug or slug_for(article)}.md"


def parse_post(text: str) -> Article:
    """Read a post of this format back into an Article (used to check round trips)."""
    import frontmatter

    post = frontmatter.loads(text)
    meta = post.metadata
    published = meta["date"]
    if isinstance(published, datetime) and published.tzinfo is None:
        from .dates import UTC

        published = published.replace(tzinfo=UTC)
    body = post.content
    m = re.search(r"^<div>\n(.*)\n</div>$", body, re.S | re.M)
    url = str(meta["from"])
    return Article(
        url=url,
        site="",
        article_id="",
        title=str(meta["title"]),
        published=published,
        body_html=m.group(1) if m else "",
        label=str(meta["author"]),
    )
