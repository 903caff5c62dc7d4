"""The truth: the exact derivative evaluated with mpmath at 50 significant digits."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import mpmath
import sympy

REFERENCE_DIGITS = 50


def reference(
    formulas: Sequence[sympy.Expr],
    variables: Sequence[sympy.Symbol],
    points: Sequence[Sequence[float | Fraction]],
) -> list[list[mpmath.mpf | None]]:
    """Evaluate each formula at each point to REFERENCE_DIGITS digits.

    Points are taken as the exact binary values the methods see (or exact fractions). An
    entry is None where the formula has no finite real value (outside the domain, a pole).
    """
    table: list[list[mpmath.mpf | None]] = []
    for point in points:
        subs = {
            v: sympy.Rational(*Fraction(x).as_integer_ratio())
            for v, x in zip(variables, point, strict=True)
        }
        table.append([_real_value(formula, subs) for formula in formulas])
    return table


def _real_value(formula: sympy.Expr, subs: dict[sympy.Symbol, sympy.Rational]) -> mpmath.mpf | None:
    try:
        value = formula.evalf(REFERENCE_DIGITS, subs=subs)
    except (ZeroDivisionError, ValueError, TypeError):
        return None
    if not (value.is_number and value.is_real and value.is_finite):
        return None
    with mpmath.workdps(REFERENCE_DIGITS + 10):
        return mpmath.mpf(sympy.Float(value, REFERENCE_DIGITS)._mpf_)
