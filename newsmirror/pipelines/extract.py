"""Page -> Article: pick the site parser from the page itself and read the fields."""

from __future__ import annotations

from typing import Any

from ..items import Page
from ..report import PageFailed
from ..runtime import Runtime
from ..sites import NotAnArticle, extract


class ExtractPipeline:
    def __init__(self, label: str | None = None) -> None:
        self.label = label

    @classmethod
    def from_crawler(cls, crawler: Any) -> ExtractPipeline:
        return cls(Runtime.of(crawler).label)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, Page):
            return item
        try:
            article = extract(item, default_label=self.label)
        except NotAnArticle as exc:
            raise PageFailed(str(exc)) from exc
        article.source = item.source
        return article
