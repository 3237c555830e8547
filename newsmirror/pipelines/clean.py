"""Sanitize the body (see :mod:`newsmirror.clean`) and read the lead figure from it."""

from __future__ import annotations

from typing import Any

from ..clean import clean_body, lead_figure
from ..health import EMPTY
from ..items import Article
from ..report import PageFailed


class CleanPipeline:
    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, Article):
            return item
        item.body_html = clean_body(item.body_html, item.url)
        if not item.body_html:
            raise PageFailed("article body is empty after cleaning", blame=EMPTY)
        item.lead_figure = lead_figure(item.body_html)
        return item
