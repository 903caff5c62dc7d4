"""The plot of a comparison at given points draws each method's error and bound from the
Report, with each point's verdict, and marks a method with no finite value."""

from __future__ import annotations

import numpy as np

import diffcompare
from diffcompare.plots import plot_points
from diffcompare.plots.points import point_errors


def test_the_points_plot_draws_the_reports_errors_bounds_and_verdicts() -> None:
    at = [{"x": 0.0}, {"x": 4.0}, {"x": 0.5}, {"x": -1.0}]
    report = diffcompare.compare(
        "max(2, sqrt(x))+abs(x-1)", at=at, timing_budget=0, simplify_seconds=0
    )
    verdicts = [p.verdict for p in report.points]
    assert verdicts == ["disagree", "nondifferentiable", "agree", "undefined"]
    data = point_errors(report)
    fig = plot_points(report)
    (ax,) = fig.axes
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == [f"x={p['x']:g}\n{v}" for p, v in zip(at, verdicts, strict=True)]
    lines = {line.get_label(): line for line in ax.get_lines()}
    for name, label in report.method_labels.items():
        errors = np.array(
            [
                np.nan if p.verdict != "agree" else p.methods[name].rel_error[0]
                for p in report.points
            ]
        )
        bounds = [
            p.methods[name].bound[0] / abs(p.reference[0]) if p.verdict == "agree" else np.nan
            for p in report.points
        ]
        if name == "finite_difference":  # it is judged, and right, at the disagreeing point
            first = report.points[0].methods[name]
            errors[0] = first.rel_error[0]
            bounds[0] = first.bound[0] / abs(report.points[0].reference[0])
        np.testing.assert_array_equal(
            lines[f"{label}: error"].get_ydata(), np.maximum(errors, data.floor)
        )
        drawn = [line for line in ax.get_lines() if line.get_label() == "its bound"]
        assert any(np.array_equal(d.get_ydata(), bounds, equal_nan=True) for d in drawn)
    # At x = 0 symbolic, autograd and forward mode give NaN (sqrt's 0·inf): marked, not lost.
    for name in ("symbolic", "autograd", "forward"):
        missing = lines[f"{report.method_labels[name]}: no finite value (at the top)"]
        assert len(missing.get_xdata()) == 1 and missing.get_xdata()[0] < 0.5
