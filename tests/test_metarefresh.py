"""The meta-refresh middleware rules a refresh out from the bytes, and otherwise is Scrapy's own."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from newsmirror.scrapy_parts.metarefresh import QuickMetaRefreshMiddleware

URL = "https://www.example.com/news/1.aspx"
LATE = "<html><head><title>x</title></head><body>" + "中" * 5000 + '<meta http-equiv="refresh" content="0; url=/late">'
# (charset, page, whether Scrapy follows its refresh)
PAGES = [
    ("utf-8", '<html><head><meta http-equiv="refresh" content="0; url=/moved">', True),
    ("utf-8", "<html><head><META HTTP-EQUIV='REFRESH' CONTENT='1;URL=https://other.example/x'>", True),
    ("utf-8", "<html><head><title>中央社</title><meta name=x content=refresh></head><p>no</p>", False),
    ("utf-8", "<html><head><title>中央社</title></head><body><p>no refresh here</p></body>", False),
    ("utf-8", "<html><head><title>中央社 refreſh</title></head><body><p>ſ</p></body>", False),
    ("utf-8", LATE + '<div id="svg-refresh"></div></body>', False),  # past what Scrapy scans
    ("utf-16", '<html><head><meta http-equiv="refresh" content="0; url=/moved16">', True),
    ("cp037", '<html><head><meta http-equiv="refresh" content="0; url=/ebcdic">', True),
    ("big5", '<html><head><title>中央社</title><meta http-equiv="refresh" content="0;url=/b5">', True),
    ("utf-7", '<html><head><meta http-equiv="refresh" content="0; url=/seven">', True),
]


def middlewares() -> tuple[MetaRefreshMiddleware, MetaRefreshMiddleware]:
    crawler = get_crawler()
    return QuickMetaRefreshMiddleware.from_crawler(crawler), MetaRefreshMiddleware.from_crawler(crawler)


def outcome(result: object) -> object:
    return result.url if isinstance(result, Request) else "kept"


@pytest.mark.parametrize(("charset", "html", "follows"), PAGES, ids=[f"page{i}" for i in range(len(PAGES))])
def test_same_answer_as_scrapys_middleware(charset, html, follows):
    quick, scrapy_own = middlewares()
    body = html.encode(charset)
    headers = {"Content-Type": f"text/html; charset={charset}"}
    got = outcome(quick.process_response(Request(URL), HtmlResponse(URL, body=body, headers=headers)))
    want = outcome(scrapy_own.process_response(Request(URL), HtmlResponse(URL, body=body, headers=headers)))
    assert got == want
    assert (got != "kept") == follows


def test_a_page_without_refresh_is_not_decoded():
    quick, _ = middlewares()
    response = HtmlResponse(URL, body="<html><p>中央社</p></html>".encode(), headers={"Content-Type": "text/html"})
    assert quick.process_response(Request(URL), response) is response
    assert response._cached_ubody is None  # Scrapy's own decodes the whole body here
