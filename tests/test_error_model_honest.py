"""The error model where correct mathematics used to be called `disagree`: torch's backward
formulas that amplify their own roundings (asin near ±1), reductions' internal roundings,
finite differences at extreme magnitudes, and float evaluations that overflow where the
derivative is finite (named, not left unexplained)."""

from __future__ import annotations

import math
import random

import pytest
import torch

import diffcompare
from diffcompare.language.ops import FUNCTIONS, OPS


def _compare(text: str, at: object, **options: object) -> diffcompare.Report:
    return diffcompare.compare(text, at=at, timing_budget=0, simplify_seconds=0, **options)  # type: ignore[arg-type]


def _disagreements(report: diffcompare.Report) -> list[str]:
    return [f"{p.at}: {p.reason}" for p in report.points if p.verdict == "disagree"]


@pytest.mark.parametrize(
    ("text", "x", "dtype"),
    [
        ("asin(x)", 0.9999999, "float64"),
        ("asin(x)", 1 - 1e-12, "float64"),
        ("acos(x)", -0.99999999, "float64"),
        ("asin(x)", -0.9999, "float32"),
        ("acos(x)", 0.99999, "float32"),
    ],
)
def test_arcsine_near_one_agrees_because_the_backward_is_modelled(
    text: str, x: float, dtype: str
) -> None:
    point = _compare(text, {"x": x}, dtype=dtype).points[0]
    assert point.verdict == "agree", point.reason
    # Not by a loose constant: away from ±1 the bound is a few ulps of the derivative.
    far = _compare(text, {"x": 0.5}, dtype=dtype).points[0].methods["autograd"]
    assert far.bound[0] is not None and far.value[0] is not None
    assert far.bound[0] < 64 * torch.finfo(getattr(torch, dtype)).eps * abs(far.value[0])


def test_the_arcsine_column_is_torchs_cancellation_in_one_minus_x_squared() -> None:
    x = torch.tensor([0.5, 0.9999999], dtype=torch.float64)
    (amplified,) = OPS["asin"].backward_rounding([x], torch.asin(x))  # type: ignore[misc]
    expected = x * x / (2 * (1 - x * x).abs() ** 1.5)
    assert torch.allclose(amplified, expected)
    # Near 1 it is the rounding of x*x seen through rsqrt(1 - x*x): thousands of ulps.
    assert float(amplified[1]) > 1e9 * float(amplified[0])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    ("text", "shapes", "count"),
    [
        ("sum((W@x)**2)", {"W": (3, 4), "x": (4,)}, 30),
        ("sum((W@x)**2)", {"W": (5, 6), "x": (6,)}, 10),
        ("dot(x, y)**2", {"x": (8,), "y": (8,)}, 30),
        ("mean(x)**2", {"x": (7,)}, 30),
        ("prod(x)*sum(x)", {"x": (6,)}, 30),
    ],
)
def test_reductions_count_their_internal_roundings(
    text: str, shapes: dict[str, tuple[int, ...]], count: int, dtype: str
) -> None:
    problem = diffcompare.parse(text, shapes=shapes)
    rng = random.Random(1)
    points = [{v.name: rng.uniform(-3, 3) for v in problem.variables} for _ in range(count)]
    report = _compare(problem, points, dtype=dtype)
    assert not _disagreements(report), _disagreements(report)


def test_a_sum_of_n_terms_rounds_n_minus_1_times() -> None:
    terms = [torch.tensor([1.0]), torch.tensor([-1.0]), torch.tensor([3.0])]
    result = torch.tensor([3.0])
    # |result| for the last addition, sum |a| for each of the other n - 2.
    assert float(OPS["sum"].rounding(terms, result)) == 3.0 + 1 * 5.0  # type: ignore[misc]
    # The compiler's left-to-right fold of add: |1 - 1| + |1 - 1 + 3|.
    assert float(OPS["add"].rounding(terms, result)) == 0.0 + 3.0  # type: ignore[misc]


MAGNITUDES = {
    "float64": [m * 10.0**k for k in range(-200, 201, 25) for m in (1.0, 3.7)],
    "float32": [m * 10.0**k for k in range(-16, 17, 4) for m in (1.0, 3.7)],
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("fd", ["auto", "richardson"])
@pytest.mark.parametrize("text", ["1/x", "sqrt(x)", "log(x)", "x**-2"])
def test_finite_differences_hold_at_extreme_magnitudes(text: str, fd: str, dtype: str) -> None:
    signs = (1.0,) if text in ("sqrt(x)", "log(x)") else (1.0, -1.0)
    points = [{"x": s * x} for x in MAGNITUDES[dtype] for s in signs]
    report = _compare(text, points, fd=fd, dtype=dtype)
    assert not _disagreements(report), _disagreements(report)
    # And finite differences answer (not skip) wherever the derivative is in range.
    judged = [p for p in report.points if p.verdict == "agree"]
    assert len(judged) >= len(points) // 3
    assert all(p.methods["finite_difference"].status == "ok" for p in judged)


def test_complex_step_stays_inside_the_distance_to_the_pole() -> None:
    method = _compare("1/x", {"x": 1e-150}).points[0].methods["finite_difference"]
    assert method.ok and method.rel_error[0] is not None and method.rel_error[0] < 1e-12
    assert "complex-step" in method.note


def test_a_symbolic_nan_from_zero_times_infinity_is_named() -> None:
    point = _compare("max(2, sqrt(x))", {"x": 0.0}).points[0]
    status = point.methods["symbolic"].status
    assert "divides by zero in power" in status and "0·∞ in multiplication" in status, status
    assert "forward rule of maximum" in point.methods["forward"].status


def test_an_overflowing_float_evaluation_is_named() -> None:
    point = _compare("exp(x)/exp(x)", {"x": 800.0}).points[0]
    status = point.methods["autograd"].status
    assert "overflows in exponential (exp(x))" in status, status
    point = _compare("2**(x-y)/3**(y-x)", {"x": 190.0, "y": -190.0}).points[0]
    assert "backward of pow" in point.methods["autograd"].status
    # An error bound that itself overflows judges nothing: no false disagreement from it.
    method = _compare("1/x**3", {"x": 1e-60}).points[0].methods["finite_difference"]
    assert method.ok and "not judged" in method.status


UNARY = sorted(name for name, op in FUNCTIONS.items() if op.arity == (1, 1))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_no_false_disagreement_near_domain_edges_and_at_extreme_magnitudes(dtype: str) -> None:
    """A seeded property test over the op table: each unary function, times a constant so
    that reductions of scale show, at points near its domain's edges and at magnitudes from
    tiny to huge."""
    rng = random.Random(12)
    found = []
    for name in UNARY:
        low, high = OPS[name].domain
        points = []
        for _ in range(16):
            k = rng.uniform(-30, 30) if dtype == "float64" else rng.uniform(-12, 12)
            x = rng.choice((-1.0, 1.0)) * 10.0**k
            if math.isfinite(low) and math.isfinite(high):  # near the edges of (-1, 1)
                x = rng.choice((low, high)) * (
                    1 - 10.0 ** rng.uniform(-12 if dtype == "float64" else -6, -1)
                )
            elif math.isfinite(low):
                x = abs(x) + low
            points.append({"x": x})
        report = _compare(f"3*{name}(x)", points, dtype=dtype)
        found += [f"{name}: {d}" for d in _disagreements(report)]
    assert not found, "\n".join(found)


def test_a_complex_power_is_as_accurate_as_the_real_one() -> None:
    # exp(w log z) rounds w log z: 77 eps at x = 1e100, y = 1/3, which the complex step's
    # bound (forward mode's) does not allow; the power from the real pow does not.
    point = _compare("x**y", {"x": 1e100, "y": 1 / 3}).points[0]
    assert point.verdict == "agree", point.reason
    z = torch.tensor([-0.53 + 2.0**-66 * 1j], dtype=torch.complex128)
    base = torch.exp(torch.exp(z) * (z + z))
    ours = OPS["pow"].complex_torch(base, 1 / 3)  # type: ignore[misc]
    assert ours.dtype == torch.complex128 and torch.equal(ours, torch.pow(base, 1 / 3))


def test_a_backward_product_beyond_the_range_is_named() -> None:
    point = _compare("2**(x-y)/3**(y-x)", {"x": 20.0, "y": -20.0}, dtype="float32").points[0]
    status = point.methods["autograd"].status
    assert "the backward of pow (PowBackward0) overflows" in status, status
    assert "beyond float32's range" in status


def test_higher_derivatives_step_on_the_scale_of_a_tiny_x() -> None:
    method = _compare("x**3", {"x": 1e-100}, order=2).points[0].methods["finite_difference"]
    assert method.ok and method.rel_error[0] is not None and method.rel_error[0] < 1e-8
