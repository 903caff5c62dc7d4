"""Shrinking a failing expression of an engine to a minimal one, at a simple point.

First the simplest expressions over each op the failing one uses, most suspect op first
(`x*x`, `x*y`, `x*2`, `sin(x)`, ...): an op that is wrong on its own shows there. Failing
that, the failing expression's subexpressions and the expressions made by replacing one of
its nodes by one of its arguments, smallest first, repeatedly while a smaller one still
fails. Each candidate is judged at simple points (small integers first, then halves, then
the point where the original failed), and the first failing point is kept.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence

import sympy

from diffcompare.oracle._engine import DiffCompareError, Problem, parse
from diffcompare.oracle.adapter import Adapter
from diffcompare.oracle.into_engine import Unsupported, compile_into, to_text
from diffcompare.oracle.judge_engine import Miss, judge

VALUES = (1.0, 2.0, -1.0, 3.0, -2.0, 0.5, 0.0, -0.5, 1.5)
"""Simple values of a variable, simplest first."""

POINTS_PER_CANDIDATE = 10
ROUNDS = 8
CANDIDATES_PER_ROUND = 40


def simple_texts(op: str) -> list[str]:
    """The simplest expressions that use `op` (a key of Adapter.ops) once."""
    if op in ("+", "-", "*", "/"):
        return [f"x {op} x", f"x {op} y", f"x {op} 2", f"2 {op} x"]
    if op == "**":
        return ["x**2", "x**3", "x**(-1)", "x**0.5", "x**(-2)"]
    if op in ("min", "max"):
        return [f"{op}(x, y)", f"{op}(x, 2)", f"{op}(x, y, 2)"]
    if op == "dot":
        return ["dot([x, y], [y, x])", "dot([x, x], [x, 2])", "dot([x, 1], [2, y])"]
    if op in ("sum", "mean", "prod", "norm"):
        return [f"{op}([x, y])", f"{op}([x, x])", f"{op}([x, 2])", f"{op}([x, y, 2])"]
    return [f"{op}(x)", f"{op}(2*x)"]


def simple_points(names: Sequence[str], also: Mapping[str, float]) -> list[dict[str, float]]:
    """Points over `names` with simple values, simplest first, then `also` (the point where
    the original failed) restricted to `names` where it has them."""
    ranked = sorted(
        itertools.product(range(len(VALUES)), repeat=len(names)), key=lambda r: (sum(r), r)
    )
    points = [
        {n: VALUES[i] for n, i in zip(names, r, strict=True)} for r in ranked[:POINTS_PER_CANDIDATE]
    ]
    if all(n in also for n in names):
        points.append({n: also[n] for n in names})
    return points


def _size(expr: sympy.Expr) -> int:
    return sum(1 for _ in sympy.preorder_traversal(expr))


Try = Callable[[str, Mapping[str, float]], Miss | None]


def make_try(adapter: Adapter) -> Try:
    """A function judging one candidate text at simple points: its first miss, or None
    (also for a text the adapter cannot run or the parser refuses)."""

    def attempt(text: str, also: Mapping[str, float]) -> Miss | None:
        try:
            problem = parse(text)
            plan = compile_into(problem.graph, adapter)
        except (DiffCompareError, Unsupported, ValueError, TypeError):
            return None
        at = simple_points(problem.names, also)
        found = judge(adapter, problem, plan, at=at, text=text)
        return found.misses[0] if found.misses else None

    return attempt


def shrink(adapter: Adapter, problem: Problem, miss: Miss, ops: Iterable[str]) -> Miss:
    """The smallest failing expression and simplest failing point found from `miss` (a
    failure of `problem`), trying the ops in the order given."""
    attempt = make_try(adapter)
    for op in ops:
        for text in simple_texts(op):
            found = attempt(text, miss.point)
            if found is not None:
                return found
    best, best_miss = problem.graph, miss
    for _ in range(ROUNDS):
        smaller = sorted(_smaller(best), key=_size)[:CANDIDATES_PER_ROUND]
        for candidate in smaller:
            try:
                text = to_text(candidate)
            except Unsupported:
                continue
            found = attempt(text, best_miss.point)
            if found is not None:
                best, best_miss = candidate, found
                break
        else:
            break
    again = attempt(to_text(best), {}) if best is not problem.graph else None
    return again if again is not None else best_miss


def _smaller(expr: sympy.Expr) -> set[sympy.Expr]:
    """The subexpressions of `expr` with a variable, and `expr` with one node (everywhere
    it occurs) replaced by one of its arguments that has a variable."""
    found: set[sympy.Expr] = set()
    for node in sympy.preorder_traversal(expr):
        if node is expr or not node.free_symbols:
            continue
        found.add(node)
    for node in set(sympy.preorder_traversal(expr)):
        for arg in getattr(node, "args", ()):
            if arg.free_symbols and node.free_symbols and node is not arg:
                hoisted = _replace(expr, node, arg)
                if hoisted != expr and hoisted.free_symbols:
                    found.add(hoisted)
    return found


def _replace(expr: sympy.Expr, old: sympy.Expr, new: sympy.Expr) -> sympy.Expr:
    """`expr` with every `old` replaced by `new`, rebuilt as typed (xreplace would let
    SymPy evaluate, turning x*x into x**2)."""
    if expr == old:
        return new
    if not expr.args:
        return expr
    args = [_replace(a, old, new) for a in expr.args]
    if all(a is b for a, b in zip(args, expr.args, strict=True)):
        return expr
    return expr.func(*args, evaluate=False)
