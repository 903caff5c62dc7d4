"""What an explanation needs that does not depend on the point, kept in a bounded cache."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from diffcompare.errors import UsageError
from diffcompare.language.parser import parse
from diffcompare.language.problem import Problem, choose_wrt
from diffcompare.paths.budget import check_entries
from diffcompare.paths.compiler import Tape, compile_problem
from diffcompare.paths.memo import Memo
from diffcompare.paths.symbolic import Gradient, gradient

CACHE_SIZE = 64
"""Prepared explanations kept (by text and options), the least recently used dropped first."""

_PREPARED: Memo[tuple[Problem, Tape, tuple[Gradient, ...]]] = Memo(CACHE_SIZE)


def clear_cache() -> None:
    """Forget every prepared explanation (after changing a SymPy rule or an op-table row)."""
    _PREPARED.cache_clear()


def prepared(
    expr: str | Problem,
    wrt: str | Sequence[str] | None,
    shapes: Mapping[str, Sequence[int]] | None,
    simplify_seconds: float,
) -> tuple[Problem, Tape, tuple[Gradient, ...]]:
    """What an explanation needs that does not depend on the point (the parsed problem, its
    compiled tape and each output's SymPy gradient), from the bounded cache or made and kept
    there, so explaining the same text at many points derives and compiles it once."""

    def make() -> tuple[Problem, Tape, tuple[Gradient, ...]]:
        if isinstance(expr, str):
            problem = parse(expr, shapes=shapes) if shapes else parse(expr)
        else:
            problem = expr
        if not problem.variables:
            raise UsageError(f"{problem.text!r} has no variables to differentiate by")
        targets = choose_wrt(problem, wrt)
        check_entries(problem, len(problem.outputs) * len(targets))
        tape = compile_problem(problem)
        # A vector-valued expression is explained row by row: one backward pass per output.
        derivatives = tuple(
            gradient(problem, targets, simplify_seconds / len(problem.outputs), output=k)
            for k in range(len(problem.outputs))
        )
        return problem, tape, derivatives

    try:
        key = (
            expr if isinstance(expr, str) else ("problem", expr),
            None if shapes is None else tuple((k, tuple(v)) for k, v in shapes.items()),
            wrt if wrt is None or isinstance(wrt, str) else tuple(wrt),
            simplify_seconds > 0,
        )
        hash(key)
    except TypeError:
        return make()
    return _PREPARED.get(key, make)
