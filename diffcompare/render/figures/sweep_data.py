"""What a sweep's plot draws, read from a SweepReport kept with keep_points=True: plain
arrays, so the figures only draw and the tests check the numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from diffcompare.errors import UsageError
from diffcompare.verdict import DISAGREE, NONDIFFERENTIABLE

if TYPE_CHECKING:
    from diffcompare.report import PointResult
    from diffcompare.sweep import SweepPoints, SweepReport

BINS = 1000
"""Bins along x for a line of many points: each keeps its lowest and highest value per
method, so the line keeps its envelope and spikes at a few thousand vertices."""

MAX_MARKS = 2000
"""The most markers of one kind (flagged, undefined) a plot draws; beyond, a seeded choice."""


@dataclass(frozen=True, eq=False)
class MethodErrors:
    """One method at the referenced points: where (x), its relative error and its bound
    relative to the reference (bound / |reference|). Exact results have error 0."""

    x: np.ndarray
    errors: np.ndarray
    bounds: np.ndarray
    outside: np.ndarray  # bool: the error exceeds the bound (the method is at fault)
    missing: np.ndarray  # x where the method gave no finite value but the reference exists


@dataclass(frozen=True, eq=False)
class SweepCurves:
    """A sweep in one variable: the expression and each method's derivative over the domain
    (rows sorted by x,
    thinned to the envelope of BINS bins), the reference and each method's relative error at
    the referenced points, and where the expression is undefined, sits on a kink or domain
    edge, or two methods differ beyond their bounds."""

    text: str
    variable: str
    entry: str  # the derivative's label (the wrt variable)
    dtype: str
    count: int  # points swept
    rows: np.ndarray  # the drawn rows of the sweep, sorted by x
    x: np.ndarray  # at those rows
    function: np.ndarray  # (rows, outputs): the expression's value there (NaN: not finite)
    values: dict[str, np.ndarray]  # method -> derivative at those rows (NaN: not finite)
    labels: dict[str, str]  # method -> its name for a legend
    reference_x: np.ndarray
    reference: np.ndarray  # the derivative from the 50-digit reference
    errors: dict[str, MethodErrors]
    counts: dict[str, int]  # points undefined, on_edge, flagged (the marks may be a sample)
    undefined: np.ndarray  # x of points where the expression has no finite value
    undefined_spans: np.ndarray  # (k, 2): runs of undefined points in x order, low and high x
    on_edge: np.ndarray  # x of points on a kink or domain edge
    flagged: np.ndarray  # x of points where two methods differ beyond their bounds
    nondifferentiable: np.ndarray  # x of referenced points judged nondifferentiable
    disagree: np.ndarray  # x of referenced points judged disagree
    floor: float  # relative errors of 0 (exact) are drawn here


@dataclass(frozen=True, eq=False)
class SweepMap:
    """A sweep in two variables: at the referenced points, the worst method's error over its
    bound (over the derivative's entries), as a grid of cells holding the largest ratio of the
    points in each (NaN: no referenced point); and where methods disagree or the expression
    is undefined."""

    text: str
    variables: tuple[str, str]
    dtype: str
    count: int
    referenced: int
    x_edges: np.ndarray
    y_edges: np.ndarray
    ratio: np.ndarray  # (y cells, x cells)
    points: np.ndarray  # (referenced judged points, 2)
    point_ratio: np.ndarray  # the worst error / bound at each of `points`
    counts: dict[str, int]  # points undefined, on_edge, flagged (the marks may be a sample)
    disagree: np.ndarray  # (k, 2): referenced points judged disagree
    flagged: np.ndarray  # (k, 2): points where two methods differ beyond their bounds
    undefined: np.ndarray  # (k, 2): points where the expression has no finite value
    on_edge: np.ndarray  # (k, 2)


def kept_points(report: SweepReport) -> SweepPoints:
    if report.points is None:
        raise UsageError(
            "this sweep kept no per-point arrays: run sweep(..., keep_points=True) to plot it"
        )
    return report.points


def sweep_curves(report: SweepReport, entry: int = 0) -> SweepCurves:
    """The 1-D plot's data for derivative entry `entry`. Refuses sweeps in other than one
    variable and sweeps without kept points."""
    if len(report.variables) != 1:
        raise UsageError(f"a curve plot needs a sweep in one variable, not {len(report.variables)}")
    kept = kept_points(report)
    x_all = kept.at[:, 0].astype(np.float64)
    order = np.argsort(x_all, kind="stable")
    function = list(kept.function.T)
    rows = _envelope(x_all, order, [*function, *(v[:, entry] for v in kept.values.values())])
    floor = float(np.finfo(report.dtype).eps) / 16
    judged = [r for r in kept.results if r.verdict != NONDIFFERENTIABLE]
    referenced = [r for r in judged if r.reference[entry] is not None]
    ref_x = np.array([r.at[0] for r in referenced], dtype=np.float64)
    ref = np.array([r.reference[entry] for r in referenced], dtype=np.float64)
    return SweepCurves(
        text=report.text,
        variable=report.variables[0],
        entry=report.wrt[entry],
        dtype=report.dtype,
        count=report.count,
        rows=rows,
        x=x_all[rows],
        function=_float(kept.function[rows]),
        values={m: _float(v[rows, entry]) for m, v in kept.values.items()},
        labels=dict(report.method_labels),
        reference_x=ref_x,
        reference=ref,
        errors={m: _method_errors(kept, m, entry) for m in kept.values},
        counts=_counts(kept),
        undefined=_marks(x_all, ~kept.defined),
        undefined_spans=_runs(x_all[order], ~kept.defined[order]),
        on_edge=_marks(x_all, kept.on_edge),
        flagged=_marks(x_all, kept.flagged),
        nondifferentiable=np.array(
            [r.at[0] for r in kept.results if r.verdict == NONDIFFERENTIABLE], dtype=np.float64
        ),
        disagree=np.array(
            [r.at[0] for r in kept.results if r.verdict == DISAGREE], dtype=np.float64
        ),
        floor=floor,
    )


def sweep_map(report: SweepReport, cells: int | None = None) -> SweepMap:
    """The 2-D plot's data: the referenced points' worst error / bound binned into `cells`
    per axis (default: about two referenced points a cell, from 4 to 100)."""
    if len(report.variables) != 2:
        raise UsageError(f"a map needs a sweep in two variables, not {len(report.variables)}")
    kept = kept_points(report)
    at = kept.at.astype(np.float64)
    judged = [r for r in kept.results if r.verdict != NONDIFFERENTIABLE]
    points, ratios = [], []
    for r in judged:
        ratio = _worst_ratio(r)
        if ratio is not None:
            points.append(r.at)
            ratios.append(ratio)
    pts = np.array(points, dtype=np.float64).reshape(-1, 2)
    point_ratio = np.array(ratios, dtype=np.float64)
    if cells is None:
        cells = int(np.clip(round(np.sqrt(max(len(points), 1) / 2)), 4, 100))
    (x0, x1), (y0, y1) = report.domain.values()
    x_edges = np.linspace(x0, x1, cells + 1)
    y_edges = np.linspace(y0, y1, cells + 1)
    grid = np.full((cells, cells), np.nan)
    if len(pts):
        ix = np.clip(np.searchsorted(x_edges, pts[:, 0], side="right") - 1, 0, cells - 1)
        iy = np.clip(np.searchsorted(y_edges, pts[:, 1], side="right") - 1, 0, cells - 1)
        for i, j, value in zip(iy, ix, point_ratio, strict=True):
            grid[i, j] = value if np.isnan(grid[i, j]) else max(grid[i, j], value)
    disagree = [r.at for r in kept.results if r.verdict == DISAGREE]
    return SweepMap(
        text=report.text,
        variables=(report.variables[0], report.variables[1]),
        dtype=report.dtype,
        count=report.count,
        referenced=len(kept.rows),
        x_edges=x_edges,
        y_edges=y_edges,
        ratio=grid,
        points=pts,
        point_ratio=point_ratio,
        counts=_counts(kept),
        disagree=np.array(disagree, dtype=np.float64).reshape(-1, 2),
        flagged=_marks2(at, kept.flagged),
        undefined=_marks2(at, ~kept.defined),
        on_edge=_marks2(at, kept.on_edge),
    )


def _worst_ratio(result: PointResult) -> float | None:
    """The largest error / bound over the methods and entries of one judged point; a method
    at fault with no finite value counts as infinitely far."""
    worst: float | None = None
    for m in result.methods.values():
        for error, bound, value in zip(m.abs_error, m.bound, m.value, strict=True):
            if value is None and not m.ok:
                ratio = np.inf
            elif error is None or bound is None:
                continue
            else:
                ratio = error / bound if bound > 0 else (0.0 if error == 0 else np.inf)
            worst = ratio if worst is None else max(worst, ratio)
    return worst


def _method_errors(kept: SweepPoints, method: str, entry: int) -> MethodErrors:
    x, errors, bounds, outside, missing = [], [], [], [], []
    for r in kept.results:
        if r.verdict == NONDIFFERENTIABLE:
            continue
        m, truth = r.methods[method], r.reference[entry]
        if truth is None or truth == 0:
            continue
        if m.value[entry] is None:
            if not m.ok:
                missing.append(r.at[0])
            continue
        error, bound = m.rel_error[entry], m.bound[entry]
        if error is None or bound is None:
            continue
        x.append(r.at[0])
        errors.append(error)
        bounds.append(bound / abs(truth))
        absolute = m.abs_error[entry]
        outside.append(absolute is not None and absolute > bound)
    return MethodErrors(
        x=np.array(x, dtype=np.float64),
        errors=np.array(errors, dtype=np.float64),
        bounds=np.array(bounds, dtype=np.float64),
        outside=np.array(outside, dtype=bool),
        missing=np.array(missing, dtype=np.float64),
    )


def _envelope(x: np.ndarray, order: np.ndarray, columns: list[np.ndarray]) -> np.ndarray:
    """Rows in x order: all of them when few, else per bin of x the rows of each column's
    lowest and highest value (and any non-finite one, so lines break where values do)."""
    if order.size <= 2 * BINS:
        return order
    lo, hi = x[order[0]], x[order[-1]]
    bins = np.minimum(((x[order] - lo) / (hi - lo) * BINS).astype(np.int64), BINS - 1)
    keep = np.zeros(order.size, dtype=bool)
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    for column in columns:
        v = column[order].astype(np.float64)
        finite = np.isfinite(v)
        keep |= ~finite
        low = np.where(finite, v, np.inf)
        high = np.where(finite, v, -np.inf)
        keep[_segment_arg(low, starts, np.minimum)] = True
        keep[_segment_arg(high, starts, np.maximum)] = True
    keep[[0, -1]] = True
    return order[keep]


def _segment_arg(v: np.ndarray, starts: np.ndarray, ufunc: np.ufunc) -> np.ndarray:
    """The index of the extreme (ufunc: minimum or maximum) of each segment of v."""
    extreme = ufunc.reduceat(v, starts)
    segment = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, v.size]))
    hits = np.flatnonzero(v == extreme[segment])
    _, first = np.unique(segment[hits], return_index=True)
    return hits[first]


def _counts(kept: SweepPoints) -> dict[str, int]:
    return {
        "undefined": int((~kept.defined).sum()),
        "on_edge": int(kept.on_edge.sum()),
        "flagged": int(kept.flagged.sum()),
    }


def _runs(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The first and last x of each run of consecutive True in `mask` (x sorted)."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return np.stack([x[starts], x[ends]], axis=1) if starts.size else np.empty((0, 2))


def _marks(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    chosen = np.flatnonzero(mask)
    if chosen.size > MAX_MARKS:
        chosen = np.sort(np.random.default_rng(0).choice(chosen, MAX_MARKS, replace=False))
    return np.sort(x[chosen])


def _marks2(at: np.ndarray, mask: np.ndarray) -> np.ndarray:
    chosen = np.flatnonzero(mask)
    if chosen.size > MAX_MARKS:
        chosen = np.sort(np.random.default_rng(0).choice(chosen, MAX_MARKS, replace=False))
    return at[chosen]


def _float(v: np.ndarray) -> np.ndarray:
    out: np.ndarray = v.astype(np.float64)
    out[~np.isfinite(out)] = np.nan
    return out
