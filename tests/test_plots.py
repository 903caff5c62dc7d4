"""The sweep plots draw the sweep's own numbers: line data read back from the figures'
axes against the report's arrays and its judged points, not pixels."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from diffcompare.errors import UsageError
from diffcompare.plots import plot_sweep
from diffcompare.render.figures.sweep_data import BINS, sweep_curves, sweep_map
from diffcompare.sweep import sweep

SMOOTH = "sin(x)*exp(-x**2/2)/(1+x**2)"


@pytest.fixture(scope="module")
def smooth():
    return sweep(SMOOTH, "x=-3:3", 6000, keep_points=True)


def test_the_curves_are_the_sweeps_values_sorted_and_thinned_to_their_envelope(smooth) -> None:
    kept = smooth.points
    fig = plot_sweep(smooth)
    top = fig.axes[1]  # below the expression's own panel
    lines = top.get_lines()
    n = smooth.count
    for i, method in enumerate(kept.values):
        x, y = lines[i].get_xdata(), lines[i].get_ydata()
        values = kept.values[method][:, 0]
        assert np.all(np.diff(x) >= 0), "drawn in x order"
        assert 2 * BINS < n and len(x) < n, "thinned"
        # Every drawn vertex is a sample of the sweep, with that sample's value.
        rows = np.searchsorted(kept.at[:, 0], x, sorter=np.argsort(kept.at[:, 0]))
        order = np.argsort(kept.at[:, 0])
        np.testing.assert_array_equal(kept.at[order[rows], 0], x)
        np.testing.assert_array_equal(values[order[rows]], y)
        # The envelope keeps the extremes of the whole sweep and of each of BINS stretches.
        assert y.max() == values.max() and y.min() == values.min()
        every, drawn = _stretch(kept.at[:, 0], kept.at[:, 0]), _stretch(x, kept.at[:, 0])
        for b in range(0, BINS, 37):
            assert y[drawn == b].max() == values[every == b].max()
            assert y[drawn == b].min() == values[every == b].min()
    # The reference markers: each judged point's 50-digit value.
    reference = lines[len(kept.values)]
    expected = sorted((r.at[0], r.reference[0]) for r in kept.results)
    assert sorted(zip(reference.get_xdata(), reference.get_ydata(), strict=True)) == expected


def test_the_top_panel_is_the_expression_itself(smooth) -> None:
    """What an online derivative calculator shows first: a graph of the function, here the
    value the compiled expression gave at each drawn sample (its envelope kept too)."""
    kept = smooth.points
    (line,) = plot_sweep(smooth).axes[0].get_lines()
    x, y = line.get_xdata(), line.get_ydata()
    xs = kept.at[:, 0]
    expected = np.sin(xs) * np.exp(-(xs**2) / 2) / (1 + xs**2)
    np.testing.assert_allclose(kept.function[:, 0], expected, rtol=1e-14, atol=1e-300)
    order = np.argsort(xs)
    rows = order[np.searchsorted(xs, x, sorter=order)]
    np.testing.assert_array_equal(kept.function[rows, 0], y)
    assert y.max() == kept.function.max() and y.min() == kept.function.min()
    assert line.get_label() == SMOOTH


def _stretch(t: np.ndarray, every: np.ndarray) -> np.ndarray:
    """Which of BINS equal stretches of the sweep's x range each of t falls in."""
    lo, hi = every.min(), every.max()
    return np.minimum(((t - lo) / (hi - lo) * BINS).astype(int), BINS - 1)


def test_each_error_panel_is_that_methods_error_and_bound_at_the_judged_points(smooth) -> None:
    kept = smooth.points
    fig = plot_sweep(smooth)
    floor = sweep_curves(smooth).floor
    assert len(fig.axes) == 2 + len(kept.values)
    for ax, method in zip(fig.axes[2:], kept.values, strict=True):
        assert ax.get_yscale() == "log"
        bound_line, error_line = ax.get_lines()[:2]
        judged = sorted(kept.results, key=lambda r: r.at[0])
        truth = np.array([r.reference[0] for r in judged])
        bound = np.array([r.methods[method].bound[0] for r in judged]) / np.abs(truth)
        error = np.array([r.methods[method].rel_error[0] for r in judged])
        np.testing.assert_array_equal(bound_line.get_xdata(), [r.at[0] for r in judged])
        np.testing.assert_allclose(bound_line.get_ydata(), bound, rtol=1e-15)
        drawn = sorted(zip(error_line.get_xdata(), error_line.get_ydata(), strict=True))
        expected = sorted(zip([r.at[0] for r in judged], np.maximum(error, floor), strict=True))
        assert drawn == expected
        # The sweep agrees: every drawn error is under the drawn bound at its point.
        assert np.all(error <= bound), method
        assert f"0 of {len(judged)} outside its bound" in ax.get_title(loc="left")


def test_undefined_stretches_kinks_and_disagreements_are_marked() -> None:
    # A 201-point grid on -1:1 holds x = 0 (sqrt's edge, where autograd's backward gives
    # 0*inf) and x = 0.5 (the kink of abs); log-free but undefined left of 0.
    report = sweep("max(2, sqrt(x))+abs(x-0.5)", "x=-1:1", 201, grid=True, keep_points=True)
    data = sweep_curves(report)
    assert data.counts["undefined"] == report.undefined == 100
    np.testing.assert_allclose(data.undefined_spans, [[-1.0, -0.01]], atol=1e-12)
    assert 0.5 in data.on_edge or 0.5 in data.nondifferentiable
    assert list(data.disagree) == [0.0]
    fig = plot_sweep(report)
    top = fig.axes[1]
    (span,) = top.patches
    x0, x1 = span.get_x(), span.get_x() + span.get_width()
    assert (x0, x1) == pytest.approx((-1.0, -0.01))
    verticals = {line.get_xdata()[0] for line in top.get_lines() if len(line.get_xdata()) == 2}
    assert 0.5 in verticals
    labels = [line.get_label() for line in top.get_lines()]
    (square,) = [
        ln for ln, label in zip(top.get_lines(), labels, strict=True) if "disagree" in label
    ]
    assert list(square.get_xdata()) == [0.0]
    # Autograd's NaN at 0 is marked in its panel, not hidden.
    autograd = fig.axes[2 + list(report.points.values).index("autograd")]
    assert "1 with no finite value" in autograd.get_title(loc="left")


def _worst(result) -> float:
    ratios = []
    for m in result.methods.values():
        for error, bound, value in zip(m.abs_error, m.bound, m.value, strict=True):
            if value is None and not m.ok:
                ratios.append(np.inf)
            elif error is not None and bound is not None:
                ratios.append(error / bound)
    return max(ratios)


def test_the_map_holds_each_cells_worst_error_over_bound_and_marks_disagreement() -> None:
    report = sweep(
        "max(0.5, sqrt(x))*y", "x=-1:1,y=0.1:1", 441, grid=True, keep_points=True, referenced=441
    )
    data = sweep_map(report)
    judged = [r for r in report.points.results if r.verdict in ("agree", "disagree")]
    cells = data.ratio.shape[0]
    assert data.ratio.shape == (cells, cells) and cells > 4
    last = cells - 1
    for i in range(cells):
        for j in range(cells):
            inside = [
                _worst(r)
                for r in judged
                if data.x_edges[j] <= r.at[0] < data.x_edges[j + 1] + (j == last)
                and data.y_edges[i] <= r.at[1] < data.y_edges[i + 1] + (i == last)
            ]
            if inside:
                assert data.ratio[i, j] == max(inside)
            else:
                assert np.isnan(data.ratio[i, j])
    disagree = sorted(tuple(r.at) for r in report.points.results if r.verdict == "disagree")
    assert disagree and all(x == 0.0 for x, _ in disagree)
    assert sorted(map(tuple, data.disagree)) == disagree
    fig = plot_sweep(report)
    ax = fig.axes[0]
    (mesh,) = ax.collections
    shown = np.ma.filled(mesh.get_array(), np.nan).reshape(data.ratio.shape)
    finite = np.isfinite(data.ratio) & (data.ratio > 0)
    np.testing.assert_array_equal(shown[finite], data.ratio[finite])
    assert np.all(shown[np.isposinf(data.ratio)] > 1), "no finite value: beyond the bound"
    (squares,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("disagree")]
    assert sorted(zip(*squares.get_data(), strict=True)) == disagree


def test_plots_refuse_sweeps_they_cannot_draw() -> None:
    bare = sweep("x**3", "x=-1:1", 50)
    with pytest.raises(UsageError, match="keep_points=True"):
        sweep_curves(bare)
    assert bare._repr_png_() is None
    with pytest.raises(UsageError, match="one or two variables|in one variable"):
        plot_sweep(sweep("x*y*z", "x=0:1", 50, keep_points=True))


def test_a_kept_sweep_shows_as_a_png_in_jupyter(smooth) -> None:
    png = smooth._repr_png_()
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")


def test_matplotlib_is_imported_only_when_a_plot_is_drawn() -> None:
    probe = (
        "import sys\nimport diffcompare.plots, diffcompare.plots.cli_support\n"
        "print('matplotlib' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
