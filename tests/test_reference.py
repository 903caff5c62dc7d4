"""The reference two ways: the mpmath tree walk against SymPy's evalf to 50 digits, on formulas
built from every op-table row; then the cases evalf gets wrong (exact zeros, exact poles) and
the values that are not real."""

from __future__ import annotations

import random
import zlib
from fractions import Fraction

import mpmath
import pytest
import sympy

import diffcompare
from diffcompare.language.ops import OPS, Op
from diffcompare.paths.reference import REFERENCE_DIGITS, reference

X, Y, Z = sympy.symbols("x y z", real=True)
VARIABLES = (X, Y, Z)
POINTS = 4


class EvalfFails(Exception):
    """SymPy's evalf raised: there is nothing to compare with."""


def _evalf(formula: sympy.Expr, point: tuple[float, ...]) -> mpmath.mpf | None:
    """The formula by SymPy's evalf at 60 digits, None where it is not finite and real."""
    pairs = zip(VARIABLES, point, strict=False)  # the cancellation tests give x alone
    subs = {v: sympy.Rational(*float(x).as_integer_ratio()) for v, x in pairs}
    try:
        value = formula.evalf(REFERENCE_DIGITS + 10, subs=subs)
    except (KeyError, TypeError, ValueError) as error:  # e.g. Max of a non-real number
        raise EvalfFails from error
    if not (value.is_number and value.is_real and value.is_finite):
        return None
    if not isinstance(value, sympy.Float | sympy.Rational):  # e.g. an unevaluated Heaviside(0)
        raise EvalfFails
    with mpmath.workdps(REFERENCE_DIGITS + 10):
        return mpmath.mpf(sympy.Float(value, REFERENCE_DIGITS + 10)._mpf_)


def _row_formula(row: Op, rng: random.Random, depth: int) -> sympy.Expr:
    """The row applied to random subformulas built from random rows, down to `depth`."""
    count = 3 if row.nary else row.arity[0]
    while True:
        try:
            return row.build(*(_formula(rng, depth - 1) for _ in range(count)))
        except ValueError:  # SymPy refuses Max and Min of a number that is not real
            continue


def _formula(rng: random.Random, depth: int) -> sympy.Expr:
    if depth <= 0 or rng.random() < 0.3:
        return rng.choice([X, Y, Z, X, Y, sympy.Rational(rng.randint(-3, 3), rng.randint(1, 4))])
    rows = [row for row in OPS.values() if row.user]
    return _row_formula(rng.choice(rows), rng, depth)


def _points(row: Op, rng: random.Random) -> list[tuple[float, ...]]:
    low, high = max(row.domain[0], -2.0), min(row.domain[1], 2.0)
    margin = 0.05 * (high - low)
    return [
        tuple(rng.uniform(low + margin, high - margin) for _ in VARIABLES) for _ in range(POINTS)
    ]


def _has_unreal_part(formula: sympy.Expr, point: tuple[float, ...]) -> bool:
    for part in sympy.preorder_traversal(formula):
        try:
            if _evalf(part, point) is None:
                return True
        except EvalfFails:
            continue
    return False


def _close(value: mpmath.mpf | None, truth: mpmath.mpf | None) -> bool:
    if value is None or truth is None:
        return value is truth
    with mpmath.workdps(REFERENCE_DIGITS + 10):
        return bool(abs(value - truth) <= abs(truth) * mpmath.mpf(10) ** (1 - REFERENCE_DIGITS))


@pytest.mark.parametrize("name", list(OPS))
def test_agrees_with_evalf_to_50_digits(name: str) -> None:
    row = OPS[name]
    rng = random.Random(zlib.crc32(name.encode()))
    plain = row.build(*VARIABLES[: 3 if row.nary else row.arity[0]])
    formulas = [plain, *(_row_formula(row, rng, 3) for _ in range(3))]
    formulas += [sympy.diff(f, X) for f in formulas]  # steps, signs and deltas appear here
    points = _points(row, rng)
    table = reference(formulas, VARIABLES, points)
    real = 0
    for point, values in zip(points, table, strict=True):
        for formula, value in zip(formulas, values, strict=True):
            try:
                truth = _evalf(formula, point)
            except EvalfFails:
                continue
            if value is None and truth is not None:
                # evalf takes 0 * sqrt(-1) for 0; the reference refuses any non-real part.
                assert _has_unreal_part(formula, point), f"{formula} at {point}: None"
                continue
            assert _close(value, truth), f"{formula} at {point}: {value} but evalf {truth}"
            real += value is not None
    assert real >= POINTS, f"{name}: too few real values to compare ({real})"


@pytest.mark.parametrize(
    "expr, at, verdict",
    [
        ("relu(x) - x", {"x": 2}, "agree"),  # evalf: Heaviside(2) - 1 = 0.e-160
        ("max(x, 0.5) - x", {"x": 2}, "agree"),
        # abs(x+x) + min(x, y) + x - y is exactly 0 at these binary values: a pole.
        ("x**2*(2+x)/atan(abs(x+x) + min(x, y, x) + x - y)", {"x": 0.05, "y": 0.2}, "undefined"),
    ],
)
def test_exact_zeros_and_poles_give_the_right_verdict(
    expr: str, at: dict[str, float], verdict: str
) -> None:
    report = diffcompare.compare(expr, at=at, timing_budget=0)
    assert [p.verdict for p in report.points] == [verdict], report.points


@pytest.mark.parametrize(
    "formula, point",
    [
        (sympy.log(X), -1.0),
        (sympy.sqrt(X), -2.0),
        (sympy.asin(X), 2.0),
        (sympy.acos(X), -1.5),
        (X ** sympy.Rational(1, 3), -8.0),  # a non-integer power of a negative base
        (X**Y, -8.0),  # the same, with y = 1/3 rounded
        (1 / X, 0.0),
        (sympy.log(X), 0.0),
        (sympy.DiracDelta(X), 0.0),
        (sympy.sqrt(sympy.log(X)), 0.5),
    ],
)
def test_no_real_value_is_none(formula: sympy.Expr, point: float) -> None:
    assert reference([formula], [X, Y], [[point, 1 / 3]]) == [[None]]


@pytest.mark.parametrize(
    "formula, point, value",
    [
        (sympy.Heaviside(X) - 1, 2.0, 0),
        (sympy.Heaviside(X), 0.0, Fraction(1, 2)),
        (sympy.Heaviside(X, 0), 0.0, 0),  # its second argument is H(0)
        (sympy.sign(X), 0.0, 0),
        (sympy.DiracDelta(X), 0.5, 0),
        (sympy.sqrt(X) - 2, 4.0, 0),  # a root of a perfect power is exact
        (X ** sympy.Rational(2, 3) - 4, 8.0, 0),
        (X**3 + 8, -2.0, 0),  # an integer power of a negative base is real
        (sympy.sign(3 * X - 1), Fraction(1, 3), 0),  # a Fraction point is exact
        (sympy.Max(X, sympy.Float(0.5)) - X, 2.0, 0),
    ],
)
def test_exact_values_are_exact(formula: sympy.Expr, point: float | Fraction, value: int) -> None:
    [[result]] = reference([formula], [X], [[point]])
    assert result == value, f"{formula} at {point}: {result}, not {value}"


@pytest.mark.parametrize(
    "formula, point",
    [
        ((1 - sympy.cos(X)) / X**2, 1e-8),  # 16 digits cancel
        ((sympy.exp(X) - 1 - X) / X**2, 1e-13),  # 26 digits: past the first pair of precisions
        (sympy.sign(X - sympy.sin(X)), 1e-9),  # a branch on a cancelling argument
        (sympy.atan2(X, 1), 0.5),  # no row: evalf evaluates it
    ],
)
def test_cancellation_and_fallback_agree_with_evalf(formula: sympy.Expr, point: float) -> None:
    [[value]] = reference([formula], [X], [[point]])
    truth = _evalf(formula, (point,))
    assert value is not None and _close(value, truth), f"{formula}: {value} but evalf {truth}"


def test_a_rounded_zero_does_not_decide_a_branch() -> None:
    # sin(pi) rounds to a tiny number of either sign at every precision: the walk must not
    # take it for a sign; evalf, which it hands the formula to, simplifies sin(pi) to 0.
    [[value]] = reference([sympy.sign(sympy.sin(sympy.pi * X))], [X], [[1.0]])
    assert value == 0


def test_shared_points_and_formulas_keep_their_order() -> None:
    formulas = [X + Y, X * Y, X - Y]
    points = [[1.5, 2.0], [Fraction(1, 4), 3]]
    assert reference(formulas, [X, Y], points) == [[3.5, 3.0, -0.5], [3.25, 0.75, -2.75]]
