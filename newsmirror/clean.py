"""Site-independent body cleaning: lazy images, absolute URLs, sanitizing, one line.

Site parsers decide *what* belongs to the article; this module makes any such HTML safe and
uniform for a static site:

* lazy-loading attributes (``data-src``/``data-srcset``) become real ``src``/``srcset``;
* every ``img`` gets ``referrerpolicy="no-referrer"`` so image CDNs serve hot-linked pictures;
* relative and protocol-relative URLs become absolute ``https``/``http`` URLs;
* scripts, styles, forms, inputs, SVG decorations and ``javascript:`` links go;
* nh3 (the Rust ``ammonia`` sanitizer) applies an allowlist of tags and attributes -- the last
  line of defence against markup a parser let through, and fast enough for bulk reprocessing;
* the result is a single line, as in the sample posts.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin, urlparse

import nh3
from lxml import etree

from .html import inner_html, parse_fragment, set_attrs, text_of
from .items import Figure

ALLOWED_TAGS = frozenset(
    "p br a b strong i em u s sub sup small span figure figcaption picture source img iframe h2 "
    "h3 h4 h5 h6 blockquote ul ol li table thead tbody tfoot tr td th caption hr".split()
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "figure": {"class"},
    "figcaption": {"class"},
    "picture": {"style"},
    "source": {"media", "srcset", "type", "sizes"},
    "img": {"src", "alt", "srcset", "sizes", "width", "height", "title", "referrerpolicy"},
    "iframe": {
        "src",
        "title",
        "width",
        "height",
        "frameborder",
        "allow",
        "allowfullscreen",
        "referrerpolicy",
        "sandbox",
    },
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
VIDEO_HOSTS = re.compile(
    r"^https?://(?:www\.)?(?:youtube\.com|youtube-nocookie\.com|youtu\.be|player\.vimeo\.com)/"
)

_DROP_WITH_CONTENT = (
    "script",
    "style",
    "noscript",
    "form",
    "input",
    "button",
    "select",
    "textarea",
    "svg",
    "template",
    "object",
)
_LAZY_CLASSES = frozenset({"lazyload", "lazy", "owl-lazy", "lazyloaded"})
_LAZY_ATTRS = {"data-src": "src", "data-original": "src", "data-srcset": "srcset"}
_URL_ATTRS = ("href", "src")
# What _resolve_lazy and _absolutize read: elements with none of these are left alone.
_URL_NAMES = frozenset((*_URL_ATTRS, "srcset", *_LAZY_ATTRS))
# One sanitizer, built once: nh3.clean builds ammonia's allowlists anew on every call (half its cost).
_SANITIZER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=set(URL_SCHEMES),
    link_rel=None,
    strip_comments=True,
)


def clean_body(html: str, base_url: str) -> str:
    """Return the sanitized one-line body HTML."""
    root = parse_fragment(html)
    _drop_furniture(root)
    for el in root.iter(etree.Element):
        names = el.keys()  # cheaper than an XPath attribute test on these small trees (4 vs 9 us)
        if names and not _URL_NAMES.isdisjoint(names):
            _resolve_lazy(el)
            _absolutize(el, base_url)
    _drop_scripted_links(root)
    _drop_foreign_iframes(root)
    for img in root.iter("img"):
        if img.get("referrerpolicy") is None:
            img.set("referrerpolicy", "no-referrer")
    return _SANITIZER.clean(_one_line(inner_html(root))).strip()


def lead_figure(body_html: str) -> Figure | None:
    """The first figure of a cleaned body as structured data (the body keeps the markup)."""
    if not _IMG_TAG.search(body_html):
        return None  # no <img> start tag, so no image element: no parse needed (half the posts)
    root = parse_fragment(body_html)
    fig = root.find(".//figure")
    img = (fig if fig is not None else root).find(".//img")
    if img is None:
        return None
    caption = fig.find(".//figcaption") if fig is not None else None
    return Figure(
        src=img.get("src", ""),
        alt=img.get("alt", ""),
        caption=text_of(caption),
        srcset=img.get("srcset", ""),
        sources=[dict(s.attrib) for s in fig.iter("source")] if fig is not None else [],
    )


_IMG_TAG = re.compile("<img", re.I)


def _drop_furniture(root: etree._Element) -> None:
    for el in list(root.iter(*_DROP_WITH_CONTENT)):
        el.drop_tree()


def _resolve_lazy(el: etree._Element) -> None:
    """data-src -> src, data-srcset -> srcset, in place: the data- value wins, order is kept."""
    attrib = el.attrib
    if not any(name in attrib for name in _LAZY_ATTRS):
        return
    wanted: dict[str, str] = {}
    for lazy, real in _LAZY_ATTRS.items():
        if lazy in attrib and real not in wanted:
            wanted[real] = attrib[lazy]
    out: list[tuple[str, str]] = []
    placed: set[str] = set()
    for name, value in attrib.items():
        if name in _LAZY_ATTRS or name in wanted:
            name = _LAZY_ATTRS.get(name, name)
            value = wanted[name]
        elif name == "class":
            value = " ".join(c for c in value.split() if c not in _LAZY_CLASSES)
            if not value:
                continue
        if name not in placed:
            placed.add(name)
            out.append((name, value))
    set_attrs(el, out)


def _absolutize(el: etree._Element, base_url: str) -> None:
    for name in _URL_ATTRS:
        value = el.get(name)
        if value is not None and not value.startswith(("#", "javascript:", "mailto:", "data:")):
            el.set(name, _absolute(value.strip(), base_url))
    srcset = el.get("srcset")
    if srcset:
        el.set("srcset", ", ".join(_absolute_candidate(c, base_url) for c in srcset.split(",") if c.strip()))


def _absolute(url: str, base_url: str) -> str:
    if url.startswith("//"):
        return "https:" + url
    return joined(base_url, url)


def joined(base_url: str, url: str) -> str:
    """``urljoin(base_url, url)``, without parsing both when ``url`` is a plain absolute http(s)
    URL (a third of clean's walk; most of read_meta's canonical/og:url work)."""
    if _PLAIN_ABSOLUTE.fullmatch(url) and _readable_base(base_url):
        return url
    return urljoin(base_url, url)


# An http(s) URL with a host, of these characters only (no params, fragment or empty query,
# nothing urlsplit strips or checks): urljoin against any base it can read returns it unchanged
# (another scheme: as it is; the same one: urlunparse(urlparse(url)), which rebuilds it exactly).
_PLAIN_ABSOLUTE = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]*)?(?:/[A-Za-z0-9._~!$&'()*+,=:@%/-]*)?"
    r"(?:\?[A-Za-z0-9._~!$&'()*+,=:@%/?-]+)?"
)


def _readable_base(base_url: str) -> bool:
    """Whether urljoin can parse the base (else it raises, and so must _absolute).  urlsplit
    raises only on brackets (IPv6 hosts) and on non-ASCII hosts NFKC changes: an ASCII URL
    without brackets needs no parse (each page's base is new, so a cache rarely helps)."""
    if base_url.isascii() and "[" not in base_url and "]" not in base_url:
        return True
    return _parses(base_url)


@lru_cache(maxsize=64)
def _parses(base_url: str) -> bool:
    try:
        urlparse(base_url)
    except ValueError:
        return False
    return True


def _absolute_candidate(candidate: str, base_url: str) -> str:
    parts = candidate.strip().split(None, 1)
    parts[0] = _absolute(parts[0], base_url)
    return " ".join(parts)


def _drop_scripted_links(root: etree._Element) -> None:
    """A link that runs script is a button: keep its text, lose the link."""
    for a in list(root.iter("a")):
        href = (a.get("href") or "").strip().lower()
        if not href or href.startswith("javascript:"):
            a.drop_tag()


def _drop_foreign_iframes(root: etree._Element) -> None:
    for iframe in list(root.iter("iframe")):
        if not VIDEO_HOSTS.match(iframe.get("src") or ""):
            iframe.drop_tree()
        else:
            iframe.text = None


_BLOCK_TAGS = frozenset(
    "p div figure figcaption picture source img iframe h1 h2 h3 h4 h5 h6 ul ol li table thead "
    "tbody tfoot tr td th caption blockquote hr br section article".split()
)
_BETWEEN_TAGS = re.compile(r"(<(/?)([a-zA-Z0-9]+)[^>]*>)\s*\n\s*(?=<(/?)([a-zA-Z0-9]+))")


def _one_line(html: str) -> str:
    """One line: a line break between two tags goes if one of them is a block tag (layout
    whitespace) and becomes a space between inline ones (``<b>Taipei</b> <i>Times</i>``); other
    line breaks become spaces."""
    if "\n" not in html:  # most bodies (their paragraphs are tidied): no regex scan at all
        return html.strip()

    def between(m: re.Match[str]) -> str:
        block = m.group(3).lower() in _BLOCK_TAGS or m.group(5).lower() in _BLOCK_TAGS
        return m.group(1) if block else m.group(1) + " "

    html = _BETWEEN_TAGS.sub(between, html)
    return _LINE_BREAK.sub(" ", html).strip() if "\n" in html else html.strip()


_LINE_BREAK = re.compile(r"\s*\n\s*")
