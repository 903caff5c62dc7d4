"""The figure of a comparison at given points: per point, each method's relative error
beside its bound, on a log scale, with each point's verdict. It draws what points.py read."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from diffcompare.plots.points import PointErrors
from diffcompare.render.figures.draw import fonts, new_figure, style_of

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SPREAD = 0.6
"""The width, in units of one point, over which the methods sit side by side."""


def draw_points(data: PointErrors) -> Figure:
    """Per point, each method's relative error (its marker) and its bound (a bar of the same
    style above it, joined by a thin line), with the point's verdict over it."""
    with fonts():
        return _draw_points(data)


def _draw_points(data: PointErrors) -> Figure:
    n, methods = len(data.points), list(data.errors)
    fig = new_figure(max(8.0, 4.6 + 1.5 * n), 4.8)
    ax = fig.subplots()
    offsets = np.linspace(-SPREAD / 2, SPREAD / 2, len(methods))
    where = np.arange(n, dtype=np.float64)
    for offset, m in zip(offsets, methods, strict=True):
        s = style_of(m)
        x = where + offset
        ax.plot(
            x,
            np.maximum(data.errors[m], data.floor),
            linestyle="none",
            marker=s["marker"],
            markersize=7,
            color=s["color"],
            label=f"{data.labels.get(m, m)}: error",
        )
        ax.plot(
            x,
            data.bounds[m],
            linestyle="none",
            marker="_",
            markersize=14,
            markeredgewidth=2.2,
            color=s["color"],
            label="its bound",
        )
        ax.vlines(
            x,
            np.maximum(data.errors[m], data.floor),
            data.bounds[m],
            colors=s["color"],
            linestyles=s["linestyle"],
            linewidth=0.9,
        )
        if data.missing[m].any():
            ax.plot(
                x[data.missing[m]],
                np.full(int(data.missing[m].sum()), 0.95),
                linestyle="none",
                marker=s["marker"],
                markersize=9,
                markerfacecolor="none",
                markeredgecolor=s["color"],
                markeredgewidth=1.6,
                transform=ax.get_xaxis_transform(),
                label=f"{data.labels.get(m, m)}: no finite value (at the top)",
            )
    ax.set_yscale("log")
    ticks = [f"{p}\n{v}" for p, v in zip(data.points, data.verdicts, strict=True)]
    ax.set_xticks(where, ticks, rotation=30 if n > 6 else 0, ha="right" if n > 6 else "center")
    ax.set_xlim(-0.7, n - 0.3)
    ax.set_ylabel("relative error |method - reference| / |reference|")
    ax.set_xlabel("point and its verdict")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), ncols=1, framealpha=0.9)
    fig.suptitle(
        f"{data.text} ({data.dtype}): each method's error against the 50-digit reference and "
        f"its bound\n(the entry closest to its bound at each point; an error of 0 is drawn at "
        f"{data.floor:.0e})",
        fontsize=10,
    )
    return fig
