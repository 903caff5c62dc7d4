"""Batch runs: corpora of expressions compared on a local process pool or a Dask cluster,
one JSON line in and one out per item (`diffcompare batch`, `diffcompare corpus`)."""

from __future__ import annotations

from diffcompare.batch.items import Item, read_items
from diffcompare.batch.run import DEADLINE, run
from diffcompare.batch.summary import Summary
from diffcompare.batch.work import BatchError, result_fields

__all__ = ["DEADLINE", "BatchError", "Item", "Summary", "read_items", "result_fields", "run"]
