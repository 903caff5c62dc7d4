"""The symbolic path: SymPy's partial derivatives, evaluated as SymPy gives them, and tidied
for display only when shown, with work bounded by the formula's size."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import sympy

from diffcompare.language.ops import BY_NODE, LARGE_REDUCTION, OPS, _Reduction
from diffcompare.language.problem import Problem
from diffcompare.paths.budget import FormulaBudget
from diffcompare.paths.targets import Target

SIMPLIFY_SECONDS = 2.0
"""Kept for the API: any positive value asks for the tidied display form, 0 for SymPy's
derivative as it comes. Tidying is bounded by work (TIDY_OPS), not by a clock."""

TIDY_OPS = 80
"""The largest formula (in SymPy's operation count) that is tidied for display: the tidy
steps (factor_terms, together) cost polynomially in the size, so this bounds their work."""


@dataclass(frozen=True)
class Derivatives:
    """The exact formula of each entry of a derivative.

    `raw` is what sympy.diff returned (combined by the entry's seed and directions): the
    symbolic method evaluates it and the reference is computed from it. `shown` is the form
    displayed: a cheap tidy of each raw formula (factor_terms, together) where that is
    smaller and the formula is at most TIDY_OPS operations, else `raw`; it is computed on
    first access only and kept. `simplified` says whether every formula was small enough to
    be tidied. `sizes` is the operation count of each raw formula: the expression swell of
    symbolic differentiation. `tidy` False shows the raw formulas as they come.
    """

    raw: tuple[sympy.Expr, ...]
    tidy: bool = True

    @cached_property
    def _display(self) -> tuple[tuple[sympy.Expr, ...], bool]:
        if not self.tidy:
            return self.raw, False
        # A formula over a large reduction is not tidied: few operations, but n components
        # for factor_terms and together to walk in each formula.
        small = [
            size <= TIDY_OPS and not _large_reductions(expr)
            for size, expr in zip(self.sizes, self.raw, strict=True)
        ]
        shown = tuple(_tidy(e) if ok else e for e, ok in zip(self.raw, small, strict=True))
        return shown, all(small)

    @property
    def shown(self) -> tuple[sympy.Expr, ...]:
        return self._display[0]

    @property
    def simplified(self) -> bool:
        return self._display[1]

    @cached_property
    def sizes(self) -> tuple[int, ...]:
        memo: dict[sympy.Basic, int] = {}
        return tuple(_count_ops(f, memo) for f in self.raw)


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
    back = _Holds(RealAbs)
    raw = tuple(_back(sympy.diff(diffable, variable), back) for variable in wrt)
    return Gradient(raw=raw, tidy=simplify_seconds > 0, wrt=tuple(wrt))


def derive(
    problem: Problem, target: Target, simplify_seconds: float = SIMPLIFY_SECONDS
) -> Derivatives:
    """The formula of every entry of `target`: each partial derivative is taken once (by
    the variables in sorted order: the order does not matter where the derivative exists)
    and the entries combine them by their seeds and directions.

    Nothing is simplified here: the display form is tidied when first shown (see
    Derivatives), and not at all with `simplify_seconds` 0.
    """
    return Derivatives(raw=raw_derivatives(problem, target), tidy=simplify_seconds > 0)


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
    # A reduction over many components is differentiated as its one node (see
    # LARGE_REDUCTION): SymPy's expansion costs O(n) per partial, O(n^2) for a gradient.
    large = has_large_reduction(problem.graphs)
    as_typed = as_typed or large
    diffable = [_diffable(out) for out in (problem.graphs if as_typed else problem.outputs)]
    partials: dict[tuple[int, tuple[int, ...]], sympy.Expr] = {}
    budget = FormulaBudget()
    # Shared over all the entries, so a subformula every entry holds (the norm in each
    # x_i / norm(x)) is looked through once, not once per entry.
    impulses, back = _Holds(sympy.DiracDelta, sympy.Derivative), _Holds(RealAbs)

    def partial(k: int, by: tuple[int, ...]) -> sympy.Expr:
        if (k, by) not in partials:
            if not by:
                partials[(k, by)] = diffable[k]
            else:
                by_variable = problem.variables[by[-1]]
                partials[(k, by)] = _drop_impulses(
                    _differentiate(partial(k, by[:-1]), by_variable, impulses, large), impulses
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
        raw.append(_back(total, back))
    return tuple(raw)


def _differentiate(expr: sympy.Expr, by: sympy.Symbol, impulses: _Holds, large: bool) -> sympy.Expr:
    """sympy.diff(expr, by). Over a large reduction, the derivative rule is called directly:
    Derivative() would walk every formula it returns whole (to make any unevaluated
    Derivative in it canonical), n components in each of n formulas; where the result
    holds an unevaluated Derivative, sympy.diff makes it as usual."""
    if large and hasattr(expr, "_eval_derivative"):
        if by not in expr.free_symbols:
            return sympy.S.Zero
        result = expr._eval_derivative(by)
        if result is not None and not impulses(result):
            return result
    return sympy.diff(expr, by)


def has_large_reduction(exprs: Sequence[sympy.Expr]) -> bool:
    """Whether any of `exprs` holds a reduction over LARGE_REDUCTION components or more."""
    seen: set[sympy.Basic] = set()
    stack = list(exprs)
    while stack:
        expr = stack.pop()
        if expr in seen:
            continue
        seen.add(expr)
        if isinstance(expr, _Reduction) and len(expr.args) >= LARGE_REDUCTION:
            return True
        stack.extend(expr.args)
    return False


class _Holds:
    """Whether formulas hold a node of the given classes, each distinct subformula looked at
    once over all the calls (SymPy's `has` walks every formula whole)."""

    def __init__(self, *kinds: type[sympy.Basic]) -> None:
        self.kinds = kinds
        self.memo: dict[sympy.Basic, bool] = {}

    def __call__(self, expr: sympy.Basic) -> bool:
        memo = self.memo
        stack = [(expr, False)]
        while stack:
            node, ready = stack.pop()
            if node in memo:
                continue
            if ready or not node.args:
                memo[node] = isinstance(node, self.kinds) or any(memo[a] for a in node.args)
            else:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if a not in memo)
        return memo[expr]


def _count_ops(expr: sympy.Expr, memo: dict[sympy.Basic, int]) -> int:
    """sympy.count_ops(expr), with each large reduction's count made once (`memo`, shared by
    the formulas): count_ops counts a function node as one operation plus its arguments', so
    the formula with its large reductions as placeholders, plus their counts, is the same
    number, without walking n components in each of n formulas."""
    if expr.is_Symbol:
        return 0
    if not memo and not _large_reductions(expr):
        return int(sympy.count_ops(expr))
    # Every reduction node is counted once (a product's partials share their halves).
    memo.setdefault(_LARGE, 1)
    large = _large_reductions(expr, 1)
    if not large:
        return int(sympy.count_ops(expr))
    marks = {r: sympy.Dummy() for r in large}
    shown = expr.xreplace(marks)
    total = int(sympy.count_ops(shown))
    times = Counter(sympy.preorder_traversal(shown))  # occurrences in the tree, as counted
    for r, mark in marks.items():
        if r not in memo:
            memo[r] = 1 + sum(_count_ops(a, memo) for a in r.args)
        total += memo[r] * times[mark]
    return total


_LARGE = sympy.Symbol("_large")  # marks a memo of _count_ops as over large reductions


def _large_reductions(expr: sympy.Expr, least: int = LARGE_REDUCTION) -> list[sympy.Basic]:
    """The reductions of `expr` over `least` components or more that are not inside another
    one (their insides unvisited)."""
    found: dict[sympy.Basic, None] = {}
    seen: set[sympy.Basic] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, _Reduction) and len(node.args) >= least:
            found[node] = None
        else:
            stack.extend(node.args)
    return list(found)


def _drop_impulses(expr: sympy.Expr, holds: _Holds) -> sympy.Expr:
    """The derivative where it exists: the derivative of a step or of sign (DiracDelta, or
    an unevaluated Derivative of sign where SymPy cannot prove the argument finite) is 0
    away from the jump, and at the jump the derivative does not exist at all, which the
    verdict finds from the one-sided limits, not from this formula."""
    if not holds(expr):
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


def _back(expr: sympy.Expr, holds: _Holds) -> sympy.Expr:
    return expr.replace(RealAbs, sympy.Abs) if holds(expr) else expr


class RealAbs(sympy.Function):  # type: ignore[misc]
    """|u| for real u, differentiated by the op table's abs row: only inside gradient()."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return OPS["abs"].partials(*self.args)[0]


def _small(expr: sympy.Expr) -> bool:
    return bool(sympy.count_ops(expr) <= TIDY_OPS)


def _tidy(expr: sympy.Expr) -> sympy.Expr:
    """The smallest of the formula and its cheap tidy forms (common factors pulled out, one
    fraction), if it is small enough to tidy; the formula itself when nothing is smaller.
    No sympy.simplify: its cost has no bound in the formula's size."""
    if not _small(expr):
        return expr
    best, size = expr, sympy.count_ops(expr)
    for step in (sympy.factor_terms, sympy.together):
        candidate = step(expr)
        # A tidy form may reach for functions no op-table row compiles, or be longer; the
        # user is then better served by the plain derivative.
        candidate_size = sympy.count_ops(candidate)
        if candidate_size < size and _only_table_nodes(candidate):
            best, size = candidate, candidate_size
    return best


def _only_table_nodes(expr: sympy.Expr) -> bool:
    for node in sympy.preorder_traversal(expr):
        if node.is_Atom or not node.free_symbols:
            continue
        if type(node) not in BY_NODE:
            return False
    return True
