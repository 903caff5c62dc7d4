"""The engine internals the oracle uses, imported in this one place (so a move of the engine's
modules is one edit here)."""

from __future__ import annotations

from ..comparison import Setup, compare, prepare
from ..comparison import _usable as usable
from ..errors import DiffCompareError, UsageError
from ..ops import FUNCTIONS, Op
from ..parser import parse
from ..problem import Problem, point_values
from ..reference import reference
from ..report import Report
from ..sweep import parse_domain

__all__ = [
    "FUNCTIONS",
    "DiffCompareError",
    "Op",
    "Problem",
    "Report",
    "Setup",
    "UsageError",
    "compare",
    "parse",
    "parse_domain",
    "point_values",
    "prepare",
    "reference",
    "usable",
]
