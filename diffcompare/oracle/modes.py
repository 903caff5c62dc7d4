"""What torch computes for a function's Jacobian, by reverse and by forward mode, with factors
that are not 1, and how much of it is rounding noise.

Reverse mode runs one backward pass per output entry i with grad_output c_i e_i (c_i random,
|c_i| in [0.5, 2]), so row i is c_i times the Jacobian's row: a backward that ignores
grad_output returns the row itself. One more pass with a dense random cotangent u gives
u^T J, which catches a backward that mixes up entries of grad_output. Forward mode does the
same by columns with tangents c_j e_j and one dense v. Each is re-run along a short line
through the inputs, and once in the other precision: the rounding noise of the candidate at
this point (see `_noise`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from diffcompare.oracle.flat import FlatFunction
from diffcompare.oracle.tensor_fd import ecnoise, line


@dataclass
class Candidate:
    """The function under check, the random source, and what the runs found beside values."""

    flat: FlatFunction
    generator: torch.Generator
    nondet_tol: float = 0.0
    check_grad_dtypes: bool = False
    unsupported: str = ""
    problems: list[str] = field(default_factory=list)

    def factors(self, count: int) -> torch.Tensor:
        size = 0.5 + 1.5 * torch.rand(count, generator=self.generator, dtype=torch.float64)
        sign = torch.where(torch.rand(count, generator=self.generator) < 0.5, -1.0, 1.0)
        return (size * sign).to(self.flat.dtype)

    def dense(self, count: int) -> torch.Tensor:
        return torch.randn(count, generator=self.generator, dtype=torch.float64).to(self.flat.dtype)

    def nearby(self) -> list[torch.Tensor]:
        """Points on a short random line through the inputs (steps of sqrt(eps) of each
        entry's scale): far enough apart that every rounding in the candidate changes,
        near enough that its smooth change drops out of third and higher differences."""
        return line(self.flat.x0, 7, torch.finfo(self.flat.dtype).eps ** 0.5)


@dataclass(frozen=True)
class Found:
    """One mode's Jacobian: `values` (outputs, inputs), each entry scaled by its factor
    (`factors`, same shape), the measured rounding `noise`, and the dense projection:
    `dense_in` (u or v), `dense_out` (u^T J or J v) and its noise."""

    mode: str
    values: torch.Tensor
    factors: torch.Tensor
    noise: torch.Tensor
    outputs: list[torch.Tensor]
    dense_in: torch.Tensor
    dense_out: torch.Tensor
    dense_noise: torch.Tensor
    problems: tuple[str, ...]
    hint: str

    def dense_truth(
        self, truth: torch.Tensor, bound: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The truth of the dense projection and its bound, from the true Jacobian's."""
        d = self.dense_in.to(truth.dtype)
        if self.mode == "reverse mode":
            return d @ truth, d.abs() @ bound
        return truth @ d, bound @ d.abs()

    def how(self, i: int, j: int) -> str:
        if self.mode == "reverse mode":
            return f"backward with grad_output {float(self.factors[i, j]):.4g} at that entry"
        return f"forward with tangent {float(self.factors[i, j]):.4g} at that entry"


def _flat(tensors: list[torch.Tensor | None], like: list[torch.Tensor]) -> torch.Tensor:
    parts = [
        torch.zeros_like(t).reshape(-1) if g is None else g.reshape(-1)
        for g, t in zip(tensors, like, strict=True)
    ]
    return torch.cat(parts) if parts else torch.zeros(0)


def reverse_at(
    candidate: Candidate,
    x: torch.Tensor,
    factors: torch.Tensor | None,
    u: torch.Tensor,
    first: bool,
    dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """Rows c_i J_i (none without `factors`) and u^T J at x, by backward passes (with the
    inputs in `dtype` if given)."""
    flat = candidate.flat
    leaves = flat.leaves(x, dtype)
    wrt = [leaves[i] for i in flat.differentiable]
    outs = flat.outputs(flat.func(*leaves))
    tracked = [k for k, o in enumerate(outs) if o.requires_grad]
    sizes = [o.numel() for o in outs]
    m = sum(sizes)

    def backward(cotangent: torch.Tensor) -> torch.Tensor:
        if not tracked:
            return torch.zeros(flat.x0.numel(), dtype=flat.dtype)
        pieces = torch.split(cotangent, sizes)
        grads = torch.autograd.grad(
            [outs[k] for k in tracked],
            wrt,
            [pieces[k].reshape(outs[k].shape).to(outs[k].dtype) for k in tracked],
            retain_graph=True,
            allow_unused=True,
        )
        if first and candidate.check_grad_dtypes:
            for g, t in zip(grads, wrt, strict=True):
                if g is not None and g.dtype != t.dtype:
                    candidate.problems.append(
                        f"reverse mode: a gradient is {g.dtype} where its input is {t.dtype}"
                    )
        return _flat(list(grads), wrt).to(dtype or flat.dtype)

    rows = []
    for i in range(m if factors is not None else 0):
        assert factors is not None
        cotangent = torch.zeros(m, dtype=dtype or flat.dtype)
        cotangent[i] = factors[i]
        rows.append(backward(cotangent))
    n = flat.x0.numel()
    values = torch.stack(rows) if rows else torch.zeros(0, n, dtype=dtype or flat.dtype)
    dense = backward(u.to(dtype or flat.dtype))
    if first:
        again = backward(u)
        apart = (again - dense).abs().nan_to_num(0.0)
        apart = torch.where(again.isnan() == dense.isnan(), apart, torch.inf)
        spread = float(apart.max()) if dense.numel() else 0.0
        if not spread <= candidate.nondet_tol:
            candidate.problems.append(
                f"reverse mode: two backward passes with the same grad_output differ by "
                f"{spread:.3g} (nondet_tol={candidate.nondet_tol})"
            )
    return values, dense, outs


def reverse_jacobian(candidate: Candidate) -> Found:
    flat = candidate.flat
    outs = flat.outputs(flat.func(*flat.inputs))
    m = sum(o.numel() for o in outs)
    factors = candidate.factors(m)
    u = candidate.dense(m)
    values, dense, outs = reverse_at(candidate, flat.x0, factors, u, True)
    runs = [reverse_at(candidate, x, factors, u, False)[:2] for x in candidate.nearby()[1:]]
    other = _other_precision(flat)
    wide = _rescaled(flat, lambda: reverse_at(candidate, flat.x0, factors, u, False, other))
    noise, dense_noise = _noise((values, dense), runs, wide)
    scaled = factors[:, None].expand_as(values)
    return Found(
        "reverse mode",
        values,
        scaled,
        noise,
        outs,
        u,
        dense,
        dense_noise,
        tuple(candidate.problems),
        "the backward looks like it ignores grad_output (or uses 1 in its place)",
    )


def forward_at(
    candidate: Candidate,
    x: torch.Tensor,
    factors: torch.Tensor | None,
    v: torch.Tensor,
    dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """Columns c_j J e_j (none without `factors`) and J v at x, by forward passes (with the
    inputs in `dtype` if given)."""
    import torch.autograd.forward_ad as fwad

    _load_forward_ad()
    make_dual: Callable[..., torch.Tensor] = fwad.make_dual
    unpack_dual: Callable[..., Any] = fwad.unpack_dual
    flat = candidate.flat
    into = dtype or flat.dtype

    def push(tangent: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        with fwad.dual_level():
            args = list(flat.inputs)
            parts = torch.split(tangent, flat.sizes())
            for i, p, value in zip(
                flat.differentiable, parts, torch.split(x, flat.sizes()), strict=True
            ):
                t = flat.inputs[i]
                primal = value.reshape(t.shape).to(dtype or t.dtype)
                args[i] = make_dual(primal, p.reshape(t.shape).to(dtype or t.dtype))
            outs = flat.outputs(flat.func(*args))
            tangents = [unpack_dual(o).tangent for o in outs]
            primals = [unpack_dual(o).primal.detach() for o in outs]
            return _flat(list(tangents), primals).to(into), primals

    n = x.numel()
    columns = []
    outs: list[torch.Tensor] = []
    for j in range(n if factors is not None else 0):
        assert factors is not None
        tangent = torch.zeros(n, dtype=into)
        tangent[j] = factors[j]
        column, outs = push(tangent)
        columns.append(column)
    dense, outs = push(v.to(into))
    m = dense.numel()
    values = torch.stack(columns, dim=1) if columns else torch.zeros(m, 0, dtype=into)
    return values, dense, outs


def _load_forward_ad() -> None:
    """Make torch load its forward-AD decompositions now, with its warning that
    torch.jit.script is deprecated silenced (torch's own business), so the user's function
    runs later with the user's warning filters as they are."""
    import warnings

    import torch.autograd.forward_ad as fwad

    with warnings.catch_warnings(), fwad.dual_level():
        warnings.simplefilter("ignore", DeprecationWarning)
        make_dual: Callable[..., Any] = fwad.make_dual
        make_dual(torch.zeros(1), torch.zeros(1))


def forward_jacobian(candidate: Candidate) -> Found | None:
    """Forward mode's Jacobian, or None (and `candidate.unsupported` says why) where the
    function has no forward-mode derivative (an autograd.Function without jvp)."""
    flat = candidate.flat
    n = flat.x0.numel()
    factors = candidate.factors(n)
    v = candidate.dense(n)
    try:
        values, dense, outs = forward_at(candidate, flat.x0, factors, v)
    except (RuntimeError, NotImplementedError) as error:
        candidate.unsupported = "not supported by the function: " + str(error).splitlines()[0]
        return None
    runs = [forward_at(candidate, x, factors, v)[:2] for x in candidate.nearby()[1:]]
    other = _other_precision(flat)
    wide = _rescaled(flat, lambda: forward_at(candidate, flat.x0, factors, v, other))
    noise, dense_noise = _noise((values, dense), runs, wide)
    scaled = factors[None, :].expand_as(values)
    return Found(
        "forward mode",
        values,
        scaled,
        noise,
        outs,
        v,
        dense,
        dense_noise,
        (),
        "the forward derivative looks like it ignores the tangent (or uses 1 in its place)",
    )


Measured = tuple[torch.Tensor, torch.Tensor, float]
"""A re-run's Jacobian values, dense projection, and the factor that turns its distance from
the candidate's into the candidate's rounding."""


def _other_precision(flat: FlatFunction) -> torch.dtype:
    return torch.float32 if flat.dtype == torch.float64 else torch.float64


def _rescaled(
    flat: FlatFunction,
    run: Callable[[], tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]],
) -> list[Measured]:
    """The same candidate in the other precision, as a rounding measurement: rounding errors
    scale with eps, so a float32 run's distance from float64 is the float32 rounding of this
    very code at this point (cancellation included), and times eps64/eps32 the float64
    rounding. Empty where the code does not run in the other precision. (A gradient wrong
    only in float32, as one computed in half precision inside, is excused as rounding:
    check such code in float64.)"""
    other = _other_precision(flat)
    try:
        values, dense, outs = run()
    except (RuntimeError, TypeError):  # parameters held in one precision, say
        return []
    if any(o.dtype != other for o in outs):
        return []
    base = flat.call(flat.x0)
    # Where the other precision is off the rails (overflow in float32), it measures nothing.
    values = values.to(flat.dtype)
    dense = dense.to(flat.dtype)
    if not bool(base.isfinite().all()):
        return []
    scale = 1.0 if other == torch.float64 else torch.finfo(flat.dtype).eps / torch.finfo(other).eps
    return [(values, dense, scale)]


def _noise(
    at: tuple[torch.Tensor, torch.Tensor],
    runs: list[tuple[torch.Tensor, torch.Tensor]],
    wide: list[Measured],
) -> tuple[torch.Tensor, torch.Tensor]:
    """The candidate's rounding noise per entry (values, dense): ECnoise over the runs at
    the nearby points (`at` the first), or the rescaled distance from the other precision,
    whichever is larger."""
    values = ecnoise([at[0], *(r[0] for r in runs)])
    dense = ecnoise([at[1], *(r[1] for r in runs)])
    for other, other_dense, scale in wide:
        apart = scale * (other.to(at[0].dtype) - at[0]).abs()
        values = torch.maximum(values, torch.where(apart.isfinite(), apart, 0.0))
        dense_apart = scale * (other_dense.to(at[1].dtype) - at[1]).abs()
        dense = torch.maximum(dense, torch.where(dense_apart.isfinite(), dense_apart, 0.0))
    return values, dense
