"""A kept sweep as a figure, and a figure as PNG bytes (what Jupyter shows)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from diffcompare.sweep import SweepReport

DPI = 110
"""Dots per inch of a saved figure: readable on screen and in print."""


def plot_sweep(report: SweepReport) -> Figure:
    """The figure of a sweep kept with keep_points=True: in one variable, each method's
    derivative and its error against its bound; in two, the worst error / bound as a map.
    Refuses other sweeps."""
    from diffcompare.render.figures.draw import draw_curves, draw_map
    from diffcompare.render.figures.sweep_data import sweep_curves, sweep_map

    if len(report.variables) == 2:
        return draw_map(sweep_map(report))
    return draw_curves(sweep_curves(report))


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG bytes (for Jupyter)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=DPI, format="png")
    return buffer.getvalue()
