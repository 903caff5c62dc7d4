"""Constant parts of a parsed expression: each must evaluate to a finite real number whose
magnitude stays within a bound, so that evaluating them is bounded work, not a race with a
clock (pi**cosh(9**9) would never finish)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import mpmath
import sympy

from diffcompare.errors import LimitError, ParseError

if TYPE_CHECKING:
    from diffcompare.language.array_building import Both

_LOG10_E = math.log10(math.e)


def check_result(parts: Sequence[Both], constants: Constants) -> None:
    """Refuse an expression that is undefined, or a constant part of the expression or of the
    graph (which the compiler evaluates to a number) that is not a finite real number."""
    if any(part.expr.has(sympy.zoo, sympy.oo, sympy.nan) for part in parts):
        raise ParseError("the expression is undefined everywhere (a division by zero or log(0))")
    constants.check(
        c for part in parts for c in (*constant_parts(part.expr), *constant_parts(part.graph))
    )


class Constants:
    """Evaluates constants, part by part from the leaves up, to refuse those that are not
    finite real numbers or whose magnitude passes 10**digits (either way: 10**-digits).

    Every part must be real, not just the whole: abs(asin(pi)) is real, asin(pi) is not, and
    the compiler and the reference evaluate the parts. Each part is evaluated once, and
    before SymPy evaluates a part that can explode (a power, exp, sinh, cosh, and sigmoid and
    softplus, which go through exp), the size of its result is foreseen from its arguments'
    values: evalf's work grows with the digits of a magnitude's exponent, so bounding the
    magnitude bounds the work, the same on every thread and in every process.
    """

    def __init__(self, digits: int) -> None:
        self.digits = digits
        self.values: dict[sympy.Basic, sympy.Float | None] = {}

    def check(self, constants: Iterable[sympy.Expr]) -> None:
        for constant in dict.fromkeys(constants):
            if constant in self.values:
                continue
            for part in sympy.postorder_traversal(constant):
                if part not in self.values:
                    self.values[part] = self._value(part)

    def _value(self, part: sympy.Basic) -> sympy.Float | None:
        if part.is_Atom:
            # Atoms are numbers or the constants pi and e; a non-real one (I) is refused
            # where it is used: the graph holds the sqrt(-1) it came from.
            value = part.evalf(20) if part.is_number else None
            return value if value is not None and value.is_Float else None
        foreseen = _foreseen_log10(part, [self.values.get(a) for a in part.args])
        if foreseen is not None:
            self._check_magnitude(part, foreseen)
        value = check_constant_value(part)
        if value.is_Float and value:
            self._check_magnitude(part, _log10(value))
        return value if value.is_Float else None

    def _check_magnitude(self, part: sympy.Basic, log10: float | mpmath.mpf) -> None:
        if abs(log10) > self.digits:
            got = mpmath.nstr(mpmath.mpf(log10), 3)
            raise LimitError(
                f"decimal exponent of the constant {_shown(part)}",
                f"{self.digits} (either sign)",
                got,
            )


def _foreseen_log10(part: sympy.Basic, args: Sequence[sympy.Float | None]) -> mpmath.mpf | None:
    """log10 of the largest magnitude evaluating `part` makes, from its arguments' values,
    for the parts whose value can be far larger or smaller than their arguments'."""
    if any(a is None for a in args):
        return None
    values = [mpmath.mpf(a._mpf_) for a in args]  # type: ignore[union-attr]
    name = type(part).__name__
    if isinstance(part, sympy.Pow):
        base, exponent = values
        return exponent * _log10_mpf(base) if base else None
    if isinstance(part, sympy.exp):
        return values[0] * _LOG10_E
    if name in ("sinh", "cosh", "sigmoid", "softplus"):
        return abs(values[0]) * _LOG10_E
    return None


def _log10(value: sympy.Float) -> mpmath.mpf:
    return _log10_mpf(mpmath.mpf(value._mpf_))


def _log10_mpf(value: mpmath.mpf) -> mpmath.mpf:
    # mpmath keeps the binary exponent as a Python integer: this is cheap at any size.
    if not value:
        return mpmath.mpf(0)
    with mpmath.workdps(15):
        return mpmath.log10(abs(value))


def _shown(constant: sympy.Basic) -> str:
    shown = str(constant)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def check_constant_value(constant: sympy.Expr) -> sympy.Expr:
    """The constant evaluated to 20 digits; raises ParseError unless it is a finite real."""
    shown = _shown(constant)
    try:
        value = constant.evalf(20)
    except (OverflowError, RecursionError, ValueError, ZeroDivisionError):
        raise ParseError(f"the constant {shown} is too large to evaluate") from None
    except Exception as error:  # any other failure of evalf is still the input's refusal
        raise ParseError(
            f"the constant {shown} cannot be evaluated ({type(error).__name__})"
        ) from None
    if not (value.is_real and value.is_finite):
        raise ParseError(
            f"the constant {shown} is not a finite real number",
            allowed="constants inside each function's real domain",
        )
    return value


def constant_parts(expr: sympy.Expr) -> list[sympy.Expr]:
    """The largest subexpressions without variables (other than plain numbers)."""
    if not expr.free_symbols:
        return [] if expr.is_Rational or expr.is_NumberSymbol else [expr]
    return [part for arg in expr.args for part in constant_parts(arg)]
