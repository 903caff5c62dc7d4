"""The first-order rounding-error model that symbolic, autograd, finite differences and the
edge finder share.

Every op rounds its result by at most eps relative (and, near underflow, by at most the
smallest subnormal absolute); an error at intermediate value v_i reaches a result y scaled
by dy/dv_i, which one backward pass gives for all values at once. So

    bound = SAFETY * (eps * (|y| + sum_i |dy/dv_i| |v_i|) + tiny * (1 + sum_i |dy/dv_i|))

where the v_i are the tape's op nodes and the constants its dtype cannot hold exactly (pi,
0.1). Inputs are exact: the reference is evaluated at the very binary numbers the methods see.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

SAFETY = 4.0
"""Headroom over the first-order bound for elementary functions' own error (about 1 ulp in
torch) and the second-order terms the bound leaves out."""


def eps(dtype: torch.dtype) -> float:
    return torch.finfo(dtype).eps


def tiny(dtype: torch.dtype) -> float:
    """The smallest subnormal: the absolute error one op may add near underflow."""
    return float(torch.finfo(dtype).smallest_normal) * eps(dtype)


def sensitivity(
    outputs: Sequence[torch.Tensor], values: Sequence[torch.Tensor]
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """For each output, (sum_i |d output/d v_i| |v_i|, sum_i |d output/d v_i|) over `values`."""
    tracked = [v for v in values if v.requires_grad]
    totals = []
    for out in outputs:
        relative = torch.zeros_like(out.detach())
        absolute = torch.zeros_like(relative)
        if out.requires_grad and tracked:
            grads = torch.autograd.grad(out.sum(), tracked, retain_graph=True, allow_unused=True)
            for value, grad in zip(tracked, grads, strict=True):
                if grad is not None:
                    relative = relative + (grad.abs() * value.detach().abs()).expand_as(relative)
                    absolute = absolute + grad.abs().expand_as(absolute)
        totals.append((relative, absolute))
    return totals


def running_bound(
    values: torch.Tensor, scale: tuple[torch.Tensor, torch.Tensor], dtype: torch.dtype
) -> torch.Tensor:
    """The bound above, for results `values` with `scale` from `sensitivity`, in `dtype`."""
    relative, absolute = scale
    return SAFETY * (eps(dtype) * (values.abs() + relative) + tiny(dtype) * (1 + absolute))
