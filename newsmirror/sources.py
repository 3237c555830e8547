"""Discovery sources: which sitemaps, feeds and list pages to read, from a TOML file.

Which entry points to use is configuration, not code: CNA moves feeds and sitemaps around, and
other sites need other entry points, so a user edits a file instead of the package.  The
packaged default (``newsmirror/sources.toml``) holds CNA's sitemaps and its 11 section feeds.

A source's ``parser`` decides where a post's body comes from: ``"feed"`` makes it from the feed
item itself (no article page is fetched); ``"cna"`` or ``"generic"`` fetch the linked page.

The file is validated strictly -- unknown keys are errors, not ignored -- because a typo such as
``feed = [...]`` would otherwise silently crawl nothing.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import tzinfo
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .dates import TAIPEI, zone_for, zone_named

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "AUTHOR_CHOICES",
    "CNA_LABEL",
    "PARSERS",
    "Source",
    "SourcesError",
    "dump_sources",
    "load_sources",
    "parse_sources_text",
    "source_from_urls",
    "sources_from_subs",
]

CNA_LABEL = "(臺)中央社CNA"
#: Parser keys a source may name: the article-page parsers in newsmirror.sites, and "feed"
#: (posts made from the feed items themselves; YouTube feeds are recognised by their content).
PARSERS = frozenset({"cna", "generic", "feed"})
#: ``author``: the item's own author (else the label), as the replaced system did; or the label.
AUTHOR_CHOICES = ("item", "label")
#: Hosts a page parser's articles live on, allowed even when the entry points are elsewhere
#: (CNA's feeds are on feeds.feedburner.com).
_HOME_HOSTS = {"cna": ("www.cna.com.tw",)}

_URL_LISTS = ("sitemaps", "feeds", "list_pages")
_REQUIRED = ("name", "label", "parser")
_OPTIONAL = ("allow_domains", "timezone", "author", "fetch_summary_only")
_KEYS = frozenset(_REQUIRED + _URL_LISTS + _OPTIONAL)
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_HOST_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$", re.IGNORECASE)
_DEFAULT_NAME = "newsmirror/sources.toml (packaged default)"


class SourcesError(ValueError):
    """A sources file (or command-line source) is unusable; the message names file and key."""


@dataclass(frozen=True)
class Source:
    """One site to discover articles on, and how."""

    name: str  # unique key, e.g. "cna"
    label: str  # written to author/tags/categories of its posts
    parser: str  # site parser key, one of PARSERS
    sitemaps: tuple[str, ...]
    feeds: tuple[str, ...]
    list_pages: tuple[str, ...]
    allow_domains: tuple[str, ...]  # article hosts (subdomains included), like Scrapy's allowed_domains
    timezone: str | None = None  # IANA zone of times written without an offset
    author: str = "item"  # one of AUTHOR_CHOICES
    fetch_summary_only: bool = False  # parser "feed": fetch the page of items that carry only a summary

    @property
    def zone(self) -> tzinfo:
        """Zone for times without an offset: ``timezone``, else CNA's for CNA, else the zone of
        the entry points' country domain (``.cn`` -> Asia/Shanghai), else UTC."""
        if self.timezone:
            return zone_named(self.timezone)
        if self.parser == "cna":
            return TAIPEI
        return zone_for(None, urlsplit(self.entry_urls[0]).hostname if self.entry_urls else None)

    @property
    def entry_urls(self) -> tuple[str, ...]:
        """All discovery URLs: sitemaps, then feeds, then list pages."""
        return self.sitemaps + self.feeds + self.list_pages


# --------------------------------------------------------------------------- loading


def load_sources(path: str | Path | None = None) -> list[Source]:
    """Read and validate a sources file; ``None`` reads the packaged default.

    Raises :class:`SourcesError` naming the file (and the line, for TOML syntax errors or the
    ``[[source]]`` table at fault) and the offending key.
    """
    if path is None:
        where = _DEFAULT_NAME
        try:
            raw = resources.files("newsmirror").joinpath("sources.toml").read_bytes()
        except OSError as exc:
            raise SourcesError(f"{where}: cannot read it: {exc}") from None
    else:
        where = str(path)
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise SourcesError(f"{where}: cannot read it: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourcesError(f"{where}: not UTF-8 (TOML files must be): {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        prefix = f"{where}:{line}" if line else where
        raise SourcesError(f"{prefix}: invalid TOML: {exc}") from None
    return _parse_document(data, where, _table_lines(text))


def _line_from_message(message: str) -> int | None:
    m = re.search(r"at line (\d+)", message)
    return int(m[1]) if m else None


def _table_lines(text: str) -> list[int]:
    """Line numbers of the ``[[source]]`` headers, to point error messages at a table."""
    return [
        n
        for n, line in enumerate(text.splitlines(), 1)
        if re.match(r"^\s*\[\[\s*source\s*\]\]\s*(#.*)?$", line)
    ]


def _parse_document(data: dict[str, Any], where: str, lines: list[int]) -> list[Source]:
    unknown = sorted(set(data) - {"source"})
    if unknown:
        raise SourcesError(
            f"{where}: unknown top-level key {unknown[0]!r}{_did_you_mean(unknown[0], ['source'])}; "
            "sources are [[source]] tables"
        )
    tables = data.get("source")
    if tables is None:
        raise SourcesError(f"{where}: no [[source]] table")
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise SourcesError(f"{where}: 'source' must be [[source]] tables")
    if not tables:
        raise SourcesError(f"{where}: no [[source]] table")
    use_lines = len(lines) == len(tables)  # else tables were written inline; no line numbers
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for i, table in enumerate(tables):
        place = f"{where}:{lines[i]}" if use_lines else where
        source = _parse_table(table, place, i + 1)
        if source.name in seen:
            raise SourcesError(
                f"{place}: source #{i + 1}: key 'name': {source.name!r} is already used by "
                f"source #{seen[source.name]}; names must be unique"
            )
        seen[source.name] = i + 1
        sources.append(source)
    return sources


def _parse_table(table: dict[str, Any], place: str, number: int) -> Source:
    name = table.get("name")
    what = f"source {name!r}" if isinstance(name, str) and name else f"source #{number}"

    def fail(key: str, problem: str) -> SourcesError:
        return SourcesError(f"{place}: {what}: key {key!r}: {problem}")

    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key{_did_you_mean(unknown[0], sorted(_KEYS))}")
    for key in _REQUIRED:
        if key not in table:
            raise fail(key, "missing (required)")

    for key in ("name", "label", "parser"):
        if not isinstance(table[key], str) or not table[key].strip():
            raise fail(key, f"must be a non-empty string, got {_describe(table[key])}")
    if not _NAME_RE.match(table["name"]):
        raise fail("name", f"{table['name']!r}: use lowercase letters, digits, '-' and '_'")
    if table["parser"] not in PARSERS:
        raise fail("parser", f"{table['parser']!r} is not one of {', '.join(sorted(PARSERS))}")

    lists: dict[str, tuple[str, ...]] = {}
    for key in (*_URL_LISTS, "allow_domains"):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(key, f"must be a list of strings, got {_describe(value)}")
        items = tuple(v.strip() for v in value)
        for item in items:
            problem = _check_host(item) if key == "allow_domains" else _check_url(item)
            if problem:
                raise fail(key, problem)
        duplicates = sorted({v for v in items if items.count(v) > 1})
        if duplicates:
            raise fail(key, f"{duplicates[0]!r} is listed twice")
        lists[key] = items

    if not any(lists[key] for key in _URL_LISTS):
        raise SourcesError(
            f"{place}: {what}: no entry point: keys 'sitemaps', 'feeds' and 'list_pages' "
            "are all empty or missing; give at least one URL"
        )
    if "allow_domains" in table and not lists["allow_domains"]:
        raise fail("allow_domains", "must name at least one host articles live on")
    domains = lists["allow_domains"] or _default_domains(table["parser"], _entry_urls(lists))

    timezone = table.get("timezone")
    if timezone is not None:
        if not isinstance(timezone, str) or not timezone.strip():
            raise fail("timezone", f"must be an IANA zone name, not {_describe(timezone)}")
        try:
            zone_named(timezone.strip())
        except ValueError as exc:
            raise fail("timezone", str(exc)) from None
        timezone = timezone.strip()
    author = table.get("author", "item")
    if author not in AUTHOR_CHOICES:
        raise fail("author", f"{author!r} is not one of {', '.join(AUTHOR_CHOICES)}")
    fetch_summary_only = table.get("fetch_summary_only", False)
    if not isinstance(fetch_summary_only, bool):
        raise fail("fetch_summary_only", f"must be true or false, got {_describe(fetch_summary_only)}")
    if fetch_summary_only and table["parser"] != "feed":
        raise fail("fetch_summary_only", 'only means something for parser = "feed"')

    return Source(
        name=table["name"],
        label=table["label"].strip(),
        parser=table["parser"],
        sitemaps=lists["sitemaps"],
        feeds=lists["feeds"],
        list_pages=lists["list_pages"],
        allow_domains=domains,
        timezone=timezone,
        author=author,
        fetch_summary_only=fetch_summary_only,
    )


def _entry_urls(lists: dict[str, tuple[str, ...]]) -> list[str]:
    return [u for key in _URL_LISTS for u in lists[key]]


def _default_domains(parser: str, urls: Iterable[str]) -> tuple[str, ...]:
    """The parser's home hosts and the entry points' hosts (articles usually live beside them)."""
    hosts = [*_HOME_HOSTS.get(parser, ()), *((urlsplit(u).hostname or "").lower() for u in urls)]
    return tuple(dict.fromkeys(h for h in hosts if h))


# --------------------------------------------------------------------------- checks


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _did_you_mean(key: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_url(url: str) -> str | None:
    """Problem with an entry URL, or ``None`` if it is usable."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"{url!r}: only http:// and https:// URLs are allowed"
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return f"{url!r}: malformed host or port"
    if not host:
        return f"{url!r}: no host name"
    if _is_cna_host(host) and parts.path.lower().startswith("/cna2018api/"):
        return f"{url!r}: CNA's JSON API is disallowed by its robots.txt; use sitemaps or feeds"
    return None


def _check_host(host: str) -> str | None:
    """Problem with an allow_domains entry: bare host names only, as Scrapy's OffsiteMiddleware
    ignores entries with a scheme, path or port."""
    if "://" in host or "/" in host:
        return f"{host!r}: give a host name such as 'www.cna.com.tw', not a URL"
    if ":" in host:
        return f"{host!r}: give a host name without a port"
    if not _HOST_RE.match(host):
        return f"{host!r}: not a host name"
    return None


# --------------------------------------------------------------------------- command line


def _is_cna_host(host: str) -> bool:
    host = host.lower()
    return host == "cna.com.tw" or host.endswith(".cna.com.tw")


def _is_cna_url(url: str) -> bool:
    """CNA's own site or its Feedburner feeds (``feeds.feedburner.com/rsscna/...``)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if _is_cna_host(host):
        return True
    return host.endswith("feedburner.com") and parts.path.lower().startswith("/rsscna/")


def source_from_urls(
    sitemaps: Iterable[str] = (),
    feeds: Iterable[str] = (),
    label: str | None = None,
    *,
    list_pages: Iterable[str] = (),
    parser: str | None = None,
    allow_domains: Iterable[str] | None = None,
) -> Source:
    """A one-off source for ``crawl --sitemap URL --feed URL`` without a sources file.

    If every URL is CNA's (www.cna.com.tw or its ``rsscna`` Feedburner feeds) the source is
    CNA's: name ``cna``, label ``(臺)中央社CNA``, parser ``cna``, articles on www.cna.com.tw.
    So is one whose ``parser`` is ``"cna"`` (a copy of CNA served elsewhere is still CNA: its
    posts get CNA's label, not the host name).  Otherwise name, label and allowed domain come
    from the hosts of the URLs and the parser is ``generic``; pass ``allow_domains`` when the
    feed lives on another host than the articles.
    Raises :class:`SourcesError` for bad URLs.
    """
    where = "command line"
    lists = {
        "sitemaps": tuple(u.strip() for u in sitemaps),
        "feeds": tuple(u.strip() for u in feeds),
        "list_pages": tuple(u.strip() for u in list_pages),
    }
    for key, urls in lists.items():
        for url in urls:
            if problem := _check_url(url):
                raise SourcesError(f"{where}: {key}: {problem}")
    urls = [u for key in _URL_LISTS for u in lists[key]]
    if not urls:
        raise SourcesError(f"{where}: no entry point: give at least one sitemap or feed URL")

    is_cna = all(_is_cna_url(u) for u in urls) if parser is None else parser == "cna"
    hosts = list(dict.fromkeys((urlsplit(u).hostname or "").lower() for u in urls))
    if allow_domains is not None:
        domains = tuple(d.strip() for d in allow_domains)
    elif is_cna and all(_is_cna_url(u) for u in urls):
        domains = ("www.cna.com.tw",)
    else:
        domains = _default_domains(parser or "generic", urls) if is_cna else tuple(hosts)
    for domain in domains:
        if problem := _check_host(domain):
            raise SourcesError(f"{where}: allow_domains: {problem}")
    if not domains:
        raise SourcesError(f"{where}: allow_domains: must name at least one host")
    parser = parser or ("cna" if is_cna else "generic")
    if parser not in PARSERS:
        raise SourcesError(f"{where}: parser: {parser!r} is not one of {', '.join(sorted(PARSERS))}")

    return Source(
        name="cna" if is_cna else re.sub(r"[^a-z0-9]+", "-", hosts[0]).strip("-") or "source",
        label=label.strip() if label and label.strip() else (CNA_LABEL if is_cna else hosts[0]),
        parser=parser,
        sitemaps=tuple(dict.fromkeys(lists["sitemaps"])),
        feeds=tuple(dict.fromkeys(lists["feeds"])),
        list_pages=tuple(dict.fromkeys(lists["list_pages"])),
        allow_domains=tuple(dict.fromkeys(domains)),
    )


# --------------------------------------------------------------------------- migration


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


_NOISE_SEGMENTS = frozenset({"rss", "feed", "feeds", "xml", "index", "default", "posts", "atom", "videos"})


def _name_for(label: str, url: str) -> str:
    """A source name (ASCII key) for a label: its Latin part (``CNA``, ``BBC``, ``medium``), else
    what the feed URL says (``zaobao-realtime-china``, ``youtube-uuhhalrw7rmxg42fgiwidda``)."""
    latin = _slug(label)
    if len(re.sub(r"[^a-z]", "", latin)) >= 3:
        return latin[:40].strip("-")
    parts = urlsplit(url)
    query = dict(re.findall(r"([^&=]+)=([^&]*)", parts.query))
    host = (parts.hostname or "").lower()
    if host.endswith("youtube.com"):
        ident = query.get("playlist_id") or query.get("channel_id") or query.get("user") or ""
        return f"youtube-{_slug(ident)}"[:60].strip("-")
    segments = [re.sub(r"\.(xml|rss|atom|php|aspx?)$", "", s) for s in parts.path.split("/")]
    words = [s for s in segments if s and s.lower() not in _NOISE_SEGMENTS] + list(query.values())
    core = re.sub(r"^(www|feeds?|rss)\.", "", host).rpartition(".")[0]
    if core and not re.match(r"^(rsshub|feedx)", core):  # feed proxies say nothing of the source
        words.insert(0, core)
    name = _slug("-".join(words)) or _slug(host)
    return name[:40].strip("-") or "source"


def sources_from_subs(
    documents: Iterable[tuple[str, Any]],
) -> tuple[list[Source], list[str]]:
    """The replaced system's ``subs.json`` lists -> full-text feed sources, one per label.

    ``documents`` are ``(file name, parsed JSON)`` pairs: lists of ``{"site": label, "url": feed}``.
    Labels keep their first-seen order across files; a label used in several files (or several
    times) becomes one source with all its feeds.  Returns the sources and one error line per
    unusable entry (naming file and entry), so one bad entry never stops the migration.
    """
    feeds: dict[str, list[str]] = {}
    errors: list[str] = []
    for where, data in documents:
        if not isinstance(data, list):
            errors.append(f"{where}: expected a JSON list of {{\"site\": ..., \"url\": ...}} objects")
            continue
        for i, entry in enumerate(data, 1):
            label = entry.get("site") if isinstance(entry, dict) else None
            url = entry.get("url") if isinstance(entry, dict) else None
            if not isinstance(label, str) or not label.strip():
                errors.append(f"{where}: entry #{i}: no \"site\" label")
                continue
            if not isinstance(url, str) or not url.strip():
                errors.append(f"{where}: entry #{i} ({label.strip()}): no \"url\" (the replaced system "
                              "scraped it with custom code; add its feed by hand)")
                continue
            if problem := _check_url(url.strip()):
                errors.append(f"{where}: entry #{i} ({label.strip()}): {problem}")
                continue
            urls = feeds.setdefault(label.strip(), [])
            if url.strip() not in urls:
                urls.append(url.strip())
    sources: list[Source] = []
    names: set[str] = set()
    for label, urls in feeds.items():
        base = _name_for(label, urls[0])
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.add(name)
        sources.append(
            Source(name=name, label=label, parser="feed", sitemaps=(), feeds=tuple(urls), list_pages=(),
                   allow_domains=_default_domains("feed", urls))
        )
    return sources, errors


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m[0]):04x}", escaped)
    return f'"{escaped}"'


def dump_sources(sources: Iterable[Source], header: str = "") -> str:
    """A sources file (TOML) for ``sources``; :func:`load_sources` reads it back unchanged."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for source in sources:
        lines += ["", "[[source]]", f"name = {_toml_string(source.name)}",
                  f"label = {_toml_string(source.label)}", f"parser = {_toml_string(source.parser)}"]
        for key in _URL_LISTS:
            urls = getattr(source, key)
            if urls:
                lines.append(f"{key} = [")
                lines += [f"    {_toml_string(u)}," for u in urls]
                lines.append("]")
        if source.parser != "feed" and source.allow_domains:
            lines.append(f"allow_domains = [{', '.join(_toml_string(d) for d in source.allow_domains)}]")
        if source.timezone:
            lines.append(f"timezone = {_toml_string(source.timezone)}")
        if source.author != "item":
            lines.append(f"author = {_toml_string(source.author)}")
        if source.fetch_summary_only:
            lines.append("fetch_summary_only = true")
    return "\n".join(lines).lstrip("\n") + "\n"


def parse_sources_text(text: str, where: str) -> list[Source]:
    """Validate sources given as TOML text (``where`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourcesError(f"{where}: invalid TOML: {exc}") from None
    return _parse_document(data, where, _table_lines(text))
