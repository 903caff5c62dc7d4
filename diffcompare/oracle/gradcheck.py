"""A drop-in for torch.autograd.gradcheck whose truth is the best finite difference there is.

    from diffcompare.testing import gradcheck      # instead of torch.autograd's
    assert gradcheck(my_function, (x, w))

The truth is the complex-step derivative where the function takes complex inputs and is
analytic there, else Richardson-extrapolated central differences, each with its error
estimate, computed in float64 even for float32 inputs where the function allows. A
candidate entry is allowed that estimate plus what a correct implementation in the
inputs' dtype can be off by: a few ulps of the entry, and its rounding noise, measured
(ECnoise: the candidate re-run along a short line through the inputs, where every rounding
changes and a wrong gradient does not) and from the same code in the other precision. No
fixed atol, unless one is passed.

Reverse mode is checked with cotangents that are not 1 (each output entry's unit vector
times a random factor, and one dense random cotangent), so a backward that ignores
grad_output fails; forward mode (torch.autograd.forward_ad) is checked with tangents
likewise. An input entry where the one-sided derivatives disagree beyond their estimates
(a kink) or one side is undefined (a domain edge) is not judged: the check fails saying
"nondifferentiable at input k[i]" or "on a domain edge at input k[i]", not "mismatch"
(a central difference there is a subgradient that any answer might match by chance).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from diffcompare.oracle._engine import SAFETY
from diffcompare.oracle.flat import FlatFunction, output_labels
from diffcompare.oracle.modes import (
    Candidate,
    forward_at,
    forward_jacobian,
    reverse_at,
    reverse_jacobian,
)
from diffcompare.oracle.tensor_fd import ecnoise, richardson
from diffcompare.oracle.truth import Truth, true_jacobian, truth_call

try:
    from torch.autograd.gradcheck import GradcheckError as _TorchGradcheckError
except ImportError:  # pragma: no cover - every torch this project supports has it
    _TorchGradcheckError = RuntimeError  # type: ignore[misc, assignment]


class GradcheckError(_TorchGradcheckError):
    """A gradient disagrees with the finite-difference truth (a subclass of torch's own
    GradcheckError, so `except` clauses written for torch keep working)."""


def gradcheck(
    func: Callable[..., Any],
    inputs: Any,
    *,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_batched_forward_grad: bool = False,
    check_forward_ad: bool | None = None,
    check_backward_ad: bool = True,
    fast_mode: bool = False,
    masked: bool | None = None,
    seed: int = 0,
) -> bool:
    """Check torch's gradients of `func` at `inputs` (a tensor or a tuple; those with
    requires_grad are differentiated) against the finite-difference truth. Returns True, or
    raises GradcheckError naming each wrong entry (returns False with
    `raise_exception=False`).

    Torch's keyword arguments: `eps` fixes the finite-difference step (default: searched);
    `atol` and `rtol`, if given, are allowed on top of the error model; `nondet_tol` bounds
    how far two backward passes may differ; `check_grad_dtypes` requires each gradient in
    its input's dtype; `check_backward_ad` and `check_forward_ad` choose the modes
    (`check_forward_ad=None`, the default, checks forward mode where the function supports
    it; True requires it); `fast_mode` checks one random projection u^T J v instead of every
    entry. `check_undefined_grad`, `check_batched_grad`, `check_batched_forward_grad` and
    `masked` are accepted and ignored. `seed` seeds the random cotangents and tangents.
    """
    del check_undefined_grad, check_batched_grad, check_batched_forward_grad, masked
    flat = FlatFunction.of(func, inputs)
    generator = torch.Generator().manual_seed(seed)
    candidate = Candidate(flat, generator, nondet_tol, check_grad_dtypes)
    problems: list[str] = []
    if fast_mode:
        problems = _fast(flat, candidate, eps, atol, rtol, check_backward_ad, check_forward_ad)
    else:
        truth = true_jacobian(flat, eps)
        modes: list[tuple[str, Callable[..., Any]]] = []
        if check_backward_ad:
            modes.append(("reverse mode", reverse_jacobian))
        if check_forward_ad is not False:
            modes.append(("forward mode", forward_jacobian))
        for mode, run in modes:
            found = run(candidate)
            if found is None:
                if check_forward_ad:
                    problems.append(f"{mode}: {candidate.unsupported}")
                continue
            problems.extend(judge(flat, truth, found, mode, atol, rtol))
    problems = list(dict.fromkeys(problems))
    if not problems:
        return True
    if raise_exception:
        raise GradcheckError(_message(problems))
    return False


def allowed(
    truth: torch.Tensor,
    bound: torch.Tensor,
    noise: torch.Tensor,
    dtype: torch.dtype,
    atol: float | None,
    rtol: float | None,
) -> torch.Tensor:
    """What an entry may be off by: the truth's own error, a few ulps of the entry in the
    candidate's dtype, its measured rounding noise, and any atol/rtol the caller passed."""
    e = torch.finfo(dtype).eps
    extra = (atol or 0.0) + (rtol or 0.0) * truth.abs()
    return bound + SAFETY * (e * truth.abs() + noise) + extra


def judge(
    flat: FlatFunction,
    truth: Truth,
    found: Any,
    mode: str,
    atol: float | None,
    rtol: float | None,
) -> list[str]:
    """The problems of one mode's Jacobian (`found`: values, noise, factors) against the
    truth: kinks and domain edges first, then at most three wrong entries and a count."""
    wide = truth.values.dtype
    factors = found.factors.to(wide)  # the cotangent (rows) or tangent (columns) factors
    expected = truth.values * factors
    scale = torch.finfo(flat.dtype).eps / torch.finfo(wide).eps
    noise = found.noise.to(wide) + scale * truth.noise * factors.abs()
    limit = allowed(expected, truth.bound * factors.abs(), noise, flat.dtype, atol, rtol)
    got = found.values.to(wide)
    wrong = ~((got - expected).abs() <= limit) & ~(got.isnan() & expected.isnan())
    problems = list(found.problems)
    # A special column is not judged, and a non-finite entry in a row that sees it comes from
    # it (sqrt's infinite slope at 0 times a zero tangent is NaN in the other columns).
    for j, special in truth.special.items():
        problems.append(special.text)
        wrong[:, j] = False
        wrong &= ~(special.rows[:, None] & ~got.isfinite())
    problems += _dense(flat, truth, found, mode, atol, rtol) if not bool(wrong.any()) else []
    labels = output_labels(found.outputs)
    for i, j in wrong.nonzero().tolist()[:3]:
        column = truth.columns[j]
        error = float((got[i, j] - expected[i, j]).abs())
        text = (
            f"{mode}: d {labels[i]} / d {flat.input_label(j)}: got {float(got[i, j]):.10g}, "
            f"truth {float(expected[i, j]):.10g} ({column.scheme}), error {error:.3g} > "
            f"allowed {float(limit[i, j]):.3g} ({flat.dtype}), {found.how(i, j)}"
        )
        ignored = expected[i, j] / factors[i, j]
        if factors[i, j] != 1 and abs(float(got[i, j] - ignored)) <= float(limit[i, j]):
            text += f"; {float(got[i, j]):.6g} is the value for a factor of 1: {found.hint}"
        problems.append(text)
    count = int(wrong.sum())
    if count > 3:
        problems.append(f"{mode}: {count} entries disagree in all")
    return problems


def _dense(
    flat: FlatFunction,
    truth: Truth,
    found: Any,
    mode: str,
    atol: float | None,
    rtol: float | None,
) -> list[str]:
    """The dense random projection, where every entry on its own was right."""
    wide = truth.values.dtype
    dense, dense_bound = found.dense_truth(truth.values, truth.bound)
    scale = torch.finfo(flat.dtype).eps / torch.finfo(wide).eps
    _, noise = found.dense_truth(truth.values, truth.noise)
    noise = found.dense_noise.to(wide) + scale * noise
    limit = allowed(dense, dense_bound, noise, flat.dtype, atol, rtol)
    got = found.dense_out.to(wide)
    wrong = ~((got - dense).abs() <= limit)
    if truth.special or not bool(wrong.any()):
        return []
    k = int(wrong.nonzero()[0, 0])
    what = "grad_output" if found.mode == "reverse mode" else "tangent"
    return [
        f"{mode}: with a dense random {what}, entry {k}: got {float(got[k]):.10g}, truth "
        f"{float(dense[k]):.10g}, error {float((got[k] - dense[k]).abs()):.3g} > allowed "
        f"{float(limit[k]):.3g}: the entries of the {what} are mixed up"
    ]


def _fast(
    flat: FlatFunction,
    candidate: Candidate,
    step: float | None,
    atol: float | None,
    rtol: float | None,
    backward: bool,
    forward: bool | None,
) -> list[str]:
    """fast_mode: one random projection. The truth is the derivative along a random v (one
    column of the function of t, f(x + t v)); reverse mode's u^T J is held to u . (J v)
    after a dot with v, forward mode's J v entry by entry."""
    call, dtype = truth_call(flat)
    x = flat.x0.to(dtype)
    v = candidate.dense(x.numel())
    t0 = torch.zeros(1, dtype=dtype)
    column = richardson(lambda t: call(x + t[0] * v.to(dtype)), t0, 0, step)
    problems: list[str] = []
    if backward:
        u = candidate.dense(column.values.numel())
        runs = [reverse_at(candidate, z, None, u, z is flat.x0)[1] @ v for z in _points(candidate)]
        truth = u.to(dtype) @ column.values
        bound = u.abs().to(dtype) @ column.bound
        problems += _projection("reverse mode", runs, truth, bound, flat.dtype, atol, rtol)
        problems += candidate.problems
    if forward is not False:
        try:
            runs = [forward_at(candidate, z, None, v)[1] for z in _points(candidate)]
        except (RuntimeError, NotImplementedError) as error:
            if forward:
                problems.append(f"forward mode: not supported: {str(error).splitlines()[0]}")
            return problems
        problems += _projection(
            "forward mode", runs, column.values, column.bound, flat.dtype, atol, rtol
        )
    return problems


def _points(candidate: Candidate) -> list[torch.Tensor]:
    return candidate.nearby()


def _projection(
    mode: str,
    runs: list[torch.Tensor],
    truth: torch.Tensor,
    bound: torch.Tensor,
    dtype: torch.dtype,
    atol: float | None,
    rtol: float | None,
) -> list[str]:
    got = runs[0].to(truth.dtype)
    noise = ecnoise([r.to(truth.dtype) for r in runs])
    limit = allowed(truth, bound, noise, dtype, atol, rtol)
    wrong = ~((got - truth).abs() <= limit)
    return [
        f"{mode} (fast mode, a random projection): got {float(g):.10g}, truth {float(t):.10g}, "
        f"error {float((g - t).abs()):.3g} > allowed {float(a):.3g}"
        for g, t, a in zip(
            got[wrong].reshape(-1), truth[wrong].reshape(-1), limit[wrong].reshape(-1), strict=True
        )
    ][:3]


def _message(problems: list[str]) -> str:
    special = ("nondifferentiable", "on a domain edge", "finite differences do not converge")
    if all(p.startswith(special) for p in problems):
        head = "gradcheck (diffcompare): no derivative to check at this point"
    else:
        head = "gradcheck (diffcompare): the gradient disagrees with the finite-difference truth"
    return head + "\n" + "\n".join(f"  {p}" for p in problems)
