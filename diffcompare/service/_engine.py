"""The engine internals the service reaches past the public API for, in one place.

Only worker processes import this module (it loads torch and SymPy); the app process never
does. When the engine's modules move, the import paths change here and nowhere else.
"""

from __future__ import annotations

from ..comparison import compare
from ..deadline import OutOfTime, time_limit
from ..errors import DiffCompareError, InputError, LimitError, ParseError, UsageError
from ..explain_render import render as render_explanation
from ..explain_render import to_dot
from ..explanation import explain
from ..parser import parse
from ..problem import Problem
from ..sweep import sweep

__all__ = [
    "DiffCompareError",
    "InputError",
    "LimitError",
    "OutOfTime",
    "ParseError",
    "Problem",
    "UsageError",
    "compare",
    "explain",
    "parse",
    "render_explanation",
    "sweep",
    "time_limit",
    "to_dot",
]
