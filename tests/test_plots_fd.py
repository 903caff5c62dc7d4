"""The finite-difference step study: its true errors, checked independently against mpmath,
form the V curve (truncation falling, rounding rising as h shrinks) with its minimum near the
step the engine picks; and the figure draws exactly the study's numbers."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from diffcompare.errors import UsageError
from diffcompare.plots import fd_steps, plot_fd_steps

SMOOTH = "sin(x)*exp(-x**2/2)/(1+x**2)"
X = 0.7


def _f(t):  # the same expression in mpmath, independent of the engine's parser and tape
    return mpmath.sin(t) * mpmath.exp(-(t**2) / 2) / (1 + t**2)


@pytest.fixture(scope="module")
def study():
    return fd_steps(SMOOTH, {"x": X})


def test_the_true_errors_are_the_central_differences_against_an_independent_truth(study) -> None:
    with mpmath.workdps(50):
        truth = mpmath.diff(_f, mpmath.mpf(X))
        assert float(truth) == study.reference
        c = study.curves["central"]
        for i in range(0, len(c.steps), 9):
            h = c.steps[i]
            f = [float(_f(mpmath.mpf(X) + s * mpmath.mpf(h))) for s in (1, -1)]
            width = (X + h) - (X - h)
            mine = float(abs(mpmath.mpf((f[0] - f[1]) / width) - truth))
            # The engine evaluates f in torch, which may round each probe differently by
            # about its running bound: the study's rounding term is that, over h.
            if math.isfinite(c.errors[i]):
                assert abs(c.errors[i] - mine) <= c.rounding[i], (h, c.errors[i], mine)


def test_the_v_curve_has_its_minimum_near_the_engines_step(study) -> None:
    assert list(study.curves) == ["central", "richardson", "complex-step"]
    for name in ("central", "richardson"):
        c = study.curves[name]
        finite = np.isfinite(c.errors)
        best = c.steps[finite][np.argmin(c.errors[finite])]
        assert abs(math.log10(best / c.chosen.step)) <= 1.0, (name, best, c.chosen.step)
        # Left of the minimum rounding rules and the error rises as h shrinks; right of it,
        # truncation rules and the error grows with h at the scheme's order.
        small = finite & (c.steps < c.chosen.step / 1e4)
        assert np.median(c.errors[small]) > 100 * c.chosen_error
        large = (c.steps > 10 * c.chosen.step) & (c.steps < 0.1)
        slope = np.polyfit(np.log10(c.steps[large]), np.log10(c.errors[large]), 1)[0]
        assert slope == pytest.approx(c.order, abs=0.3), name
        # The estimated lines: truncation falls and rounding rises as h shrinks.
        assert c.truncation_line is not None
        assert np.all(np.diff(c.truncation_line) > 0) and np.all(np.diff(c.rounding) < 0)
        # Where truncation dominates, the fitted line is the true error within a factor 2.
        ratio = c.errors[large] / c.truncation_line[large]
        assert np.all((ratio > 0.5) & (ratio < 2)), (name, ratio)
        # What the engine returns is within its bound of the truth.
        assert c.chosen_error <= c.chosen.bound


def test_complex_step_has_no_rounding_arm(study) -> None:
    c = study.curves["complex-step"]
    assert c.chosen.step == pytest.approx(2.0**-66)
    tiny = c.steps < 1e-9
    assert tiny.sum() > 50 and np.all(c.errors[tiny] <= c.rounding[tiny])
    assert np.all(c.rounding == c.rounding[0])
    assert c.chosen_error <= c.chosen.bound


def test_the_figure_draws_the_study(study) -> None:
    fig = plot_fd_steps(study)
    assert [ax.get_title(loc="left") for ax in fig.axes] == list(study.curves)
    for ax, c in zip(fig.axes, study.curves.values(), strict=True):
        assert ax.get_xscale() == ax.get_yscale() == "log"
        error, truncation, rounding, chosen, bound, there = ax.get_lines()
        np.testing.assert_array_equal(error.get_xdata(), c.steps)
        np.testing.assert_array_equal(error.get_ydata(), np.maximum(c.errors, study.floor))
        np.testing.assert_array_equal(truncation.get_ydata(), c.truncation_line)
        np.testing.assert_array_equal(rounding.get_ydata(), c.rounding)
        assert list(chosen.get_xdata()) == [c.chosen.step] * 2
        assert list(bound.get_ydata()) == [c.chosen.bound]
        assert list(there.get_ydata()) == [max(c.chosen_error, study.floor)]
        assert "step h" in ax.get_xlabel()
    assert "absolute error" in fig.axes[0].get_ylabel()


def test_non_analytic_expressions_get_no_complex_step_and_bad_requests_are_refused() -> None:
    study = fd_steps("abs(x-1)*y", {"x": 2.0, "y": 3.0}, "y")
    assert list(study.curves) == ["central", "richardson"]
    assert study.variable == "y" and study.reference == 1.0
    with pytest.raises(UsageError, match="one variable"):
        fd_steps("x*y", {"x": 1, "y": 2}, "x,y")
    with pytest.raises(UsageError, match="scalar"):
        fd_steps("[x, x**2]", {"x": 1})
    with pytest.raises(UsageError, match="no finite real value"):
        fd_steps("log(x)", {"x": -1})
