"""The symbolic path: SymPy's partial derivatives, tidied for display within a work bound."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import sympy

from diffcompare.language.ops import BY_NODE, OPS
from diffcompare.language.problem import Problem
from diffcompare.paths.budget import FormulaBudget
from diffcompare.paths.targets import Target

SIMPLIFY_SECONDS = 2.0
"""Kept for callers: any positive value tidies the derivatives shown (0: SymPy's derivative
as it comes). The work is bounded by SIMPLIFY_OPS, not by a clock."""

SIMPLIFY_OPS = 100
"""The largest formula (in SymPy operations) that is tidied for display: the tidy's steps
(powsimp, factor_terms) cost about in proportion to the formula's size."""


@dataclass(frozen=True)
class Derivatives:
    """The exact formula of each entry of a derivative.

    `raw` is what sympy.diff returned (combined by the entry's seed and directions); `shown`
    is the tidied form where the formula was small enough to tidy and the tidy gave
    something no larger (else `raw`). `simplified` says whether every formula was tidied.
    `sizes` is the operation count of each raw formula: the expression swell of symbolic
    differentiation.
    """

    raw: tuple[sympy.Expr, ...]
    shown: tuple[sympy.Expr, ...]
    simplified: bool

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(sympy.count_ops(f)) for f in self.raw)


@dataclass(frozen=True)
class Gradient(Derivatives):
    """The partial derivatives of one output, one per `wrt` variable."""

    wrt: tuple[sympy.Symbol, ...] = ()


def gradient(
    problem: Problem,
    wrt: Sequence[sympy.Symbol],
    simplify_seconds: float = SIMPLIFY_SECONDS,
    output: int = 0,
) -> Gradient:
    """Differentiate the problem's output `output` by each `wrt` variable."""
    diffable = _diffable(problem.outputs[output])
    raw = tuple(_back(sympy.diff(diffable, variable)) for variable in wrt)
    shown, simplified = _simplified(raw, simplify_seconds)
    return Gradient(raw=raw, shown=shown, simplified=simplified, wrt=tuple(wrt))


def derive(
    problem: Problem, target: Target, simplify_seconds: float = SIMPLIFY_SECONDS
) -> Derivatives:
    """The formula of every entry of `target`: each partial derivative is taken once (by
    the variables in sorted order: the order does not matter where the derivative exists)
    and the entries combine them by their seeds and directions.

    Formulas up to SIMPLIFY_OPS operations are tidied by cheap SymPy steps (none when
    `simplify_seconds` is 0); larger ones are shown as they come, so a large expression
    never hangs, and the result is the same on every thread.
    """
    raw = raw_derivatives(problem, target)
    shown, simplified = _simplified(raw, simplify_seconds)
    return Derivatives(raw=raw, shown=shown, simplified=simplified)


_recent: list[tuple[Problem, Target, bool, tuple[sympy.Expr, ...]]] = []
"""The last few results of raw_derivatives, by the identity of their problem and target: the
methods of one comparison share them, and nothing outlives the objects (a changed SymPy rule,
as the fault-injection tests make, is seen by the next comparison)."""


def raw_derivatives(
    problem: Problem, target: Target, as_typed: bool = False
) -> tuple[sympy.Expr, ...]:
    """Each entry's formula as sympy.diff gives it, unsimplified. With `as_typed`, of the
    expression as typed (the graph autodiff runs), whose chain rule is the one autodiff
    spells out: norm(x) stays sqrt(x**2) there, where SymPy's evaluated form is |x|."""
    for seen, aim, typed, result in _recent:
        if seen is problem and aim is target and typed == as_typed:
            return result
    result = _raw_derivatives(problem, target, as_typed)
    _recent[:] = [*_recent[-3:], (problem, target, as_typed, result)]
    return result


def _raw_derivatives(problem: Problem, target: Target, as_typed: bool) -> tuple[sympy.Expr, ...]:
    diffable = [_diffable(out) for out in (problem.graphs if as_typed else problem.outputs)]
    partials: dict[tuple[int, tuple[int, ...]], sympy.Expr] = {}
    budget = FormulaBudget()

    def partial(k: int, by: tuple[int, ...]) -> sympy.Expr:
        if (k, by) not in partials:
            if not by:
                partials[(k, by)] = diffable[k]
            else:
                partials[(k, by)] = _drop_impulses(
                    sympy.diff(partial(k, by[:-1]), problem.variables[by[-1]])
                )
                # Bound the swell as it grows: each further derivative costs its size.
                budget.add(partials[(k, by)])
        return partials[(k, by)]

    raw = []
    for entry in target.entries:
        total = sympy.S.Zero
        for coefficient, k, by in entry.partials():
            term = partial(k, tuple(sorted(by)))
            total += term if coefficient == 1 else _exact(coefficient) * term
        raw.append(_back(total))
    return tuple(raw)


def _drop_impulses(expr: sympy.Expr) -> sympy.Expr:
    """The derivative where it exists: the derivative of a step or of sign (DiracDelta, or
    an unevaluated Derivative of sign where SymPy cannot prove the argument finite) is 0
    away from the jump, and at the jump the derivative does not exist at all, which the
    verdict finds from the one-sided limits, not from this formula."""
    if not expr.has(sympy.DiracDelta, sympy.Derivative):
        return expr
    expr = expr.replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)
    return expr.replace(
        lambda e: (
            isinstance(e, sympy.Derivative) and isinstance(e.expr, sympy.sign | sympy.Heaviside)
        ),
        lambda e: sympy.S.Zero,
    )


def _exact(number: float) -> sympy.Rational:
    return sympy.Rational(*Fraction(number).as_integer_ratio())


def _diffable(expr: sympy.Expr) -> sympy.Expr:
    # SymPy differentiates Abs(u) through re(u) and im(u) unless it can prove u real (it
    # cannot for asin(x)); over the reals the table's rule, sign(u)*u', is the derivative.
    return expr.replace(sympy.Abs, RealAbs)


def _back(expr: sympy.Expr) -> sympy.Expr:
    return expr.replace(RealAbs, sympy.Abs)


def _simplified(
    raw: tuple[sympy.Expr, ...], simplify_seconds: float
) -> tuple[tuple[sympy.Expr, ...], bool]:
    if simplify_seconds <= 0:
        return raw, False
    small = [sympy.count_ops(expr) <= SIMPLIFY_OPS for expr in raw]
    shown = tuple(_tidy(expr) if ok else expr for expr, ok in zip(raw, small, strict=True))
    return shown, all(small)


class RealAbs(sympy.Function):  # type: ignore[misc]
    """|u| for real u, differentiated by the op table's abs row: only inside gradient()."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return OPS["abs"].partials(*self.args)[0]


def _tidy(expr: sympy.Expr) -> sympy.Expr:
    # Cheap steps only (sympy.simplify can run for minutes on a formula of 50 operations).
    candidate = sympy.factor_terms(sympy.powsimp(expr))
    # Tidying may reach for functions no op-table row compiles (Piecewise, ...) or
    # produce something longer; the user is then better served by the plain derivative.
    if not _only_table_nodes(candidate) or sympy.count_ops(candidate) > sympy.count_ops(expr):
        return expr
    return candidate


def _only_table_nodes(expr: sympy.Expr) -> bool:
    for node in sympy.preorder_traversal(expr):
        if node.is_Atom or not node.free_symbols:
            continue
        if type(node) not in BY_NODE:
            return False
    return True
