"""Constant parts of a parsed expression: each must evaluate to a finite real number, all
of them within one budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import sympy

from diffcompare.errors import LimitError, ParseError
from diffcompare.language.deadline import OutOfTime, time_limit

if TYPE_CHECKING:
    from diffcompare.language.array_building import Both


def check_result(parts: Sequence[Both], constants: Constants) -> None:
    """Refuse an expression that is undefined, or a constant part of the expression or of the
    graph (which the compiler evaluates to a number) that is not a finite real number."""
    if any(part.expr.has(sympy.zoo, sympy.oo, sympy.nan) for part in parts):
        raise ParseError("the expression is undefined everywhere (a division by zero or log(0))")
    constants.check(
        c for part in parts for c in (*constant_parts(part.expr), *constant_parts(part.graph))
    )


class Constants:
    """Evaluates constants to refuse those that are not finite real numbers, all of them in
    one time budget: a long sum of slow constants must not take its length times the limit.

    Every part must be real, not just the whole: abs(asin(pi)) is real, asin(pi) is not, and
    the compiler and the reference evaluate the parts. Each part is evaluated once.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.left = seconds
        self.done: set[sympy.Basic] = set()

    def check(self, constants: Iterable[sympy.Expr]) -> None:
        todo = [c for c in dict.fromkeys(constants) if c not in self.done]
        if not todo:
            return
        start = time.monotonic()
        try:
            with time_limit(self.left):
                for constant in todo:
                    for part in sympy.postorder_traversal(constant):
                        if not part.is_Atom and part not in self.done:
                            check_constant_value(part)
                            self.done.add(part)
        except OutOfTime:
            if threading.current_thread() is not threading.main_thread():
                return  # no timer off the main thread: accepted unchecked (see deadline.py)
            raise LimitError("time to evaluate a constant", f"{self.seconds} s") from None
        finally:
            self.left -= time.monotonic() - start


def check_constant_value(constant: sympy.Expr) -> None:
    shown = str(constant)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
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


def constant_parts(expr: sympy.Expr) -> list[sympy.Expr]:
    """The largest subexpressions without variables (other than plain numbers)."""
    if not expr.free_symbols:
        return [] if expr.is_Rational or expr.is_NumberSymbol else [expr]
    return [part for arg in expr.args for part in constant_parts(arg)]
