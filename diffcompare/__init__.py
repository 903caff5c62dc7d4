"""diffcompare: one expression, differentiated by SymPy, by autograd and by finite differences."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from diffcompare.engine import compare
    from diffcompare.explanation.build import explain
    from diffcompare.explanation.model import Explanation
    from diffcompare.language.parser import parse
    from diffcompare.language.problem import Problem
    from diffcompare.oracle.check import check
    from diffcompare.oracle.report import CheckReport
    from diffcompare.report import Report

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

from diffcompare.errors import DiffCompareError

# Lazy re-exports: `import diffcompare` and `diffcompare --help` must not pay for torch.
_LAZY = {
    "check": "oracle.check",
    "CheckReport": "oracle.report",
    "compare": "engine",
    "explain": "explanation.build",
    "Explanation": "explanation.model",
    "parse": "language.parser",
    "Problem": "language.problem",
    "Report": "report",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'diffcompare' has no attribute {name!r}")
