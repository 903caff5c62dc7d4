"""The figure of the finite-difference step study: one panel per scheme, its true error
against the step size (the V), the fitted truncation and the rounding lines, and the step the
engine picks. It draws what steps.py computed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from diffcompare.plots.steps import StepStudy
from diffcompare.render.figures.draw import FALLBACK, SCHEME_STYLE, fonts, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def draw_steps(study: StepStudy) -> Figure:
    """The V curves of finite differences at one point, one panel per scheme."""
    with fonts():
        return _draw_steps(study)


def _draw_steps(study: StepStudy) -> Figure:
    """The V curves: per scheme, the true error against the step size, the fitted truncation
    line, the rounding term, and the step the engine picks with its bound there."""
    schemes = list(study.curves)
    fig = new_figure(4.0 * len(schemes) + 0.6, 5.0)
    axes = np.atleast_1d(fig.subplots(1, len(schemes), sharey=True))
    floor = study.floor
    for ax, name in zip(axes, schemes, strict=True):
        c = study.curves[name]
        s = SCHEME_STYLE.get(name, FALLBACK)
        ax.plot(
            c.steps,
            np.maximum(c.errors, floor),
            color="black",
            linestyle="-",
            marker=".",
            markersize=3,
            linewidth=1.2,
            label="true error (vs 50 digits)",
        )
        if c.truncation_line is not None:
            ax.plot(
                c.steps,
                c.truncation_line,
                color=s["color"],
                linestyle="--",
                linewidth=1.8,
                label=f"estimated truncation ~ h^{c.order:g}",
            )
        ax.plot(
            c.steps,
            c.rounding,
            color=s["color"],
            linestyle=":",
            linewidth=2.2,
            label="estimated rounding"
            + (" (no cancellation)" if name == "complex-step" else " ~ 1/h"),
        )
        ax.axvline(
            c.chosen.step,
            color="#555555",
            linestyle="-.",
            linewidth=1.2,
            label=f"step the engine picks, h = {c.chosen.step:.2g}",
        )
        ax.plot(
            [c.chosen.step],
            [max(c.chosen.bound, floor)],
            linestyle="none",
            marker="v",
            markersize=9,
            color=s["color"],
            markeredgecolor="black",
            label=f"its bound there, {c.chosen.bound:.2g}",
        )
        ax.plot(
            [c.chosen.step],
            [max(c.chosen_error, floor)],
            linestyle="none",
            marker="*",
            markersize=13,
            color="white",
            markeredgecolor="black",
            label=f"its true error there, {c.chosen_error:.2g}",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(name, loc="left")
        ax.set_xlabel(f"step h (absolute, in units of {study.variable})")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="upper center", framealpha=0.9, fontsize=7.5)
        top = np.nanmax(np.r_[c.errors[np.isfinite(c.errors)], abs(study.reference), floor])
        ax.set_ylim(floor / 3, top * 1e3)
    axes[0].set_ylabel(f"absolute error of d/d{study.variable} (units of the derivative)")
    where = ", ".join(f"{k}={v:.6g}" for k, v in study.point.items())
    fig.suptitle(
        f"{study.text}: finite differences at {where} ({study.dtype}); "
        f"d/d{study.variable} = {study.reference:.15g}. An error of 0 is drawn at {floor:.0e}.",
        fontsize=10,
    )
    return fig
