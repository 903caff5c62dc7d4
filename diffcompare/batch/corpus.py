"""Corpora for batch runs: seeded random expressions from the op table (the oracle's
generator), each with points where it is real, finite and smooth, chosen by the engine's
own sampler, as batch input items."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

POINTS = 3
"""In-domain points per expression."""

ATTEMPTS = 20
"""Expressions drawn per item before giving up on finding one with in-domain points."""


def functions(ops: Sequence[str] | None = None) -> dict[str, Any]:
    """The op-table rows the corpus draws from: all, or those named in `ops`. Raises
    UsageError for a name that is not a function of the table."""
    from diffcompare.batch._engine import FUNCTIONS, UsageError

    if not ops:
        return dict(FUNCTIONS)
    unknown = [name for name in ops if name not in FUNCTIONS]
    if unknown:
        raise UsageError(
            f"--ops {','.join(ops)}: {unknown[0]!r} is not a function; "
            f"choose from {', '.join(sorted(FUNCTIONS))}"
        )
    return {name: FUNCTIONS[name] for name in ops}


def corpus(
    count: int, seed: int = 0, ops: Sequence[str] | None = None, points: int = POINTS
) -> Iterator[dict[str, Any]]:
    """`count` batch items {"id": k, "expr": ..., "at": [...]} (ids from 1): the k-th
    expression holds the k-th function of the table (cyclically), with `points` seeded
    points where the engine's sampler finds it real, finite and off every kink.
    An expression with no such point is replaced by another draw. Deterministic in
    `seed`; yields as it goes."""
    from diffcompare.batch._engine import ExpressionGenerator
    from diffcompare.batch.work import BatchError

    table = functions(ops)
    generator = ExpressionGenerator(seed, table)
    names = sorted(table)
    for k in range(count):
        for _ in range(ATTEMPTS):
            text = generator.expression(must=names[k % len(names)])
            found = in_domain_points(text, points, seed + k)
            if found:
                yield {"id": k + 1, "expr": text, "at": found}
                break
        else:
            raise BatchError(
                f"found no expression with in-domain points in {ATTEMPTS} draws over "
                f"{', '.join(names)}: add functions to --ops"
            )


def in_domain_points(text: str, count: int, seed: int) -> list[dict[str, float]]:
    """Up to `count` points where `text` and its gradient are real and finite in float64 and
    no kink or domain edge is near, by the sampler `compare` uses without `at` (none when
    it finds no such point, or the text is refused)."""
    from diffcompare.batch._engine import DiffCompareError, _sample, parse, prepare

    try:
        problem = parse(text)
        setup = prepare(problem, None, simplify_seconds=0)
        rows = _sample(setup, count, seed)
    except DiffCompareError:
        return []
    return [dict(zip(problem.names, row, strict=True)) for row in rows.tolist()]
