"""The engine internals the oracle uses, imported in this one place (so a move of the engine's
modules is one edit here)."""

from __future__ import annotations

from diffcompare.engine import Setup, compare, prepare
from diffcompare.engine import _usable as usable
from diffcompare.errors import DiffCompareError, UsageError
from diffcompare.language.ops import FUNCTIONS, Op
from diffcompare.language.parser import parse
from diffcompare.language.problem import Problem, point_values
from diffcompare.paths.reference import reference
from diffcompare.report import Report
from diffcompare.sweep import parse_domain

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
