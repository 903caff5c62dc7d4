"""What the plot of a comparison at given points draws, read from its Report: per point and
method, the relative error and the bound (over |reference|) of the entry that comes closest
to its bound (the report's `worst`), and each point's verdict."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diffcompare.plots import _engine as engine
from diffcompare.render.arrays import worst
from diffcompare.report import Report


@dataclass(frozen=True, eq=False)
class PointErrors:
    """One comparison's points: a label and verdict each, and per method the relative error
    and relative bound of its worst entry there (NaN where it has none: an undefined or
    nondifferentiable point, a non-finite value, a zero reference)."""

    text: str
    dtype: str
    points: tuple[str, ...]  # "x=0.5, y=1"
    verdicts: tuple[str, ...]
    labels: dict[str, str]  # method -> its name for a legend
    errors: dict[str, np.ndarray]  # method -> (points,)
    bounds: dict[str, np.ndarray]  # method -> (points,)
    missing: dict[str, np.ndarray]  # method -> (points,) bool: at fault with no finite value
    floor: float  # relative errors of 0 (exact) are drawn here


def point_errors(report: Report) -> PointErrors:
    """The plot's data for a Report from compare()."""
    errors = {m: np.full(len(report.points), np.nan) for m in report.method_labels}
    bounds = {m: np.full(len(report.points), np.nan) for m in report.method_labels}
    missing = {m: np.zeros(len(report.points), dtype=bool) for m in report.method_labels}
    for i, p in enumerate(report.points):
        for name, m in p.methods.items():
            missing[name][i] = not m.ok and any(v is None for v in m.value)
            found = worst(m, report.shape)
            if found is None:
                continue
            k = int(np.ravel_multi_index(found["index"], report.shape)) if report.shape else 0
            truth = p.reference[k]
            if found["rel_error"] is None or not truth:
                continue
            errors[name][i] = found["rel_error"]
            bounds[name][i] = found["bound"] / abs(truth)
    dtype = engine.torch_dtype(report.dtype)
    return PointErrors(
        text=report.text,
        dtype=report.dtype,
        points=tuple(
            ", ".join(f"{n}={x:.6g}" for n, x in zip(report.variables, p.at, strict=True))
            for p in report.points
        ),
        verdicts=tuple(p.verdict for p in report.points),
        labels=dict(report.method_labels),
        errors=errors,
        bounds=bounds,
        missing=missing,
        floor=engine.eps(dtype) / 16,
    )
