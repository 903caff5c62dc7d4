"""Where the oracle looks: given points, seeded samples from a domain (real, finite, away from
kinks), simple probe points, and the simpler neighbours a failing point shrinks through."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from diffcompare.oracle._engine import (
    Problem,
    Setup,
    UsageError,
    parse_domain,
    point_values,
    usable,
)

Row = tuple[float, ...]  # one value per scalar variable, in the problem's order

DEFAULT_RANGE = (-3.0, 3.0)
"""A variable's range when the domain does not name it (the engine's first sampling range)."""

ROUNDS = 8
"""Batches of 256 candidates the sampler draws before it settles for fewer points."""

PROBE_VALUES = (0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0)
MAX_PROBES = 64


def given_rows(problem: Problem, at: Any) -> list[Row]:
    """`at` (a mapping, a list of mappings, or a bare number for one variable) as rows."""
    given = [at] if isinstance(at, Mapping | int | float) else list(at)
    if not given:
        raise UsageError("at: no points given")
    return [point_values(problem, point) for point in given]


def ranges(problem: Problem, domain: str | Mapping[str, Any] | None) -> list[tuple[float, float]]:
    """The sampling range of each scalar variable: an array variable's range covers all its
    components; a variable the domain does not name gets DEFAULT_RANGE."""
    if domain is None:
        parsed: dict[str, tuple[float, float]] = {}
    elif isinstance(domain, str):
        parsed = parse_domain(domain)
    else:
        parsed = {}
        for name, span in domain.items():
            low, high = (float(v) for v in span)
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise UsageError(f"domain {name}: need finite low < high, got {span!r}")
            parsed[name] = (low, high)
    for name in parsed:
        if name not in problem.user_names and name not in problem.names:
            raise UsageError(
                f"domain {name}: not a variable of the expression (its variables: "
                f"{', '.join(problem.user_names)})"
            )
    return [
        parsed.get(v.name, parsed.get(v.name.split("[", 1)[0], DEFAULT_RANGE))
        for v in problem.variables
    ]


def sample(
    setup: Setup, spans: Sequence[tuple[float, float]], count: int, seed: int, dtype: Any
) -> list[Row]:
    """`count` seeded points in the box `spans`, rounded to few digits for reading: where the
    expression and its derivative are real and finite and no kink or domain edge is near,
    topped up with other points of the box when there are too few of those."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    low = torch.tensor([s[0] for s in spans], dtype=torch.float64)
    high = torch.tensor([s[1] for s in spans], dtype=torch.float64)
    # Two decimals on a range of a few units, more on a narrow one.
    decimals = torch.tensor(
        [max(2, 2 - math.floor(math.log10(h - lo))) for lo, h in spans], dtype=torch.float64
    )
    scale = 10.0**decimals
    found: list[Row] = []
    spare: list[Row] = []  # off the engine's sampling rules: near a kink, or far out
    for _ in range(ROUNDS):
        draw = torch.rand(256, len(spans), generator=generator, dtype=torch.float64)
        draw = torch.round((low + (high - low) * draw) * scale) / scale
        draw = torch.minimum(torch.maximum(draw, low), high).to(dtype)
        keep = usable(setup, draw)
        found.extend(tuple(row) for row in draw[keep].tolist())
        spare.extend(tuple(row) for row in draw[~keep].tolist())
        if len(found) >= count:
            break
    # The engine keeps its samples a few finite-difference steps off every kink (0.16 in
    # float32); a domain that lies closer than that still gets points: the comparison at
    # each judges whether it is defined and smooth there.
    return (found + spare)[:count]


def probes(
    setup: Setup, spans: Sequence[tuple[float, float]], seed: int, dtype: Any, count: int
) -> list[Row]:
    """At most `count` simple points (small integers and halves in the domain) where
    hand-written gradients often slip: branches at 0 and 1, integer powers; the usable ones."""
    import torch

    values = [
        [v for v in PROBE_VALUES if lo <= v <= hi] or [_round_mid(lo, hi)] for lo, hi in spans
    ]
    grid = itertools.product(*values)
    rows = list(itertools.islice(grid, 4 * MAX_PROBES))
    count = min(count, MAX_PROBES)
    if len(rows) > count:
        rows = random.Random(seed).sample(rows, count)
    if not rows:
        return []
    table = torch.tensor(rows, dtype=torch.float64).to(dtype)
    return [tuple(row) for row in table[usable(setup, table)].tolist()]


def _round_mid(low: float, high: float) -> float:
    middle = (low + high) / 2
    for digits in range(0, 17):
        value = round(middle, digits)
        if low <= value <= high:
            return value
    return middle


def complexity(value: float) -> float:
    """How hard a number is to read: 0 for 0, then small integers, then more digits."""
    if value == 0:
        return 0.0
    text = f"{abs(value):.15g}"
    mantissa = text.split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = 3.0 if "e" in text else 0.0
    return 1.0 + 2.0 * decimals + exponent + math.log10(1 + abs(value)) + 0.1 * (value < 0)


def row_complexity(row: Row) -> float:
    return sum(complexity(v) for v in row)


def simpler_values(value: float) -> list[float]:
    """Values simpler than `value`, simplest first: 0, small integers up to its size, then
    `value` rounded to fewer digits."""
    out: list[float] = [0.0]
    sign = 1.0 if value >= 0 else -1.0
    for k in range(1, min(int(abs(value)) + 2, 6)):
        out += [sign * k, -sign * k]
    out += [sign * 0.5, float(round(value))]
    out += [round(value, d) for d in range(1, 4)]
    seen: dict[float, None] = {}
    for v in out:
        if complexity(v) < complexity(value) and v != value:
            seen[v] = None
    return sorted(seen, key=complexity)


def shrink_candidates(
    row: Row, spans: Sequence[tuple[float, float]] | None, limit: int = 24
) -> list[Row]:
    """Rows simpler than `row`: every other variable 0 (or 1); one variable simplified at a
    time; every variable simplified together; simplest first, inside `spans` if given."""
    found: dict[Row, None] = {}

    def add(candidate: Iterable[float]) -> None:
        candidate = tuple(candidate)
        if spans is not None and not all(
            lo <= v <= hi for v, (lo, hi) in zip(candidate, spans, strict=True)
        ):
            return
        if candidate != row:
            found[candidate] = None

    options = [simpler_values(v) for v in row]
    for j in range(len(row)):
        for fill in (0.0, 1.0):
            add(fill if i != j else v for i, v in enumerate(row))
        for simple in options[j]:
            add(simple if i == j else v for i, v in enumerate(row))
    for depth in range(3):
        add(
            opts[min(depth, len(opts) - 1)] if opts else v
            for v, opts in zip(row, options, strict=True)
        )
    ordered = sorted(found, key=row_complexity)
    return [r for r in ordered if row_complexity(r) < row_complexity(row)][:limit]


def user_point(problem: Problem, row: Row) -> dict[str, Any]:
    """A row as the candidate's keyword arguments: a number per scalar variable, a nested
    list per array variable."""
    values = dict(zip(problem.names, row, strict=True))
    point: dict[str, Any] = {}
    for name in problem.user_names:
        if name in problem.shapes:
            flat = [values[v.name] for v in problem.components(name)]
            point[name] = _nest(flat, problem.shapes[name])
        else:
            point[name] = values[name]
    return point


def _nest(flat: list[float], shape: tuple[int, ...]) -> Any:
    if len(shape) <= 1:
        return list(flat)
    size = len(flat) // shape[0]
    return [_nest(flat[i * size : (i + 1) * size], shape[1:]) for i in range(shape[0])]


def usable_rows(setup: Setup, rows: Sequence[Row], dtype: Any) -> list[Row]:
    """The rows where the expression and its derivative are real, finite and smooth."""
    import torch

    if not rows:
        return []
    table = torch.tensor(rows, dtype=torch.float64).to(dtype)
    return [tuple(r) for r in table[usable(setup, table)].tolist()]
