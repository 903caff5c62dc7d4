"""The engine internals gradcheck and conform use, imported in this one place (so a move of the
engine's modules is one edit here)."""

from __future__ import annotations

from ..comparison import compare
from ..error_model import SAFETY, eps
from ..errors import DiffCompareError, UsageError
from ..finite_differences import COMPLEX_STEP, FD_SAFETY, STEP_SCALES
from ..finite_differences import _choose as choose_step
from ..finite_differences import _truncation as truncation
from ..ops import BY_NODE, FUNCTIONS, OPS, Op
from ..parser import parse
from ..problem import Problem

__all__ = [
    "BY_NODE",
    "COMPLEX_STEP",
    "FD_SAFETY",
    "FUNCTIONS",
    "OPS",
    "SAFETY",
    "STEP_SCALES",
    "DiffCompareError",
    "Op",
    "Problem",
    "UsageError",
    "choose_step",
    "compare",
    "eps",
    "parse",
    "truncation",
]
