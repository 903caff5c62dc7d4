"""The parsed problem that every derivative path reads: its SymPy forms and its variables."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sympy

from .errors import UsageError


@dataclass(frozen=True)
class Problem:
    """What the parser returns: the user's text, two SymPy forms of it, and its variables.

    `expr` is the expression as SymPy evaluates it (x*sqrt(x) is x**(3/2), x/x is 1, a sum
    is collected and sorted): the symbolic derivative and the high-precision reference use
    it. `graph` is the same text as typed, built with SymPy's evaluation off: x*sqrt(x) is
    Mul(x, Pow(x, 1/2)) and sin(x)/sin(x) keeps both sines, as SymPy writes a - b and a / b
    (a + (-1)*b and a * b**-1), with a chain like a + b + c one n-ary node. It is the graph a
    hand-written torch program records, so autograd and finite differences run it, failures
    included (torch.sqrt's backward at 0 makes x*sqrt(x) NaN there, x**(3/2) would not).
    The two are equal as real functions wherever both are defined.

    Variables are real SymPy symbols in natural order (x2 before x10); they include every
    name the text uses, even one that cancels out of `expr`, so every symbol of `graph`.
    """

    text: str
    expr: sympy.Expr
    variables: tuple[sympy.Symbol, ...]
    graph: sympy.Expr

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    def symbol(self, name: str) -> sympy.Symbol:
        """The variable called `name`; raises KeyError when there is none."""
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(name)


def choose_wrt(problem: Problem, wrt: str | Sequence[str] | None) -> tuple[sympy.Symbol, ...]:
    """The variables named by `wrt` ("x,y" or a list; None: all), each once, in the order
    given; raises UsageError for a name that is not a variable."""
    if wrt is None:
        return problem.variables
    names = [n.strip() for n in wrt.split(",")] if isinstance(wrt, str) else list(wrt)
    chosen = []
    for name in names:
        try:
            chosen.append(problem.symbol(name))
        except KeyError:
            raise UsageError(
                f"--wrt {name}: not a variable of the expression (its variables: "
                f"{', '.join(problem.names)})"
            ) from None
    if not chosen:
        raise UsageError("--wrt names no variable")
    return tuple(dict.fromkeys(chosen))


def point_values(problem: Problem, at: Mapping[str, float] | float) -> tuple[float, ...]:
    """The point as one finite float per variable, in the problem's order; a bare number
    for a one-variable problem. Raises UsageError naming what is wrong."""
    if not isinstance(at, Mapping):
        if len(problem.variables) != 1:
            raise UsageError(
                f"--at {at}: name each variable ({', '.join(problem.names)}), e.g. --at "
                + ",".join(f"{n}=1" for n in problem.names)
            )
        at = {problem.names[0]: at}
    unknown = sorted(set(at) - set(problem.names))
    if unknown:
        raise UsageError(
            f"--at {', '.join(unknown)}: not a variable of the expression "
            f"(its variables: {', '.join(problem.names)})"
        )
    missing = [n for n in problem.names if n not in at]
    if missing:
        raise UsageError(f"--at: no value for {', '.join(missing)}")
    values = tuple(float(at[n]) for n in problem.names)
    if not all(math.isfinite(x) for x in values):
        raise UsageError("--at: every value must be a finite number")
    return values
