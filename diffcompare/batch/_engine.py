"""The engine internals the batch runner uses, imported in this one place (so a move of the
engine's modules is one edit here)."""

from __future__ import annotations

from diffcompare.engine import prepared_setup as prepare
from diffcompare.errors import DiffCompareError, UsageError
from diffcompare.language.ops import FUNCTIONS, Op
from diffcompare.language.parser import parse, parse_shapes
from diffcompare.oracle.generate import ExpressionGenerator
from diffcompare.paths.targets import make_target
from diffcompare.sampling import sample as _sample
from diffcompare.verdict import DISAGREE, VERDICTS

__all__ = [
    "ExpressionGenerator",
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
