"""Sweeps: every method at many points of a domain, in batched torch passes.

All N points get each method's value and error bound. The 50-digit reference, which costs
about a millisecond a point, is computed on a seeded subsample plus every point worth a
closer look: where two methods differ by more than their bounds allow (flagged), where a
method's value is not finite, the points on a kink or domain edge, and the points where the
methods differ most relative to their bounds. The report says how many points were referenced.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from diffcompare.engine import Setup, judge_points, prepared_setup
from diffcompare.errors import UsageError
from diffcompare.language.problem import Problem
from diffcompare.paths.method_types import Check, columns
from diffcompare.paths.methods import METHODS
from diffcompare.paths.symbolic import SIMPLIFY_SECONDS
from diffcompare.render.json_values import json_ready
from diffcompare.report import PointResult, point_dict
from diffcompare.sampling import edges_at
from diffcompare.verdict import AGREE, DISAGREE, NONDIFFERENTIABLE, UNDEFINED, overall

CHUNK = 1 << 16
"""Points per batched pass: large enough to amortise torch's per-call cost, small enough
for memory and a progress bar that moves."""

REFERENCED = 200
"""Points of the seeded subsample the reference is computed at."""

EXTRA_REFERENCED = 200
"""At most this many further points (flagged, non-finite, on an edge, most discrepant)."""

DEFAULT_RANGE = (-3.0, 3.0)

_RANGE = re.compile(
    r"\s*([A-Za-z_]\w*)\s*=\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*:\s*"
    r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
)


def parse_domain(text: str) -> dict[str, tuple[float, float]]:
    """`x=-3:3,y=0.1:5` as {'x': (-3.0, 3.0), 'y': (0.1, 5.0)}."""
    domain: dict[str, tuple[float, float]] = {}
    for item in text.split(","):
        match = _RANGE.fullmatch(item)
        if match is None:
            raise UsageError(
                f"--domain {text}: expected name=low:high pairs separated by commas, "
                "e.g. --domain x=-3:3,y=0.1:5"
            )
        name, low, high = match.group(1), float(match.group(2)), float(match.group(3))
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise UsageError(f"--domain {item.strip()}: need finite low < high")
        if name in domain:
            raise UsageError(f"--domain {text}: {name} is given twice")
        domain[name] = (low, high)
    return domain


@dataclass(frozen=True)
class MethodSummary:
    """One method over the referenced points: error percentiles (relative error and ulps),
    the worst point, and over all points how often it was outside its bound of another."""

    percentiles: dict[str, dict[str, float | None]]  # "rel_error"/"ulps" -> "p50"... -> value
    worst: PointResult | None  # the referenced point with the most ulps of error
    worst_ulps: float | None
    worst_abs_error: float | None
    failures: int  # referenced points where it was outside its bound


@dataclass(frozen=True, eq=False)
class SweepPoints:
    """Every point of a sweep as arrays, kept on request (for plots): where each point is,
    whether the expression has a finite value there, whether it sits on a kink or domain
    edge, whether two methods differ there beyond their bounds, each method's value and
    bound (points, wrt), and the rows the reference was computed at with their results."""

    at: np.ndarray  # (points, variables)
    defined: np.ndarray  # (points,) bool
    on_edge: np.ndarray  # (points,) bool
    flagged: np.ndarray  # (points,) bool
    function: np.ndarray  # (points, outputs): the expression's value (inf or NaN where undefined)
    values: dict[str, np.ndarray]  # method -> (points, wrt)
    bounds: dict[str, np.ndarray]  # method -> (points, wrt)
    rows: tuple[int, ...]  # the referenced points, ascending
    results: tuple[PointResult, ...]  # the verdict and errors at each of `rows`


@dataclass(frozen=True)
class SweepReport:
    text: str
    expr: str
    variables: tuple[str, ...]
    wrt: tuple[str, ...]
    derivative: tuple[str, ...]
    domain: dict[str, tuple[float, float]]
    grid: bool
    count: int
    dtype: str
    fd_scheme: str
    undefined: int  # points where the expression has no finite value in the dtype
    on_edge: int  # points on a kink or domain edge at the working precision
    flagged: int  # points where two methods differ by more than their bounds
    referenced: int  # points the reference was computed at
    sampled: int  # of which the seeded subsample
    counts: dict[str, int]  # verdicts among the referenced points
    methods: dict[str, MethodSummary]
    method_labels: dict[str, str]
    disagreements: tuple[PointResult, ...]
    seconds: float
    reference_seconds: float
    points: SweepPoints | None = field(default=None, repr=False)  # with keep_points=True

    @property
    def verdict(self) -> str:
        return overall({v for v, n in self.counts.items() if n})

    def _repr_png_(self) -> bytes | None:
        """Jupyter shows a sweep kept with keep_points=True as its plot."""
        if self.points is None:
            return None
        from diffcompare.render.figures.sweep import plot_sweep, png_bytes  # matplotlib: lazily

        return png_bytes(plot_sweep(self))

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready data (no NaN or inf): what --json prints."""
        return json_ready(self._data())  # type: ignore[no-any-return]

    def _data(self) -> dict[str, Any]:
        def point(p: PointResult | None) -> dict[str, Any] | None:
            return None if p is None else point_dict(p, self.variables, self.wrt)

        return {
            "expression": self.text,
            "parsed": self.expr,
            "verdict": self.verdict,
            "variables": list(self.variables),
            "wrt": list(self.wrt),
            "derivative": dict(zip(self.wrt, self.derivative, strict=True)),
            "domain": {n: list(r) for n, r in self.domain.items()},
            "grid": self.grid,
            "points": self.count,
            "dtype": self.dtype,
            "fd_scheme": self.fd_scheme,
            "undefined": self.undefined,
            "on_edge": self.on_edge,
            "flagged": self.flagged,
            "reference": {
                "points": self.referenced,
                "sampled": self.sampled,
                "note": "the reference was computed at a seeded subsample of this many points "
                "plus every flagged, non-finite, on-edge and most discrepant point",
            },
            "counts": self.counts,
            "methods": {
                name: {
                    "percentiles": m.percentiles,
                    "failures": m.failures,
                    "worst": point(m.worst),
                    "worst_ulps": m.worst_ulps,
                    "worst_abs_error": m.worst_abs_error,
                }
                for name, m in self.methods.items()
            },
            "disagreements": [point(p) for p in self.disagreements],
            "seconds": self.seconds,
            "reference_seconds": self.reference_seconds,
        }


def sweep(
    expr: str | Problem,
    domain: str | Mapping[str, tuple[float, float]] | None = None,
    samples: int = 10_000,
    *,
    grid: bool = False,
    wrt: str | Sequence[str] | None = None,
    seed: int = 0,
    dtype: str = "float64",
    fd: str = "auto",
    referenced: int = REFERENCED,
    progress: Callable[[int], None] | None = None,
    keep: Callable[[dict[str, torch.Tensor]], None] | None = None,
    simplify_seconds: float = SIMPLIFY_SECONDS,
    keep_points: bool = False,
) -> SweepReport:
    """Evaluate every method at `samples` points of `domain` (seeded uniform random, or a
    regular grid with about `samples` points), judge a subsample and every suspicious point
    against the reference, and summarise. `progress(n)` is called after each batch of n
    points; `keep(batch)` receives every batch's arrays (for writing every point to a file);
    `simplify_seconds` bounds the simplification of the derivative shown (0: as SymPy
    gives it, the same on any machine); `keep_points` keeps every point's arrays in the
    report's `points` (for plots)."""
    start = time.perf_counter()
    setup = prepared_setup(expr, wrt, dtype=dtype, fd=fd, simplify_seconds=simplify_seconds)
    ranges = _ranges(setup, domain)
    points = _points(ranges, samples, grid, seed, setup.settings.dtype)
    n = points.shape[0]
    values = {
        name: torch.empty(n, len(setup.target.entries), dtype=points.dtype) for name in METHODS
    }
    bounds = {name: torch.empty_like(values[name]) for name in METHODS}
    skipped = torch.zeros(n, len(setup.target.entries), dtype=torch.bool)
    defined = torch.empty(n, dtype=torch.bool)
    on_edge = torch.zeros(n, dtype=torch.bool)
    function = torch.empty(n, len(setup.problem.outputs), dtype=points.dtype)
    for lo in range(0, n, CHUNK):
        batch = points[lo : lo + CHUNK]
        hi = lo + batch.shape[0]
        for name, method in METHODS.items():
            prepared = setup.prepared[name]
            values[name][lo:hi], check = method.values_and_check(prepared, batch)
            bounds[name][lo:hi] = check.bound.detach()
            if name == "finite_difference":
                skipped[lo:hi] = check.skipped
        with torch.no_grad():
            outputs = setup.compiled.tape.run(columns(batch)).outputs
            function[lo:hi] = torch.stack([o.expand(hi - lo) for o in outputs], dim=1)
        defined[lo:hi] = function[lo:hi].abs().amax(dim=1).isfinite()
        if setup.compiled.edged:
            edges = edges_at(setup.compiled, batch)
            if edges is not None and edges.gaps:
                on_edge[lo:hi] = edges.on_edge()
        if keep is not None:
            keep(
                {
                    "at": batch,
                    "defined": defined[lo:hi],
                    "on_edge": on_edge[lo:hi],
                    **{f"{m}_value": values[m][lo:hi] for m in METHODS},
                    **{f"{m}_bound": bounds[m][lo:hi] for m in METHODS},
                }
            )
        if progress is not None:
            progress(hi - lo)

    score = _discrepancy(values, bounds, skipped)  # > 1: some pair differs beyond its bounds
    flagged = defined & ~on_edge & (score > 1)
    nonfinite = (
        defined
        & ~on_edge
        & ~torch.stack([values[m].isfinite().all(dim=1) for m in METHODS]).all(dim=0)
    )
    rows = _referenced_rows(n, defined, on_edge, flagged | nonfinite, score, referenced, seed)
    reference_start = time.perf_counter()
    none = torch.zeros_like(skipped)
    checks = {m: Check(bounds[m], skipped if m == "finite_difference" else none) for m in METHODS}
    results = judge_points(setup, points, values, checks, rows)
    reference_seconds = time.perf_counter() - reference_start
    counts = {
        v: sum(r.verdict == v for r in results)
        for v in (AGREE, DISAGREE, UNDEFINED, NONDIFFERENTIABLE)
    }
    return SweepReport(
        text=setup.problem.text,
        expr=str(setup.problem.expr),
        variables=setup.problem.names,
        wrt=setup.target.labels,
        derivative=tuple(str(d) for d in setup.derivatives.shown),
        domain=ranges,
        grid=grid,
        count=n,
        dtype=dtype,
        fd_scheme=setup.compiled.scheme,
        undefined=int((~defined).sum()),
        on_edge=int(on_edge.sum()),
        flagged=int(flagged.sum()),
        referenced=len(rows),
        sampled=min(referenced, int(defined.sum())),
        counts=counts,
        methods={m: _summary(m, results) for m in METHODS},
        method_labels={n: m.label for n, m in METHODS.items()},
        disagreements=tuple(r for r in results if r.verdict == DISAGREE)[:20],
        seconds=time.perf_counter() - start,
        reference_seconds=reference_seconds,
        points=SweepPoints(
            at=points.numpy(),
            defined=defined.numpy(),
            on_edge=on_edge.numpy(),
            flagged=flagged.numpy(),
            function=function.numpy(),
            values={m: v.detach().numpy() for m, v in values.items()},
            bounds={m: b.detach().numpy() for m, b in bounds.items()},
            rows=tuple(rows),
            results=results,
        )
        if keep_points
        else None,
    )


def _ranges(
    setup: Setup, domain: str | Mapping[str, tuple[float, float]] | None
) -> dict[str, tuple[float, float]]:
    given = parse_domain(domain) if isinstance(domain, str) else dict(domain or {})
    for name, (low, high) in given.items():
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise UsageError(f"--domain {name}={low}:{high}: need finite low < high")
    unknown = set(given) - set(setup.problem.names)
    if unknown:
        raise UsageError(
            f"--domain {', '.join(sorted(unknown))}: not a variable of the expression "
            f"(its variables: {', '.join(setup.problem.names)})"
        )
    return {name: given.get(name, DEFAULT_RANGE) for name in setup.problem.names}


def _points(
    ranges: Mapping[str, tuple[float, float]],
    samples: int,
    grid: bool,
    seed: int,
    dtype: torch.dtype,
) -> torch.Tensor:
    low = torch.tensor([r[0] for r in ranges.values()], dtype=torch.float64)
    high = torch.tensor([r[1] for r in ranges.values()], dtype=torch.float64)
    if grid:
        per_axis = max(2, round(samples ** (1 / len(ranges))))
        axes = [torch.linspace(0, 1, per_axis, dtype=torch.float64)] * len(ranges)
        unit = torch.cartesian_prod(*axes).reshape(-1, len(ranges))
    else:
        generator = torch.Generator().manual_seed(seed)
        unit = torch.rand(samples, len(ranges), generator=generator, dtype=torch.float64)
    # Weighted, not low + (high - low) * unit: the width of -1e308:1e308 overflows.
    return (low * (1 - unit) + high * unit).to(dtype)


def _discrepancy(
    values: Mapping[str, torch.Tensor], bounds: Mapping[str, torch.Tensor], skipped: torch.Tensor
) -> torch.Tensor:
    """Per point: the largest |a - b| / (bound_a + bound_b) over pairs of methods."""
    names = list(values)
    score = torch.zeros(skipped.shape[0], dtype=torch.float64)
    for i, a in enumerate(names):
        for b in names[:i]:
            ratio = (values[a] - values[b]).abs() / (bounds[a] + bounds[b])
            ratio = ratio.double().nan_to_num(0.0, posinf=0.0, neginf=0.0)
            if "finite_difference" in (a, b):
                ratio = ratio.masked_fill(skipped, 0.0)
            score = torch.maximum(score, ratio.max(dim=1).values)
    return score


def _referenced_rows(
    n: int,
    defined: torch.Tensor,
    on_edge: torch.Tensor,
    suspicious: torch.Tensor,
    score: torch.Tensor,
    count: int,
    seed: int,
) -> list[int]:
    generator = torch.Generator().manual_seed(seed + 1)
    candidates = defined.nonzero().flatten()
    chosen = candidates[torch.randperm(candidates.numel(), generator=generator)[:count]].tolist()
    extra: list[int] = []
    extra += suspicious.nonzero().flatten()[: EXTRA_REFERENCED // 2].tolist()
    extra += on_edge.nonzero().flatten()[: EXTRA_REFERENCED // 4].tolist()
    top = min(EXTRA_REFERENCED // 4, n)
    extra += torch.topk(score.masked_fill(~defined | on_edge, -1.0), top).indices.tolist()
    extra += (~defined).nonzero().flatten()[:5].tolist()
    return sorted(dict.fromkeys(chosen + extra))


def _summary(name: str, results: Sequence[PointResult]) -> MethodSummary:
    rel: list[float] = []
    ulps: list[float] = []
    worst: PointResult | None = None
    worst_ulps = worst_abs = None
    failures = 0
    for r in results:
        m = r.methods[name]
        if r.verdict in (UNDEFINED, NONDIFFERENTIABLE):
            continue
        failures += not m.ok
        rel += [e for e in m.rel_error if e is not None]
        here = [u for u in m.ulps if u is not None]
        ulps += here
        if here and (worst_ulps is None or max(here) > worst_ulps):
            worst, worst_ulps = r, max(here)
            worst_abs = max((e for e in m.abs_error if e is not None), default=None)
    return MethodSummary(
        percentiles={"rel_error": _percentiles(rel), "ulps": _percentiles(ulps)},
        worst=worst,
        worst_ulps=worst_ulps,
        worst_abs_error=worst_abs,
        failures=failures,
    )


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    t = torch.tensor(values, dtype=torch.float64)
    q = torch.quantile(t, torch.tensor([0.5, 0.9, 0.99], dtype=torch.float64)).tolist()
    return {"p50": q[0], "p90": q[1], "p99": q[2], "max": float(t.max())}
