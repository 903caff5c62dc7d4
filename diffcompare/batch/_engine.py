"""The engine internals the batch runner uses, imported in this one place (so a move of the
engine's modules is one edit here)."""

from __future__ import annotations

from ..comparison import _sample, prepare
from ..errors import DiffCompareError, UsageError
from ..ops import FUNCTIONS, Op
from ..parser import parse, parse_shapes
from ..report import DISAGREE, VERDICTS
from ..targets import make_target

__all__ = [
    "DISAGREE",
    "FUNCTIONS",
    "VERDICTS",
    "DiffCompareError",
    "Op",
    "UsageError",
    "_sample",
    "make_target",
    "parse",
    "parse_shapes",
    "prepare",
]
