"""Sanitize the body (see :mod:`newsmirror.clean`) and read the lead figure from it.

An Article already cleaned in an extraction worker process (``--jobs``) passes through."""

from __future__ import annotations

from typing import Any

from ..items import Article
from ..parallel import clean_article


class CleanPipeline:
    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, Article):
            return item
        return clean_article(item)
