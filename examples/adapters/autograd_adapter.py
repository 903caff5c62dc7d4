"""HIPS autograd as an engine under `diffcompare conform` (an optional extra: `pip install
autograd`). `adapter()` imports it only when asked for, so this file loads without it.

    diffcompare conform examples/adapters/autograd_adapter.py:adapter --count 40
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from diffcompare.oracle.adapter import Adapter


def adapter() -> Adapter:
    """The adapter; raises ImportError naming the package when autograd is not installed."""
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        raise ImportError("HIPS autograd is not installed (pip install autograd)") from None
    try:
        from autograd.scipy.special import erf  # needs scipy
    except ImportError:
        erf = None

    def fold(fn: Callable[[Any, Any], Any]) -> Callable[..., Any]:
        def folded(*args: Any) -> Any:
            result = args[0]
            for arg in args[1:]:
                result = fn(result, arg)
            return result

        return folded

    def dot(*args: Any) -> Any:
        half = len(args) // 2
        return anp.dot(anp.array(args[:half]), anp.array(args[half:]))

    ops: Mapping[str, Callable[..., Any]] = {
        "+": anp.add,
        "-": anp.subtract,
        "*": anp.multiply,
        "/": anp.divide,
        "**": anp.power,
        "sin": anp.sin,
        "cos": anp.cos,
        "tan": anp.tan,
        "asin": anp.arcsin,
        "acos": anp.arccos,
        "atan": anp.arctan,
        "sinh": anp.sinh,
        "cosh": anp.cosh,
        "tanh": anp.tanh,
        "exp": anp.exp,
        "log": anp.log,
        "sqrt": anp.sqrt,
        "abs": anp.abs,
        # 1 / (1 + exp(-u)), as exp(-softplus(-u)): no overflow, no cancellation.
        "sigmoid": lambda u: anp.exp(-anp.logaddexp(0.0, -u)),
        "relu": lambda u: anp.maximum(u, 0.0),
        "softplus": lambda u: anp.logaddexp(u, 0.0),
        "min": fold(anp.minimum),
        "max": fold(anp.maximum),
        "sum": lambda *a: anp.sum(anp.array(a)),
        "mean": lambda *a: anp.mean(anp.array(a)),
        "prod": lambda *a: anp.prod(anp.array(a)),
        "norm": lambda *a: anp.sqrt(anp.sum(anp.array(a) ** 2)),
        "dot": dot,
    }

    def gradient(f: Callable[..., Any], point: Mapping[str, float]) -> dict[str, float]:
        names = list(point)

        def positional(*values: Any) -> Any:
            return f(**dict(zip(names, values, strict=True)))

        values = [float(point[n]) for n in names]
        return {n: float(autograd.grad(positional, i)(*values)) for i, n in enumerate(names)}

    if erf is not None:
        ops = {**ops, "erf": erf}
    return Adapter(name="HIPS autograd", ops=ops, gradient=gradient, constant=float)
