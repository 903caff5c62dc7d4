"""paths/reference.py as it was before its walk was compiled per formulas (tests/test_fast_paths.py
checks that the compiled walk gives the same table): each point walks the SymPy trees."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import mpmath
import sympy

from diffcompare.language.ops import Real, as_mpf
from diffcompare.paths.reference import (
    _BRANCH_DIGITS,
    _BRANCHING,
    _CONSTANTS,
    _RULES,
    PRECISIONS,
    REFERENCE_DIGITS,
    _agree,
    _evalf_value,
)
from diffcompare.paths.reference import _apply as _apply_rule

_MISSING = object()
_ZERO = Fraction(0)


class _Unsupported(Exception):
    """A node that no row covers: its formula goes to evalf."""


class _Unsettled(Exception):
    """No two working precisions agree: the formula goes to evalf."""


def reference(
    formulas: Sequence[sympy.Expr],
    variables: Sequence[sympy.Symbol],
    points: Sequence[Sequence[float | Fraction]],
) -> list[list[mpmath.mpf | None]]:
    """Each formula at each point to REFERENCE_DIGITS digits: a table, one row per point.

    Points are taken as the exact binary values the methods see (or exact fractions). An
    entry is None where the formula has no finite real value (outside the domain, a pole, a
    non-real part). Each formula is walked with its op-table rows' mpmath functions at two
    working precisions, sharing subformulas between formulas at a point, and exact where the
    rows allow; a formula with a node no row covers, or whose precisions never agree, is
    left to SymPy's evalf.
    """
    unsupported: set[int] = set()
    table: list[list[mpmath.mpf | None]] = []
    for point in points:
        exact = {v: Fraction(x) for v, x in zip(variables, point, strict=True)}
        evaluation = _Evaluation(exact)
        row = []
        for i, formula in enumerate(formulas):
            if i not in unsupported:
                try:
                    row.append(evaluation.settled(formula))
                    continue
                except _Unsupported:
                    unsupported.add(i)
                except _Unsettled:
                    pass
            row.append(_evalf_value(formula, exact))
        table.append(row)
    return table


class _Evaluation:
    """Formulas at one point, each node evaluated once per working precision.

    Two precisions agreeing is evidence of a right value except where rounding decides
    something alike at both: a branch on the sign of a rounded zero, or a cancellation so
    complete that it leaves exactly 0 at both. Such nodes are kept as doubts, and a formula
    that holds one is settled only once the doubt is resolved at a higher pair.
    """

    def __init__(self, point: dict[sympy.Symbol, Fraction]) -> None:
        self.point = point
        self.exact: dict[
            sympy.Basic, Fraction
        ] = {}  # from exact values: the same at every precision
        self.memos: dict[int, dict[sympy.Basic, Real | None]] = {}
        self.doubts: dict[int, list[sympy.Basic]] = {}

    def settled(self, formula: sympy.Expr) -> mpmath.mpf | None:
        """The formula's value once two precisions agree; None where it has no real value."""
        previous = self.value(formula, PRECISIONS[0])
        pairs = list(zip(PRECISIONS, PRECISIONS[1:], strict=False))
        for low, high in pairs:
            value = self.value(formula, high)
            if _agree(previous, value, REFERENCE_DIGITS) and not self._doubted(
                formula, low, high, last=(low, high) == pairs[-1]
            ):
                if value is None:
                    return None
                with mpmath.workdps(REFERENCE_DIGITS):
                    return +as_mpf(value)
            previous = value
        raise _Unsettled

    def value(self, node: sympy.Basic, digits: int) -> Real | None:
        value = self.exact.get(node, _MISSING)
        if value is _MISSING:
            memo = self.memos.setdefault(digits, {})
            value = memo.get(node, _MISSING)
            if value is _MISSING:
                with mpmath.workdps(digits):
                    value = self._compute(node, memo, self.doubts.setdefault(digits, []))
        return value

    def _compute(
        self, node: sympy.Basic, memo: dict[sympy.Basic, Real | None], doubts: list[sympy.Basic]
    ) -> Real | None:
        """The node's value at the working precision, its arguments' looked up or computed."""
        known = self.exact
        if node.is_Atom:
            value = self._atom(node)
            exact = type(value) is Fraction
        else:
            args = []
            exact = defined = True
            for child in node.args:
                arg = known.get(child, _MISSING)
                if arg is _MISSING:
                    arg = memo.get(child, _MISSING)
                    if arg is _MISSING:
                        arg = self._compute(child, memo, doubts)
                        exact = exact and child in known
                    else:
                        exact = False
                defined = defined and arg is not None
                args.append(arg)
            value = _apply(node, args) if defined else None
            if type(value) is mpmath.mpf and not value:
                if exact:
                    value = _ZERO  # mpmath's f(exact) = 0 is exact: sin(0), log(1)
                else:
                    doubts.append(node)
            elif type(node) in _BRANCHING and node.args[0] not in known:
                doubts.append(node)
        if exact and type(value) is Fraction:
            known[node] = value
        else:
            memo[node] = value
        return value

    def _atom(self, node: sympy.Basic) -> Real | None:
        if node.is_Symbol:
            if node not in self.point:
                raise _Unsupported(node)  # evalf leaves it symbolic: no value
            return self.point[node]
        if node.is_Rational:
            return Fraction(int(node.p), int(node.q))
        if node.is_Float:
            return Fraction(*(int(n) for n in sympy.Rational(node).as_numer_denom()))
        if node in _CONSTANTS:
            return +_CONSTANTS[node]
        if node in (sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
            return None
        raise _Unsupported(node)

    def _doubted(self, formula: sympy.Expr, low: int, high: int, last: bool) -> bool:
        """Whether the formula holds a doubt that the pair (low, high) does not resolve."""
        unresolved = [
            node
            for node in self.doubts[low]
            if node in self.memos[high] and not self._resolved(node, low, high, last)
        ]
        return bool(unresolved) and formula.has(*unresolved)

    def _resolved(self, node: sympy.Basic, low: int, high: int, last: bool) -> bool:
        value = self.memos[low][node]
        if type(value) is mpmath.mpf and not value:
            # A zero from rounded values: believed only when it is 0 still at the last pair.
            return last and self.memos[high][node] == 0
        # A branch is sure when its argument is the same at both: its sign is then known.
        arg = node.args[0]
        return _agree(self.memos[low][arg], self.memos[high][arg], _BRANCH_DIGITS)


def _apply(node: sympy.Basic, args: list[Real]) -> Real | None:
    if type(node) is sympy.DiracDelta:
        if args[0] == 0:
            return None  # an impulse: no finite value at its centre
        return _ZERO
    rule = _RULES.get(type(node))
    if rule is None:
        raise _Unsupported(node)
    return _apply_rule(rule, args)
