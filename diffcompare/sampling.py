"""Where a comparison looks when the caller gives no points: seeded samples on which the
expression, its derivative formulas and finite differences are finite in the dtype, away
from kinks, domain edges and poles; and the kinks and edges of the compiled expression at
given points, which the judging reads too."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from diffcompare.errors import UsageError
from diffcompare.paths import finite_differences
from diffcompare.paths.edges import Edges
from diffcompare.paths.edges import edges_at as edges_at_points
from diffcompare.paths.error_model import eps
from diffcompare.paths.method_types import CompiledPrepared, columns
from diffcompare.paths.methods import SymbolicPrepared

if TYPE_CHECKING:
    from diffcompare.engine import Setup


def edges_at(compiled: CompiledPrepared, points: torch.Tensor) -> Edges | None:
    """The kinks and domain edges of the compiled expression at `points`, if it has any."""
    if not compiled.edged:
        return None
    edges = edges_at_points(compiled.tape, points, compiled.wrt)
    # An edge of a constant (the base of 2**x, which is never 0) gives no gap at any point.
    return edges if edges.gaps else None


def sample(setup: Setup, count: int, seed: int) -> torch.Tensor:
    """`count` seeded points, rounded to 2 decimals for reading, where the expression and
    its derivative are finite in the dtype and no kink or domain edge is within rounding."""
    generator = torch.Generator().manual_seed(seed)
    n_vars = len(setup.problem.variables)
    found: list[torch.Tensor] = []
    for low, high in ((-3.0, 3.0), (0.0, 1.0), (-30.0, 30.0)):
        candidates = torch.rand(256, n_vars, generator=generator, dtype=torch.float64)
        candidates = torch.round((low + (high - low) * candidates) * 100) / 100
        candidates = candidates.to(setup.settings.dtype)
        found.extend(candidates[usable(setup, candidates, count - len(found))])
        if len(found) >= count:
            return torch.stack(found[:count])
    if found:
        return torch.stack(found)
    raise UsageError(
        "found no point where the expression and its derivative are finite and "
        "real among 768 seeded samples; give points with --at"
    )


def usable(setup: Setup, candidates: torch.Tensor, needed: int | None = None) -> torch.Tensor:
    """Which candidates are usable; with `needed`, only up to the first that many: the
    finite-difference check, whose work grows as entries x graph size per point, runs on
    the candidates that pass the others a batch at a time until enough are found."""
    symbolic: SymbolicPrepared = setup.prepared["symbolic"]
    compiled = setup.compiled
    with torch.no_grad():
        formulas = symbolic.tape.run(columns(candidates), keep=True)
        expression = compiled.tape.run(columns(candidates), keep=True)
    ok = torch.ones(candidates.shape[0], dtype=torch.bool)
    # Keep every intermediate, forward and symbolic, well inside the dtype's range: where a
    # square of one would overflow or underflow, backward passes lose all accuracy (1/x at
    # 1e160 has the derivative -1e-320). Such points can still be given with --at.
    info = torch.finfo(candidates.dtype)
    high, low = info.max**0.5, info.smallest_normal**0.5
    for value in (*formulas.values, *expression.values):
        if isinstance(value, torch.Tensor):
            size = value.abs()
            ok &= (size < high) & ((size > low) | (size == 0))
    edges = edges_at(compiled, candidates)
    if edges is not None and edges.gaps:
        # Ordinary points: off every kink, domain edge and pole by a few default
        # finite-difference steps (the engine handles closer points, given with --at).
        x = candidates[:, list(compiled.wrt)]
        room = 4 * eps(candidates.dtype) ** 0.2 * x.abs().clamp(min=1.0)
        ok &= ~edges.on_edge() & (edges.distance() >= room).all(dim=1)
    rows = ok.nonzero().flatten()
    ok = torch.zeros_like(ok)
    needed = rows.numel() if needed is None else needed
    # Batches of at least FD_BATCH rows: one pass when the graph is small, few when not.
    batch = max(needed, FD_BATCH // max(1, len(compiled.wrt) * len(compiled.tape.nodes)))
    start = 0
    while start < rows.numel() and int(ok.sum()) < needed:
        chosen = rows[start : start + batch]
        ok[chosen] = finite_differences.values(compiled, candidates[chosen]).isfinite().all(dim=1)
        start += batch
    return ok


FD_BATCH = 1 << 16
"""Candidate points x wrt variables x graph nodes that _usable differences in one batch."""
