"""Plots: a sweep's derivatives and errors over its domain (one variable) or its worst error
over the plane (two), and finite differences' error against the step size at one point.
Functions return matplotlib Figures; matplotlib is imported only when one is drawn."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from diffcompare.errors import UsageError
from diffcompare.render.figures.sweep import DPI, plot_sweep, png_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from diffcompare.language.problem import Problem
    from diffcompare.plots.steps import StepStudy
    from diffcompare.report import Report

SUFFIXES = (".png", ".svg", ".pdf")


def plot_points(report: Report) -> Figure:
    """The figure of a comparison at given points (a Report from compare()): per point, each
    method's relative error beside its bound, with the point's verdict."""
    from diffcompare.plots.draw_points import draw_points
    from diffcompare.plots.points import point_errors

    return draw_points(point_errors(report))


def fd_steps(
    expr: str | Problem,
    point: Mapping[str, float] | float,
    wrt: str | Sequence[str] | None = None,
    *,
    dtype: str = "float64",
) -> StepStudy:
    """The step study's data (see steps.fd_steps)."""
    from diffcompare.plots.steps import fd_steps as study

    return study(expr, point, wrt, dtype=dtype)


def plot_fd_steps(
    expr: str | Problem | StepStudy,
    point: Mapping[str, float] | float | None = None,
    wrt: str | Sequence[str] | None = None,
    *,
    dtype: str = "float64",
) -> Figure:
    """Finite differences' true error against the step size at `point` (the V curves of
    central, Richardson and, where analytic, complex-step), with the engine's chosen step and
    its truncation and rounding estimates. Takes an expression and a point, or a StepStudy."""
    from diffcompare.plots.draw_steps import draw_steps
    from diffcompare.plots.steps import StepStudy

    if isinstance(expr, StepStudy):
        return draw_steps(expr)
    if point is None:
        raise UsageError("plot_fd_steps: give the point to study")
    return draw_steps(fd_steps(expr, point, wrt, dtype=dtype))


def check_plot_path(option: str, path: str | Path, writable: bool = False) -> Path:
    """The path, if its suffix is one a figure can be written as; else a UsageError. With
    `writable`, also that its folder exists and can be written to, so a bad path fails before
    the work rather than after it (nothing is created yet)."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise UsageError(f"{option} {path}: the file name must end in {', '.join(SUFFIXES)}")
    if writable:
        folder = path.parent
        if not folder.is_dir():
            raise UsageError(f"{option} {path}: no such folder {str(folder)!r}")
        if path.is_dir() or not os.access(folder, os.W_OK):
            raise UsageError(f"{option} {path}: cannot be written")
    return path


def save_figure(figure: Figure, path: str | Path, option: str = "--plot") -> Path:
    """Write the figure as PNG, SVG or PDF, chosen by the suffix; a file that cannot be
    written is a UsageError, in one line."""
    path = check_plot_path(option, path)
    try:
        figure.savefig(path, dpi=DPI, format=path.suffix[1:].lower())
    except OSError as error:
        raise UsageError(f"{option} {path}: {error.strerror or error}") from None
    return path


__all__ = [
    "check_plot_path",
    "fd_steps",
    "plot_fd_steps",
    "plot_points",
    "plot_sweep",
    "png_bytes",
    "save_figure",
]
