"""PyTorch as an engine under `diffcompare conform`: every function of the input language
mapped to torch's own, gradients by torch.autograd.grad.

    diffcompare conform examples/adapters/torch_adapter.py:ADAPTER --count 40
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from diffcompare.oracle.adapter import Adapter


def _stack(args: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return torch.stack(torch.broadcast_tensors(*args))


def _fold(fn: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def folded(*args: Any) -> Any:
        result = args[0]
        for arg in args[1:]:
            result = fn(result, arg)
        return result

    return folded


def _dot(*args: torch.Tensor) -> torch.Tensor:
    half = len(args) // 2
    return torch.dot(_stack(args[:half]), _stack(args[half:]))


OPS: Mapping[str, Callable[..., Any]] = {
    "+": torch.add,
    "-": torch.sub,
    "*": torch.mul,
    "/": torch.div,
    "**": torch.pow,
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "asin": torch.asin,
    "acos": torch.acos,
    "atan": torch.atan,
    "sinh": torch.sinh,
    "cosh": torch.cosh,
    "tanh": torch.tanh,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    # Note: torch.nn.functional.softplus returns x itself above its threshold of 20, which is
    # off by log1p(exp(-x)); conform finds that at a large enough argument. logaddexp is exact.
    "softplus": lambda u: torch.logaddexp(u, torch.zeros_like(u)),
    "erf": torch.erf,
    "min": _fold(torch.minimum),
    "max": _fold(torch.maximum),
    "sum": lambda *a: _stack(a).sum(),
    "mean": lambda *a: _stack(a).mean(),
    "prod": lambda *a: _stack(a).prod(),
    "norm": lambda *a: torch.linalg.vector_norm(_stack(a)),
    "dot": _dot,
}


def torch_adapter(dtype: torch.dtype) -> Adapter:
    """torch computing in `dtype` (float64 or float32)."""

    def gradient(f: Callable[..., torch.Tensor], point: Mapping[str, float]) -> dict[str, float]:
        leaves = {n: torch.tensor(v, dtype=dtype, requires_grad=True) for n, v in point.items()}
        out = f(**leaves)
        if not out.requires_grad:  # the expression does not depend on its variables
            return dict.fromkeys(point, 0.0)
        grads = torch.autograd.grad(out, list(leaves.values()), allow_unused=True)
        return {n: 0.0 if g is None else float(g) for n, g in zip(leaves, grads, strict=True)}

    name = str(dtype).removeprefix("torch.")
    return Adapter(
        name=f"torch {name}",
        ops=OPS,
        gradient=gradient,
        constant=lambda value: torch.tensor(value, dtype=dtype),
        dtype=name,
    )


ADAPTER = torch_adapter(torch.float64)
FLOAT32 = torch_adapter(torch.float32)
