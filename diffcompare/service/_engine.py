"""The engine internals the service reaches past the public API for, in one place.

Only worker processes import this module (it loads torch and SymPy); the app process never
does. When the engine's modules move, the import paths change here and nowhere else.
"""

from __future__ import annotations

from diffcompare.engine import compare
from diffcompare.errors import DiffCompareError, InputError, LimitError, ParseError, UsageError
from diffcompare.explanation.build import explain
from diffcompare.language.parser import parse
from diffcompare.language.problem import Problem
from diffcompare.render.explanation import render as render_explanation
from diffcompare.render.explanation import to_dot
from diffcompare.render.graphviz import GraphvizMissing, dot_to_svg
from diffcompare.sweep import REFERENCED, sweep

__all__ = [
    "REFERENCED",
    "DiffCompareError",
    "GraphvizMissing",
    "InputError",
    "LimitError",
    "ParseError",
    "Problem",
    "UsageError",
    "compare",
    "dot_to_svg",
    "explain",
    "parse",
    "render_explanation",
    "sweep",
    "to_dot",
]
