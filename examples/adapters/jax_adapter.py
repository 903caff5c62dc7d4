"""JAX as an engine under `diffcompare conform` (an optional extra: `pip install jax`), in
float64 (jax_enable_x64). `adapter()` imports jax only when asked for, so this file loads
without it.

    diffcompare conform examples/adapters/jax_adapter.py:adapter --count 40
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from diffcompare.oracle.adapter import Adapter


def adapter() -> Adapter:
    """The adapter; raises ImportError naming the package when jax is not installed."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise ImportError("jax is not installed (pip install jax)") from None
    jax.config.update("jax_enable_x64", True)

    def fold(fn: Callable[[Any, Any], Any]) -> Callable[..., Any]:
        def folded(*args: Any) -> Any:
            result = args[0]
            for arg in args[1:]:
                result = fn(result, arg)
            return result

        return folded

    def dot(*args: Any) -> Any:
        half = len(args) // 2
        return jnp.dot(jnp.stack(args[:half]), jnp.stack(args[half:]))

    ops: Mapping[str, Callable[..., Any]] = {
        "+": jnp.add,
        "-": jnp.subtract,
        "*": jnp.multiply,
        "/": jnp.divide,
        "**": jnp.power,
        "sin": jnp.sin,
        "cos": jnp.cos,
        "tan": jnp.tan,
        "asin": jnp.arcsin,
        "acos": jnp.arccos,
        "atan": jnp.arctan,
        "sinh": jnp.sinh,
        "cosh": jnp.cosh,
        "tanh": jnp.tanh,
        "exp": jnp.exp,
        "log": jnp.log,
        "sqrt": jnp.sqrt,
        "abs": jnp.abs,
        "sigmoid": jax.nn.sigmoid,
        "relu": jax.nn.relu,
        "softplus": lambda u: jnp.logaddexp(u, 0.0),
        "erf": jax.scipy.special.erf,
        "min": fold(jnp.minimum),
        "max": fold(jnp.maximum),
        "sum": lambda *a: jnp.sum(jnp.stack(a)),
        "mean": lambda *a: jnp.mean(jnp.stack(a)),
        "prod": lambda *a: jnp.prod(jnp.stack(a)),
        "norm": lambda *a: jnp.linalg.norm(jnp.stack(a)),
        "dot": dot,
    }

    def gradient(f: Callable[..., Any], point: Mapping[str, float]) -> dict[str, float]:
        names = list(point)

        def positional(*values: Any) -> Any:
            return f(**dict(zip(names, values, strict=True)))

        values = [jnp.float64(point[n]) for n in names]
        grads = jax.grad(positional, argnums=tuple(range(len(names))))(*values)
        return {n: float(g) for n, g in zip(names, grads, strict=True)}

    return Adapter(
        name="jax", ops=ops, gradient=gradient, constant=lambda v: jnp.asarray(v, jnp.float64)
    )
