"""The micrograd-style engine of micrograd_engine.py under `diffcompare conform`: ADAPTER as it
is, BUGGY with its planted accumulation bug in `*` switched on.

    diffcompare conform examples/adapters/micrograd_adapter.py:ADAPTER --count 40   # exit 0
    diffcompare conform examples/adapters/micrograd_adapter.py:BUGGY --count 40     # exit 1, x*x
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from diffcompare.oracle.adapter import Adapter

sys.path.insert(0, str(Path(__file__).parent))
import micrograd_engine as engine  # noqa: E402
from micrograd_engine import Value  # noqa: E402

OPS: Mapping[str, Callable[..., Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
    "exp": Value.exp,
    "log": Value.log,
    "sin": Value.sin,
    "cos": Value.cos,
    "tanh": Value.tanh,
    "relu": Value.relu,
}


def _gradient(buggy: bool) -> Callable[[Callable[..., Any], Mapping[str, float]], dict[str, float]]:
    def gradient(f: Callable[..., Any], point: Mapping[str, float]) -> dict[str, float]:
        engine.BUGGY_MUL = buggy
        try:
            leaves = {name: Value(value) for name, value in point.items()}
            out = f(**leaves)
            if isinstance(out, Value):
                out.backward()
            return {name: leaf.grad for name, leaf in leaves.items()}
        finally:
            engine.BUGGY_MUL = False

    return gradient


ADAPTER = Adapter(name="micrograd", ops=OPS, gradient=_gradient(False), constant=Value)
BUGGY = Adapter(name="micrograd (buggy *)", ops=OPS, gradient=_gradient(True), constant=Value)
