"""Sources files: the packaged default, every validation error, custom files, command-line URLs."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from newsmirror.sources import CNA_LABEL, Source, SourcesError, load_sources, source_from_urls

SLUGS = [
    "politics",
    "intworld",
    "mainland",
    "finance",
    "technology",
    "lifehealth",
    "social",
    "local",
    "culture",
    "sport",
    "stars",
]


def test_packaged_default() -> None:
    assert resources.files("newsmirror").joinpath("sources.toml").is_file()
    sources = load_sources()
    assert sources == [
        Source(
            name="cna",
            label="(臺)中央社CNA",
            parser="cna",
            sitemaps=(
                "https://www.cna.com.tw/GoogleNewsSitemap_fromRemote_cfp.xml",
                "https://www.cna.com.tw/sitemap_fromRemote_cfp.xml",
            ),
            feeds=tuple(f"https://feeds.feedburner.com/rsscna/{slug}" for slug in SLUGS),
            list_pages=(),
            allow_domains=("www.cna.com.tw",),
        )
    ]
    cna = sources[0]
    assert len(cna.feeds) == 11
    assert cna.entry_urls == cna.sitemaps + cna.feeds
    assert not any("cna2018api" in url for url in cna.entry_urls)  # the JSON API is never used


VALID = """\
[[source]]
name = "cna"
label = "(臺)中央社CNA"
parser = "cna"
feeds = ["https://feeds.feedburner.com/rsscna/politics"]
allow_domains = ["www.cna.com.tw"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my-sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def with_line(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # TOML syntax: the line comes from tomllib
        ('[[source]]\nlabel = "CNA"\nname = cna\n', ":3: invalid TOML: Invalid value (at line 3, column 8)"),
        # document shape
        ("", "no [[source]] table"),
        ("source = []\n", "no [[source]] table"),
        ('source = "cna"\n', "'source' must be [[source]] tables"),
        ('sources = "x"\n' + VALID, "unknown top-level key 'sources' (did you mean 'source'?)"),
        # keys
        (with_line("feeds =", "feed ="), ":1: source 'cna': key 'feed': unknown key (did you mean 'feeds'?)"),
        (with_line('name = "cna"\n', ""), ":1: source #1: key 'name': missing (required)"),
        (with_line('label = "(臺)中央社CNA"\n', ""), "source 'cna': key 'label': missing (required)"),
        (with_line('parser = "cna"\n', ""), "source 'cna': key 'parser': missing (required)"),
        # types and values
        (
            with_line('name = "cna"', "name = 1"),
            "source #1: key 'name': must be a non-empty string, got int 1",
        ),
        (with_line('name = "cna"', 'name = "CNA news"'), "key 'name': 'CNA news': use lowercase letters"),
        (with_line('label = "(臺)中央社CNA"', 'label = "  "'), "key 'label': must be a non-empty string"),
        (with_line('parser = "cna"', 'parser = "bbc"'), "key 'parser': 'bbc' is not one of cna, feed, generic"),
        (
            with_line("feeds = [", 'sitemaps = "https://www.cna.com.tw/sitemap.xml"\nfeeds = ['),
            "key 'sitemaps': must be a list of strings, got str",
        ),
        (
            with_line("feeds = [", "list_pages = [1]\nfeeds = ["),
            "key 'list_pages': must be a list of strings",
        ),
        (
            with_line("https://feeds.feedburner.com/rsscna/politics", "ftp://feeds.feedburner.com/rsscna"),
            "key 'feeds': 'ftp://feeds.feedburner.com/rsscna': only http:// and https:// URLs are allowed",
        ),
        (
            with_line("https://feeds.feedburner.com/rsscna/politics", "feeds.feedburner.com/rsscna/politics"),
            "key 'feeds': 'feeds.feedburner.com/rsscna/politics': only http:// and https://",
        ),
        (
            with_line("https://feeds.feedburner.com/rsscna/politics", "https:///x"),
            "key 'feeds': 'https:///x': no host",
        ),
        (
            with_line("https://feeds.feedburner.com/rsscna/politics", "https://x.test:port/"),
            "key 'feeds': 'https://x.test:port/': malformed host or port",
        ),
        (
            with_line(
                "feeds = [",
                'list_pages = ["https://www.cna.com.tw/cna2018api/api/WNewsList"]\nfeeds = [',
            ),
            "key 'list_pages': 'https://www.cna.com.tw/cna2018api/api/WNewsList': "
            "CNA's JSON API is disallowed",
        ),
        (
            with_line(
                '"https://feeds.feedburner.com/rsscna/politics"',
                '"https://feeds.feedburner.com/rsscna/politics", "https://feeds.feedburner.com/rsscna/politics"',
            ),
            "key 'feeds': 'https://feeds.feedburner.com/rsscna/politics' is listed twice",
        ),
        (
            with_line('feeds = ["https://feeds.feedburner.com/rsscna/politics"]', "feeds = []"),
            "source 'cna': no entry point: keys 'sitemaps', 'feeds' and 'list_pages' are all empty",
        ),
        (
            with_line('"www.cna.com.tw"', '"https://www.cna.com.tw/"'),
            "key 'allow_domains': 'https://www.cna.com.tw/': "
            "give a host name such as 'www.cna.com.tw', not a URL",
        ),
        (
            with_line('"www.cna.com.tw"', '"127.0.0.1:8080"'),
            "key 'allow_domains': '127.0.0.1:8080': give a host name without a port",
        ),
        (with_line('"www.cna.com.tw"', '"www cna"'), "key 'allow_domains': 'www cna': not a host name"),
        (
            with_line('allow_domains = ["www.cna.com.tw"]', "allow_domains = []"),
            "key 'allow_domains': must name at least one host",
        ),
        # across tables: the line of the second [[source]] header
        (VALID + "\n" + VALID, ":8: source #2: key 'name': 'cna' is already used by source #1"),
    ],
)
def test_validation_errors_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SourcesError) as info:
        load_sources(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert expected in message


def test_inline_tables_have_no_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path, 'source = [{name = "x", label = "X", parser = "generic", allow_domains = ["x.test"]}]\n'
    )
    with pytest.raises(SourcesError) as info:
        load_sources(path)
    assert str(info.value) == (
        f"{path}: source 'x': no entry point: keys 'sitemaps', 'feeds' and 'list_pages' "
        "are all empty or missing; give at least one URL"
    )


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(SourcesError, match=r"nope\.toml: cannot read it: No such file"):
        load_sources(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "big5.toml"
    path.write_bytes(VALID.encode("big5"))
    with pytest.raises(SourcesError, match=r"big5\.toml: not UTF-8"):
        load_sources(path)


def test_custom_file_round_trips(tmp_path: Path) -> None:
    expected = [
        Source(
            name="cna",
            label="(臺)中央社CNA",
            parser="cna",
            sitemaps=("https://www.cna.com.tw/sitemap_fromRemote_cfp.xml",),
            feeds=(),
            list_pages=("https://www.cna.com.tw/list/aall.aspx", "https://www.cna.com.tw/list/aipl.aspx"),
            allow_domains=("www.cna.com.tw",),
        ),
        Source(
            name="example_news-2",
            label="Example News",
            parser="generic",
            sitemaps=(),
            feeds=("http://127.0.0.1:8080/feed.atom", "https://news.example.org/rss.xml"),
            list_pages=(),
            allow_domains=("127.0.0.1", "news.example.org"),
        ),
    ]

    def toml_list(values: tuple[str, ...]) -> str:
        return "[" + ", ".join(f'"{v}"' for v in values) + "]"

    text = "# my sources\n\n" + "\n".join(
        f"""[[source]]  # {s.name}
name = "{s.name}"
label = "{s.label}"
parser = "{s.parser}"
sitemaps = {toml_list(s.sitemaps)}
feeds = {toml_list(s.feeds)}
list_pages = {toml_list(s.list_pages)}
allow_domains = {toml_list(s.allow_domains)}
"""
        for s in expected
    )
    path = write(tmp_path, text)
    assert load_sources(path) == expected
    assert load_sources(str(path)) == expected  # str paths too


def test_optional_lists_default_to_empty(tmp_path: Path) -> None:
    (source,) = load_sources(write(tmp_path, VALID))
    assert source.sitemaps == ()
    assert source.list_pages == ()
    assert source.feeds == ("https://feeds.feedburner.com/rsscna/politics",)


# --------------------------------------------------------------------------- command line


def test_source_from_cna_urls() -> None:
    source = source_from_urls(
        sitemaps=["https://www.cna.com.tw/sitemap_fromRemote_cfp.xml"],
        feeds=[
            "https://feeds.feedburner.com/rsscna/politics",
            "https://feeds.feedburner.com/rsscna/politics",
        ],
    )
    assert source == Source(
        name="cna",
        label=CNA_LABEL,
        parser="cna",
        sitemaps=("https://www.cna.com.tw/sitemap_fromRemote_cfp.xml",),
        feeds=("https://feeds.feedburner.com/rsscna/politics",),  # repeated URL given once
        list_pages=(),
        allow_domains=("www.cna.com.tw",),
    )
    assert CNA_LABEL == "(臺)中央社CNA"


def test_source_from_other_urls_uses_the_host() -> None:
    source = source_from_urls(feeds=["https://news.example.org/rss.xml"])
    assert (source.name, source.label, source.parser, source.allow_domains) == (
        "news-example-org",
        "news.example.org",
        "generic",
        ("news.example.org",),
    )
    # one non-CNA URL makes the whole source non-CNA
    mixed = source_from_urls(
        sitemaps=["http://127.0.0.1:8765/sitemap.xml"], feeds=["https://feeds.feedburner.com/rsscna/politics"]
    )
    assert (mixed.name, mixed.label, mixed.parser) == ("127-0-0-1", "127.0.0.1", "generic")
    assert mixed.allow_domains == ("127.0.0.1", "feeds.feedburner.com")


def test_source_from_urls_overrides() -> None:
    source = source_from_urls(
        sitemaps=["http://127.0.0.1:8765/sitemap.xml"],
        label=" 測試 ",
        parser="cna",
        allow_domains=["127.0.0.1"],
        list_pages=["http://127.0.0.1:8765/list/aall.aspx"],
    )
    assert (source.label, source.parser, source.allow_domains) == ("測試", "cna", ("127.0.0.1",))
    assert source.list_pages == ("http://127.0.0.1:8765/list/aall.aspx",)
    assert source.entry_urls == ("http://127.0.0.1:8765/sitemap.xml", "http://127.0.0.1:8765/list/aall.aspx")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "command line: no entry point"),
        (
            {"feeds": ["file:///tmp/feed.xml"]},
            "command line: feeds: 'file:///tmp/feed.xml': only http:// and https://",
        ),
        (
            {"sitemaps": ["https://www.cna.com.tw/cna2018api/api/WNewsList"]},
            "command line: sitemaps: 'https://www.cna.com.tw/cna2018api/api/WNewsList': "
            "CNA's JSON API is disallowed",
        ),
        (
            {"feeds": ["https://x.test/rss"], "allow_domains": ["https://x.test"]},
            "command line: allow_domains: 'https://x.test': give a host name",
        ),
        (
            {"feeds": ["https://x.test/rss"], "allow_domains": []},
            "command line: allow_domains: must name at least",
        ),
        (
            {"feeds": ["https://x.test/rss"], "parser": "bbc"},
            "command line: parser: 'bbc' is not one of cna, feed, generic",
        ),
    ],
)
def test_source_from_urls_errors(kwargs: dict, expected: str) -> None:
    with pytest.raises(SourcesError) as info:
        source_from_urls(**kwargs)
    assert str(info.value).startswith(expected)
