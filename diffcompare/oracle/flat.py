"""A torch function of several tensors seen flat: one 1-D tensor in, one 1-D tensor out.

`gradcheck` differences and compares entry by entry; this module keeps the bookkeeping of
which flat entry is which input or output entry (and how to name it in a message) apart
from the checking.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch


def as_tuple(value: Any) -> tuple[Any, ...]:
    return (value,) if isinstance(value, torch.Tensor) else tuple(value)


def _label(kind: str, k: int, shape: torch.Size, flat: int, single: bool) -> str:
    index = [int(i) for i in torch.unravel_index(torch.tensor(flat), shape)] if shape else []
    where = f"[{', '.join(map(str, index))}]" if index else ""
    return f"{kind}{'' if single else f' {k}'}{where}"


@dataclass(frozen=True)
class FlatFunction:
    """`func` over `inputs`, its differentiable inputs (requires_grad, floating) packed into
    one vector: `x0` (in the inputs' own dtype) and the slices of each."""

    func: Callable[..., Any]
    inputs: tuple[Any, ...]
    differentiable: tuple[int, ...]  # positions in `inputs`
    x0: torch.Tensor

    @classmethod
    def of(cls, func: Callable[..., Any], inputs: Any) -> FlatFunction:
        given = as_tuple(inputs)
        chosen = tuple(
            i for i, t in enumerate(given) if isinstance(t, torch.Tensor) and t.requires_grad
        )
        if not chosen:
            raise ValueError("gradcheck expects at least one input tensor to require gradient")
        for i in chosen:
            if not given[i].is_floating_point():
                raise ValueError(
                    f"input {i} is {given[i].dtype}: gradcheck checks real floating inputs "
                    "(for complex ones use torch.autograd.gradcheck)"
                )
        dtype = given[chosen[0]].dtype
        for i in chosen:
            dtype = torch.promote_types(dtype, given[i].dtype)
        x0 = torch.cat([given[i].detach().reshape(-1).to(dtype) for i in chosen])
        return cls(func, given, chosen, x0)

    @property
    def dtype(self) -> torch.dtype:
        return self.x0.dtype

    def sizes(self) -> list[int]:
        return [self.inputs[i].numel() for i in self.differentiable]

    def rebuild(self, x: torch.Tensor) -> list[Any]:
        """The inputs with the differentiable ones taken from `x` (keeping its dtype and its
        autograd history)."""
        out = list(self.inputs)
        for i, part in zip(self.differentiable, torch.split(x, self.sizes()), strict=True):
            out[i] = part.reshape(self.inputs[i].shape)
        return out

    def leaves(self, x: torch.Tensor | None = None, dtype: torch.dtype | None = None) -> list[Any]:
        """The inputs, each differentiable one a fresh leaf that requires grad (in its own
        dtype, or `dtype`), with values from `x` if given."""
        out = list(self.inputs)
        parts = torch.split(self.x0 if x is None else x, self.sizes())
        for i, part in zip(self.differentiable, parts, strict=True):
            t = self.inputs[i]
            leaf = part.detach().reshape(t.shape).to(dtype or t.dtype).clone()
            out[i] = leaf.requires_grad_(True)
        return out

    def outputs(self, result: Any) -> list[torch.Tensor]:
        """The checked outputs of one call: the floating (or complex) tensors it returns."""
        tensors = as_tuple(result)
        for t in tensors:
            if not isinstance(t, torch.Tensor):
                raise ValueError(f"gradcheck expects the function to return tensors, got {t!r}")
        return [t for t in tensors if t.is_floating_point() or t.is_complex()]

    def call(self, x: torch.Tensor) -> torch.Tensor:
        """Every checked output entry at `x`, flat, without recording a graph."""
        with torch.no_grad():
            outs = self.outputs(self.func(*self.rebuild(x)))
        if not outs:
            return torch.zeros(0, dtype=x.dtype)
        return torch.cat([o.reshape(-1) for o in outs])

    def input_label(self, j: int) -> str:
        offset = 0
        for k, (i, size) in enumerate(zip(self.differentiable, self.sizes(), strict=True)):
            if j < offset + size:
                shape = self.inputs[i].shape
                return _label("input", i, shape, j - offset, len(self.inputs) == 1 and k == 0)
            offset += size
        raise IndexError(j)


def output_labels(outs: Sequence[torch.Tensor]) -> list[str]:
    """A name per flat output entry: `output 1[0, 2]` (no number for a single output)."""
    labels = []
    for k, o in enumerate(outs):
        for flat in range(o.numel()):
            labels.append(_label("output", k, o.shape, flat, len(outs) == 1))
    return labels
