"""The seeded random expression generator the corpus draws from, imported in this one place.

It is the oracle's generator (`diffcompare.oracle.generate`, moved there from the tests'
`random_expressions.py`) once that has landed; until then the tests' module, loaded from
the source tree. Either way: `ExpressionGenerator(seed, functions).expression(must=name)`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

__all__ = ["ExpressionGenerator"]


def _load() -> Any:
    try:
        from ..oracle.generate import ExpressionGenerator
    except ImportError:
        path = Path(__file__).resolve().parents[2] / "tests" / "random_expressions.py"
        spec = importlib.util.spec_from_file_location("_diffcompare_random_expressions", path)
        if spec is None or spec.loader is None or not path.exists():
            raise ImportError(
                "the expression generator is missing: neither diffcompare.oracle.generate "
                f"nor {path} is there"
            ) from None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.ExpressionGenerator
    return ExpressionGenerator


ExpressionGenerator = _load()
