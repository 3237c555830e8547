"""The data flow, in ``ITEM_PIPELINES`` order: skip -> extract -> clean -> dedupe -> write.

Each stage is a small class with one job, testable offline by calling ``process_item``.
"""

from .clean import CleanPipeline
from .dedupe import DedupePipeline
from .extract import ExtractPipeline
from .skip import SkipUnchangedPipeline
from .write import WritePipeline

__all__ = ["CleanPipeline", "DedupePipeline", "ExtractPipeline", "SkipUnchangedPipeline", "WritePipeline"]
