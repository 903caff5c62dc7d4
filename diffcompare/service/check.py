"""`/v1/check`: is a claimed derivative formula right? Symbolic proof first, else numbers.

A small, honest check that the oracle's `diffcompare.check` can later replace: both texts go
through `diffcompare.parse`; the difference from SymPy's derivative is simplified within a
bound on its size (the oracle's proof), and a zero proves the claim. Otherwise the claim is
evaluated at 50 digits at
the seeded points compare() picks (where the expression is real, finite and smooth) and held
to compare()'s reference, which is the 50-digit truth rounded to float64: a right formula is
within half an ulp of it, so one ulp apart is the most a right formula can be.
"""

from __future__ import annotations

import math
from typing import Any

import sympy

from diffcompare.oracle.formula import prove
from diffcompare.service._engine import UsageError, compare, parse

DIGITS = 50
"""Digits the claim is evaluated at, as the reference is."""


def check_formula(
    expr: str, formula: str, wrt: str | None = None, samples: int = 5, seed: int = 0
) -> dict[str, Any]:
    """The verdict on `formula` as the derivative of `expr` by `wrt`: "correct" (proved by
    simplification, or equal to the reference within one ulp at every seeded point),
    "incorrect" (with the points where it is not), or "undetermined" (no point to test).
    Raises InputError for bad text, a vector expression, or a variable the claim or `wrt`
    names that the expression does not have."""
    problem = parse(expr)
    claim = parse(formula)
    if problem.output_shape or claim.output_shape:
        raise UsageError("check takes a scalar expression and a scalar formula")
    symbols = {s.name: s for s in problem.variables}
    if wrt is None:
        if len(symbols) != 1:
            raise UsageError(
                "name the variable the formula is the derivative by: wrt one of "
                + ", ".join(symbols)
            )
        wrt = next(iter(symbols))
    if wrt not in symbols:
        raise UsageError(f"wrt {wrt!r}: the expression's variables are {', '.join(symbols)}")
    extra = sorted(s.name for s in claim.variables if s.name not in symbols)
    if extra:
        raise UsageError(
            f"the formula uses {', '.join(extra)}, which the expression {expr!r} does not have"
        )
    claimed = claim.expr.xreplace({s: symbols[s.name] for s in claim.variables})
    derivative = sympy.diff(problem.expr, symbols[wrt])
    result: dict[str, Any] = {
        "expression": problem.text,
        "formula": claim.text,
        "wrt": wrt,
        "derivative": str(derivative),
        "points": [],
    }
    if _proved(claimed - derivative):
        return {
            **result,
            "verdict": "correct",
            "method": "symbolic",
            "message": f"the formula simplifies to SymPy's derivative d/d{wrt}",
        }
    report = compare(
        problem, wrt=wrt, samples=samples, seed=seed, timing_budget=0, simplify_seconds=0
    )
    points: list[dict[str, Any]] = []
    for point in report.points:
        reference = point.reference[0]
        if reference is None or not math.isfinite(reference):
            continue
        at = dict(zip(report.variables, point.at, strict=True))
        value = _value(claimed, {symbols[n]: v for n, v in at.items()})
        ulps = abs(value - reference) / math.ulp(reference) if value is not None else None
        ok = ulps is not None and ulps <= 1
        points.append({"at": at, "reference": reference, "claimed": value, "ulps": ulps, "ok": ok})
    result["points"] = points
    wrong = [p for p in points if not p["ok"]]
    if not points:
        verdict, message = "undetermined", "no seeded point where the expression is smooth"
    elif wrong:
        where = ", ".join(f"{n}={v:g}" for n, v in wrong[0]["at"].items())
        verdict = "incorrect"
        message = (
            f"the formula gives {_show(wrong[0]['claimed'])} at {where}, where the derivative is "
            f"{wrong[0]['reference']:.17g} ({len(wrong)} of {len(points)} points differ)"
        )
    else:
        verdict = "correct"
        message = (
            f"not proved by simplification, but within one ulp of the 50-digit reference "
            f"at all {len(points)} seeded points"
        )
    return {**result, "verdict": verdict, "method": "numeric", "message": message}


def _proved(difference: sympy.Expr) -> bool:
    """True when the oracle's proof, bounded by the size of the difference (not by a clock, so
    the answer is the same on any machine and thread), shows `difference` is zero."""
    return prove(difference, sympy.S.Zero)


def _value(formula: sympy.Expr, point: dict[sympy.Symbol, float]) -> float | None:
    """The formula at the point at 50 digits, as a float; None where it is not real and finite."""
    exact = {s: sympy.Float(v, DIGITS) for s, v in point.items()}
    value = formula.evalf(DIGITS, subs=exact)
    if not (value.is_Number and value.is_real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _show(value: float | None) -> str:
    return "no real value" if value is None else f"{value:.17g}"
