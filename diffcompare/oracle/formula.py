"""A claimed derivative ("check my answer"): parsed with diffcompare.parse, proved with SymPy where
the difference is small enough to settle quickly, and evaluated at 50 digits for refutation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sympy

from diffcompare.oracle._engine import Problem, UsageError, parse, reference
from diffcompare.oracle.points import Row

MAX_PROOF_OPS = 80
"""Operations in the difference claim - truth beyond which no proof is tried: SymPy's
simplification has no time bound of its own and library code takes no signals, so the cost is
bounded by the size of what it is given."""

MAX_SIMPLIFY_OPS = 25
"""simplify() (the slowest step, which tries everything) only on a difference this small."""


def claims(
    problem: Problem, formula: str | Mapping[str, str], wrt: tuple[str, ...]
) -> dict[str, sympy.Expr]:
    """The claimed derivative by each wrt variable, as SymPy expressions over the problem's
    own symbols. Raises UsageError for a formula that names an unknown variable, a missing
    or extra entry, or a vector expression."""
    if problem.output_shape or problem.shapes:
        raise UsageError(
            "formula= checks the derivative of a scalar expression of scalar variables"
        )
    if isinstance(formula, str):
        if len(wrt) != 1:
            raise UsageError(
                f"formula={formula!r} is one derivative but the expression has {len(wrt)} "
                f"variables ({', '.join(wrt)}): give wrt= or a mapping variable -> formula"
            )
        given = {wrt[0]: formula}
    else:
        given = dict(formula)
        extra = sorted(set(given) - set(wrt))
        missing = [name for name in wrt if name not in given]
        if extra or missing:
            raise UsageError(
                f"formula: expected one formula for each of {', '.join(wrt)}"
                + (f"; not differentiated by: {', '.join(extra)}" if extra else "")
                + (f"; missing: {', '.join(missing)}" if missing else "")
            )
    symbols = {v.name: v for v in problem.variables}
    out: dict[str, sympy.Expr] = {}
    for name in wrt:
        claim = parse(given[name])
        if claim.output_shape:
            raise UsageError(f"formula for {name}: expected one expression, got an array")
        unknown = [v.name for v in claim.variables if v.name not in symbols]
        if unknown:
            raise UsageError(
                f"formula for {name}: {', '.join(unknown)} is not a variable of the expression "
                f"(its variables: {', '.join(symbols)})"
            )
        out[name] = claim.outputs[0].xreplace({v: symbols[v.name] for v in claim.variables})
    return out


def derivatives(problem: Problem, wrt: tuple[str, ...]) -> dict[str, sympy.Expr]:
    """The true derivative by each wrt variable (SymPy's diff of the parsed expression)."""
    return {name: sympy.diff(problem.outputs[0], problem.symbol(name)) for name in wrt}


def prove(claim: sympy.Expr, truth: sympy.Expr) -> bool:
    """Whether SymPy shows claim - truth == 0 within the size bounds (False: not shown, which
    is not a refutation)."""
    difference = claim - truth
    if difference == 0:
        return True
    if sympy.count_ops(difference) > MAX_PROOF_OPS:
        return False
    steps = [sympy.expand, sympy.cancel, lambda d: sympy.expand(sympy.expand_trig(d))]
    for step in steps:
        if step(difference) == 0:
            return True
    if sympy.count_ops(difference) <= MAX_SIMPLIFY_OPS:
        return bool(sympy.simplify(difference) == 0)
    return False


def evaluate(problem: Problem, formulas: Sequence[sympy.Expr], rows: Sequence[Row]) -> np.ndarray:
    """The formulas at the rows to 50 digits, rounded to float64; NaN where one has no finite
    real value."""
    table = reference(list(formulas), problem.variables, [list(r) for r in rows])
    return np.array(
        [[np.nan if v is None else float(v) for v in row] for row in table], dtype=np.float64
    ).reshape(len(rows), len(formulas))


def equal_within_reference(claimed: np.ndarray, truth: np.ndarray) -> Any:
    """Where two 50-digit values rounded to float64 are the same number: within 2 units in
    the last place of float64, or both below 1e-30, the resolution of a 50-digit evaluation of
    terms of order one (a difference that cancels to 0 comes out as about 1e-50)."""
    scale = np.maximum(np.abs(claimed), np.abs(truth))
    gap = np.abs(claimed - truth)
    return (gap <= 2 * np.spacing(scale)) | (gap <= 1e-30)
