"""The truth: the exact derivative evaluated with mpmath at 50 significant digits."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import mpmath
import sympy
from mpmath.libmp import finf, fnan, fninf

from diffcompare.language.ops import OPS, Real, as_mpf
from diffcompare.paths.memo import Memo

REFERENCE_DIGITS = 50

# Working precisions in decimal digits: a value is settled when two in a row agree to
# REFERENCE_DIGITS, so the first pair tolerates 20 digits of cancellation and each later pair
# more; past the last, SymPy's evalf decides.
PRECISIONS = (70, 100, 160, 280)

# A row with a kink at zero branches on its argument's sign, as does DiracDelta (which the
# derivatives of sign and Heaviside produce): the branch is trusted when the argument is exact
# or the same at two precisions, since a rounded zero has a sign at every precision.
_BRANCHING = {row.node for row in OPS.values() if row.kink == "zero" and row.node} | {
    sympy.DiracDelta
}
_BRANCH_DIGITS = 10  # plenty to know a sign
_CONSTANTS = {sympy.pi: mpmath.pi, sympy.E: mpmath.e}
_RULES = {row.node: row.mpmath for row in OPS.values() if row.node and row.mpmath}
_TOLERANCE = {digits: mpmath.mpf(10) ** -digits for digits in (REFERENCE_DIGITS, _BRANCH_DIGITS)}
_MISSING = object()
_ZERO = Fraction(0)
_INFINITE = (finf, fninf, fnan)


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
    left to SymPy's evalf. The walk is compiled once per formulas and variables (kept in a
    bounded cache): each point then does only the arithmetic.
    """
    program = _PROGRAMS.get(
        (tuple(formulas), tuple(variables)), lambda: _Program(formulas, variables)
    )
    table: list[list[mpmath.mpf | None]] = []
    for point in points:
        exact = [Fraction(x) for x in point]
        evaluation = _Evaluation(program, exact)
        row = []
        for i, formula in enumerate(formulas):
            if program.supported[i]:
                try:
                    row.append(evaluation.settled(i))
                    continue
                except _Unsettled:
                    pass
            row.append(_evalf_value(formula, dict(zip(variables, exact, strict=True))))
        table.append(row)
    return table


# Node kinds of a compiled program.
_VARIABLE, _EXACT, _CONSTANT, _UNDEFINED, _ROW, _UNSUPPORTED = range(6)


class _Program:
    """The formulas' distinct subformulas in an order where arguments come first, each with
    what its value is made from: a variable, an exact number, a constant evaluated at the
    working precision, no value, or an op-table row's function of its arguments."""

    def __init__(self, formulas: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol]) -> None:
        positions = {v: j for j, v in enumerate(variables)}
        ids: dict[sympy.Basic, int] = {}
        self.nodes: list[sympy.Basic] = []
        self.kinds: list[int] = []
        self.args: list[tuple[int, ...]] = []
        self.atoms: list[Any] = []  # the variable's position, the exact number or constant
        self.branching: list[bool] = []
        self.rules: list[Any] = []  # the row's mpmath function; None for DiracDelta
        self.exprs = tuple(formulas)
        self.formulas: list[int] = []
        for formula in formulas:
            stack: list[tuple[sympy.Basic, bool]] = [(formula, False)]
            while stack:
                node, ready = stack.pop()
                if node in ids:
                    continue
                if not ready and not node.is_Atom:
                    stack.append((node, True))
                    stack.extend((child, False) for child in reversed(node.args))
                    continue
                ids[node] = len(self.nodes)
                self._add(node, ids, positions)
            self.formulas.append(ids[formula])
        # Per formula: the nodes it holds, in order, and whether every one has a value rule.
        self.walks: list[list[int]] = []
        self.supported: list[bool] = []
        for root in self.formulas:
            held: set[int] = set()
            stack_ids = [root]
            while stack_ids:
                i = stack_ids.pop()
                if i not in held:
                    held.add(i)
                    stack_ids.extend(self.args[i])
            self.walks.append(sorted(held))
            self.supported.append(all(self.kinds[i] != _UNSUPPORTED for i in held))

    def _add(
        self, node: sympy.Basic, ids: dict[sympy.Basic, int], positions: dict[sympy.Basic, int]
    ) -> None:
        kind: int = _UNSUPPORTED
        atom: Any = None
        args: tuple[int, ...] = ()
        if node.is_Atom:
            if node.is_Symbol:
                if node in positions:
                    kind, atom = _VARIABLE, positions[node]
            elif node.is_Rational:
                kind, atom = _EXACT, Fraction(int(node.p), int(node.q))
            elif node.is_Float:
                ratio = sympy.Rational(node).as_numer_denom()
                kind, atom = _EXACT, Fraction(*(int(n) for n in ratio))
            elif node in _CONSTANTS:
                kind, atom = _CONSTANT, _CONSTANTS[node]
            elif node in (sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
                kind = _UNDEFINED
        else:
            args = tuple(ids[child] for child in node.args)
            if type(node) is sympy.DiracDelta or type(node) in _RULES:
                kind = _ROW
        self.nodes.append(node)
        self.kinds.append(kind)
        self.args.append(args)
        self.atoms.append(atom)
        self.branching.append(type(node) in _BRANCHING)
        self.rules.append(_RULES.get(type(node)))


_PROGRAMS: Memo[_Program] = Memo(256)


class _Evaluation:
    """Formulas at one point, each node evaluated once per working precision.

    Two precisions agreeing is evidence of a right value except where rounding decides
    something alike at both: a branch on the sign of a rounded zero, or a cancellation so
    complete that it leaves exactly 0 at both. Such nodes are kept as doubts, and a formula
    that holds one is settled only once the doubt is resolved at a higher pair.
    """

    def __init__(self, program: _Program, point: list[Fraction]) -> None:
        self.program = program
        self.point = point
        # From exact values: the same at every precision.
        self.exact: list[Any] = [_MISSING] * len(program.nodes)
        self.memos: dict[int, list[Any]] = {}
        self.doubts: dict[int, list[int]] = {}

    def settled(self, formula: int) -> mpmath.mpf | None:
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

    def value(self, formula: int, digits: int) -> Real | None:
        """Formula number `formula` at the working precision, its nodes computed in order."""
        root = self.program.formulas[formula]
        memo = self.memos.get(digits)
        if memo is None:
            memo = self.memos[digits] = [_MISSING] * len(self.program.nodes)
            self.doubts[digits] = []
        if self.exact[root] is _MISSING and memo[root] is _MISSING:
            with mpmath.workdps(digits):
                self._compute(self.program.walks[formula], memo, self.doubts[digits])
        value = self.exact[root]
        return memo[root] if value is _MISSING else value

    def _compute(self, walk: list[int], memo: list[Any], doubts: list[int]) -> None:
        """Each node of `walk` not known yet, its arguments already computed."""
        program, known = self.program, self.exact
        kinds, atoms, children = program.kinds, program.atoms, program.args
        for i in walk:
            if known[i] is not _MISSING or memo[i] is not _MISSING:
                continue
            kind = kinds[i]
            if kind == _VARIABLE:
                known[i] = self.point[atoms[i]]
                continue
            if kind == _EXACT:
                known[i] = atoms[i]
                continue
            if kind == _CONSTANT:
                memo[i] = +atoms[i]
                continue
            if kind == _UNDEFINED:
                memo[i] = None
                continue
            args = []
            exact = defined = True
            for child in children[i]:
                arg = known[child]
                if arg is _MISSING:
                    arg = memo[child]
                    exact = False
                defined = defined and arg is not None
                args.append(arg)
            value = _apply(program.rules[i], args) if defined else None
            if type(value) is mpmath.mpf and not value:
                if exact:
                    value = _ZERO  # mpmath's f(exact) = 0 is exact: sin(0), log(1)
                else:
                    doubts.append(i)
            elif program.branching[i] and known[children[i][0]] is _MISSING:
                doubts.append(i)
            if exact and type(value) is Fraction:
                known[i] = value
            else:
                memo[i] = value

    def _doubted(self, formula: int, low: int, high: int, last: bool) -> bool:
        """Whether the formula holds a doubt that the pair (low, high) does not resolve."""
        above = self.memos[high]
        unresolved = [
            self.program.nodes[i]
            for i in self.doubts[low]
            if above[i] is not _MISSING and not self._resolved(i, low, high, last)
        ]
        # Note: SymPy's has() also finds x + 1 in x + y + 1, as the walk by nodes did not.
        return bool(unresolved) and self.program.exprs[formula].has(*unresolved)

    def _resolved(self, i: int, low: int, high: int, last: bool) -> bool:
        value = self.memos[low][i]
        if type(value) is mpmath.mpf and not value:
            # A zero from rounded values: believed only when it is 0 still at the last pair.
            return last and self.memos[high][i] == 0
        # A branch is sure when its argument is the same at both: its sign is then known.
        arg = self.program.args[i][0]
        return _agree(self.memos[low][arg], self.memos[high][arg], _BRANCH_DIGITS)


def _apply(rule: Any, args: list[Real]) -> Real | None:
    """The row's mpmath function `rule` of `args`; None is DiracDelta's rule."""
    if rule is None:
        if args[0] == 0:
            return None  # an impulse: no finite value at its centre
        return _ZERO
    try:
        value = rule(*args)
    except (ZeroDivisionError, ValueError, OverflowError):
        return None
    if type(value) is Fraction or value is None:
        return value
    if type(value) is int:
        return Fraction(value)
    if type(value) is mpmath.mpf and value._mpf_ not in _INFINITE:
        return value
    return None  # non-real (mpc), infinite or nan


def _agree(a: Real | None, b: Real | None, digits: int) -> bool:
    if a is None or b is None:
        return a is b
    if type(a) is Fraction and type(b) is Fraction:
        return a == b  # exact at every precision
    with mpmath.workdps(PRECISIONS[-1]):
        a, b = as_mpf(a), as_mpf(b)
        return bool(abs(a - b) <= abs(b) * _TOLERANCE[digits])


def _evalf_value(formula: sympy.Expr, point: dict[sympy.Symbol, Fraction]) -> Any:
    subs = {v: sympy.Rational(x.numerator, x.denominator) for v, x in point.items()}
    try:
        value = formula.evalf(REFERENCE_DIGITS, subs=subs)
    except (ZeroDivisionError, ValueError, TypeError):
        return None
    if not (value.is_number and value.is_real and value.is_finite):
        return None
    with mpmath.workdps(REFERENCE_DIGITS + 10):
        return mpmath.mpf(sympy.Float(value, REFERENCE_DIGITS)._mpf_)
