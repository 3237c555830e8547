"""Zone-aware dates the pages show, one identity per article URL, and the seen-store's aliases."""

from __future__ import annotations

import pytest

from newsmirror.dates import UTC, parse_datetime, parse_visible_date, zone_for, zone_named
from newsmirror.state import SeenRecord, SeenStore
from newsmirror.urlnorm import clean_url, identity_url

SHANGHAI = zone_named("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024年04月24日23:52 | 来源：新华网", "2024-04-24T23:52:00+08:00"),
        ("发布时间：2024年4月24日 下午3:05", "2024-04-24T15:05:00+08:00"),
        ("2025年1月13日 21時37分", "2025-01-13T21:37:00+08:00"),
        ("2024年4月24日", "2024-04-24T00:00:00+08:00"),
        ("Stand: 22.04.2024, 16:10 Uhr", "2024-04-22T16:10:00+08:00"),
        ("Published April 24, 2024 11:52 PM", "2024-04-24T23:52:00+08:00"),
        ("24 April 2024 at 09:00", "2024-04-24T09:00:00+08:00"),
        ("Updated 24 Apr 2024 09:00 GMT", "2024-04-24T09:00:00+00:00"),
        ("2024-04-24 09:00 (UTC+8)", "2024-04-24T09:00:00+08:00"),
        ("Sept. 3, 2024, 4:03 a.m.", "2024-09-03T04:03:00+08:00"),
    ],
)
def test_visible_dates_in_the_source_zone(text, expected):
    value = parse_visible_date(text, SHANGHAI)
    assert value is not None and value.isoformat() == expected


@pytest.mark.parametrize("text", ["", "no date here", "2024年2月30日", "31.02.2024", "phone 2024-99-99"])
def test_unreadable_visible_dates_are_none(text):
    assert parse_visible_date(text, SHANGHAI) is None


def test_zone_for_source_then_country_domain_then_utc():
    assert zone_for("Europe/Paris", "www.people.com.cn") == zone_named("Europe/Paris")
    assert zone_for(None, "www.people.com.cn") == SHANGHAI
    assert zone_for(None, "www.asahi.com") == UTC
    with pytest.raises(ValueError, match="not a known IANA time zone"):
        zone_named("Asia/Atlantis")


def test_zone_aware_dst_and_non_english_feed_dates():
    paris = zone_named("Europe/Paris")
    assert parse_datetime("2024-07-01T09:00:00", default_tz=paris).isoformat() == "2024-07-01T09:00:00+02:00"
    assert parse_datetime("2024-01-01T09:00:00", default_tz=paris).isoformat() == "2024-01-01T09:00:00+01:00"
    assert parse_datetime("Seg, 24 Set 2018 19:42:40 -0300").isoformat() == "2018-09-24T19:42:40-03:00"
    assert parse_datetime("Mi, 03 Okt 2018 10:00:00 +0200").isoformat() == "2018-10-03T10:00:00+02:00"


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.example.com/news/a-story",
        "HTTPS://WWW.Example.COM/news/a-story/",
        "http://example.com/news/a-story?utm_source=rss&utm_medium=feed",
        "https://m.example.com/news/a-story?fbclid=abc",
        "https://amp.example.com/news/a-story/amp/",
        "https://www.example.com/news/a-story?gclid=1#comments",
        "https://www.example.com:443/news/a-story?amp=1",
    ],
)
def test_every_url_form_of_an_article_has_one_identity(variant):
    assert identity_url(variant) == "https://example.com/news/a-story"


def test_clean_url_keeps_identifying_parameters_and_the_host():
    assert clean_url("https://www.solidot.org/story?sid=76049&utm_source=rss") == "https://www.solidot.org/story?sid=76049"
    assert clean_url("HTTP://News.Example.org:80/a?b=1&c=2#x") == "http://news.example.org/a?b=1&c=2"
    assert identity_url("https://x.test/story?sid=1") != identity_url("https://x.test/story?sid=2")


def record(site="example.com", article_id="abc", url="https://www.example.com/news/a-story"):
    return SeenRecord(site, article_id, url, "_posts/x.md", "t", "2024-01-01T00:00:00.000Z", None, "h",
                      "2024-01-01T00:00:00.000Z")


def test_aliases_remember_every_url_an_article_came_under(tmp_path):
    path = tmp_path / "state.sqlite"
    with SeenStore(path) as store:
        store.put(record())
        assert store.article_for_url("https://feeds.example.net/~r/x/~3/abc") is None
        store.add_aliases("example.com", "abc", ["https://feeds.example.net/~r/x/~3/abc", "not a url",
                                                 "https://www.example.com/news/a-story?utm_source=rss"])
        # any form of a remembered URL finds the article
        assert store.article_for_url("http://m.example.com/news/a-story/?fbclid=x") == ("example.com", "abc")
    with SeenStore(path) as store:  # kept on disk; the old API is untouched
        assert store.article_for_url("https://feeds.example.net/~r/x/~3/abc") == ("example.com", "abc")
        assert store.get("example.com", "abc").url == "https://www.example.com/news/a-story"
        assert len(store) == 1
