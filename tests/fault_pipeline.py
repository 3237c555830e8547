"""A pipeline stage with a bug, for tests/test_faults.py: it raises a plain exception (not
DropItem) for one article, as a real bug in a stage would."""

from __future__ import annotations

from typing import Any


class BuggyStage:
    def process_item(self, item: Any, spider: Any = None) -> Any:
        if getattr(item, "article_id", "").endswith("01"):
            raise RuntimeError("boom in a pipeline stage")
        return item
