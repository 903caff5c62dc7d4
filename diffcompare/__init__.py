"""diffcompare: one expression, differentiated by SymPy, by autograd and by finite differences."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .comparison import compare
    from .explanation import Explanation, explain
    from .oracle.check import check
    from .oracle.report import CheckReport
    from .parser import parse
    from .problem import Problem
    from .report import Report

__all__ = [
    "CheckReport",
    "DiffCompareError",
    "Explanation",
    "Problem",
    "Report",
    "check",
    "compare",
    "explain",
    "parse",
    "__version__",
]

from .errors import DiffCompareError

# Lazy re-exports: `import diffcompare` and `diffcompare --help` must not pay for torch.
_LAZY = {
    "check": "oracle.check",
    "CheckReport": "oracle.report",
    "compare": "comparison",
    "explain": "explanation",
    "Explanation": "explanation",
    "parse": "parser",
    "Problem": "problem",
    "Report": "report",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'diffcompare' has no attribute {name!r}")
