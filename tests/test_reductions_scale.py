"""Reductions over 1,000 components answer in seconds with every method computing for real:
the gradient of norm, prod, sum, mean, dot and a matrix-vector product, each judged against
the 50-digit reference, with the values the calculus says (these are correctness tests at
scale, not timing assertions; the times are in benchmarks/bench_reductions.py)."""

from __future__ import annotations

import math
import random
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

import diffcompare
from diffcompare.errors import LimitError
from diffcompare.paths.budget import MAX_RUN_WORK

REPO = Path(__file__).resolve().parents[1]
N = 1000
METHODS = {"symbolic", "autograd", "forward", "finite_difference"}

_random = random.Random(12)
X = [round(_random.uniform(0.5, 1.5), 3) * _random.choice((1, -1)) for _ in range(N)]
A = [round(_random.uniform(-2.0, 2.0), 3) for _ in range(N)]


def _prod_others(x: Sequence[float]) -> list[float]:
    total = math.prod(x)
    return [total / v for v in x]  # no component is 0


Expected = Callable[[], list[float]]

CASES: list[tuple[str, dict[str, tuple[int, ...]], dict[str, list[float]], Expected]] = [
    ("norm(x)", {"x": (N,)}, {"x": X}, lambda: [v / math.hypot(*X) for v in X]),
    ("prod(x)", {"x": (N,)}, {"x": X}, lambda: _prod_others(X)),
    ("sum(x)", {"x": (N,)}, {"x": X}, lambda: [1.0] * N),
    ("mean(x)", {"x": (N,)}, {"x": X}, lambda: [1.0 / N] * N),
    ("dot(x, x)", {"x": (N,)}, {"x": X}, lambda: [2 * v for v in X]),
    ("sum(x**2)", {"x": (N,)}, {"x": X}, lambda: [2 * v for v in X]),
    # d(a.x)/da = x, d(a.x)/dx = a: 2,000 entries.
    ("dot(a, x)", {"a": (N,), "x": (N,)}, {"a": A, "x": X}, lambda: [*X, *A]),
]


@pytest.mark.parametrize("text, shapes, at, expected", CASES, ids=[c[0] for c in CASES])
def test_a_reduction_of_1000_components_agrees_with_the_calculus(
    text: str,
    shapes: dict[str, tuple[int, ...]],
    at: dict[str, list[float]],
    expected: Expected,
) -> None:
    report = diffcompare.compare(text, at=at, shapes=shapes)
    (point,) = report.points
    assert report.verdict == "agree", point.reason
    assert set(point.methods) == METHODS
    assert all(m.status == "ok" for m in point.methods.values())
    want = expected()
    assert len(point.reference) == len(want)
    for truth, value in zip(point.reference, want, strict=True):
        assert truth is not None
        # The formula in float64 carries up to ~n roundings; the reference carries none.
        assert truth == pytest.approx(value, rel=1e-12, abs=1e-300)


def test_a_matrix_vector_product_of_1000_entries_agrees() -> None:
    # sum(W @ x): 10 x 100 weights and 100 components, 1,100 entries.
    w = [[round(_random.uniform(-1, 1), 2) for _ in range(100)] for _ in range(10)]
    x = X[:100]
    report = diffcompare.compare(
        "sum(W@x)", at={"W": w, "x": x}, shapes={"W": (10, 100), "x": (100,)}
    )
    (point,) = report.points
    assert report.verdict == "agree", point.reason
    assert set(point.methods) == METHODS
    # d/dW[i,j] = x[j]; d/dx[j] = sum_i W[i,j].
    want = [v for _ in range(10) for v in x] + [math.fsum(row[j] for row in w) for j in range(100)]
    for truth, value in zip(point.reference, want, strict=True):
        assert truth == pytest.approx(value, rel=1e-12, abs=1e-15)


def test_the_cli_answers_at_the_default_samples() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "diffcompare", "mean(x)", "--shape", f"x={N}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "verdict: agree" in result.stdout
    assert "(5 agree of 5 point(s))" in result.stdout


def test_a_gradient_over_the_budget_is_refused_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "diffcompare", "norm(x)", "--shape", "x=3000"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert "work per point (3000 entries x 3001 graph nodes (1 of them ops), richardson" in line
    assert "limit" in line and "--wrt" in line


def test_many_points_of_a_large_gradient_are_refused_before_the_work() -> None:
    # One point of norm over 1,500 components is within the per-point limit; the default
    # five samples of it (and the sampling's differences) are not.
    with pytest.raises(LimitError, match="work of the comparison") as caught:
        diffcompare.compare("norm(x)", shapes={"x": (1500,)})
    assert f"limit of {MAX_RUN_WORK}" in str(caught.value)
    assert "--samples 1" in str(caught.value)
