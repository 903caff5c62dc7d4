"""What the command line's --plot and --plot-fd do, kept here so the CLI module only passes
options through: check the file names before any work, ask the sweep to keep its points,
and write the figures after the report is printed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from diffcompare.errors import UsageError
from diffcompare.plots import check_plot_path

if TYPE_CHECKING:
    from diffcompare.language.problem import Problem
    from diffcompare.report import Report
    from diffcompare.sweep import SweepReport

MAP_REFERENCED = 1000
"""With --plot, a sweep in two variables computes the reference at this many seeded points
(instead of the sweep's default 200) so its map has about two points a cell."""


def check_plot_options(plot: str | None, plot_fd: str | None, first_derivative: bool) -> None:
    """Refuse, before any work is done, a file name no figure can be written as, and
    --plot-fd for anything but a first derivative."""
    if plot is not None:
        check_plot_path("--plot", plot, writable=True)
    if plot_fd is not None:
        check_plot_path("--plot-fd", plot_fd, writable=True)
        if not first_derivative:
            raise UsageError(
                "--plot-fd studies a first derivative: it does not go with --order, "
                "--hessian, --vjp or --jvp"
            )


def sweep_options(problem: Problem, plot: str | None, plot_fd: str | None) -> dict[str, Any]:
    """The extra arguments to sweep(): keep every point when a figure is asked for, and for a
    map in two variables reference enough points to fill it."""
    if plot is None and plot_fd is None:
        return {}
    if plot is not None and len(problem.names) not in (1, 2):
        raise UsageError(
            f"--plot draws sweeps in one or two variables; this one has {len(problem.names)} "
            "(use --plot-fd for the step study, or fix the others by substituting numbers)"
        )
    options: dict[str, Any] = {"keep_points": True}
    if plot is not None and len(problem.names) == 2:
        options["referenced"] = MAP_REFERENCED
    return options


def after_sweep(report: SweepReport, plot: str | None, plot_fd: str | None) -> None:
    """Write the sweep's figure and the step study at its first judged point."""
    from diffcompare.plots import plot_sweep, save_figure

    if plot is not None:
        save_figure(plot_sweep(report), plot, "--plot")
    if plot_fd is not None:
        assert report.points is not None  # sweep_options asked for them
        first = next((r for r in report.points.results if r.verdict in ("agree", "disagree")), None)
        if first is None:
            raise UsageError("--plot-fd: no sample of the sweep has a derivative to study")
        point = dict(zip(report.variables, first.at, strict=True))
        _write_steps(report.text, point, report.wrt[0], report.dtype, plot_fd)


def after_compare(problem: Problem, report: Report, plot: str | None, plot_fd: str | None) -> None:
    """With points (--at or samples): --plot draws each method's error and bound at each,
    --plot-fd studies the first."""
    if plot is not None:
        from diffcompare.plots import plot_points, save_figure

        save_figure(plot_points(report), plot, "--plot")
    if plot_fd is not None:
        point = dict(zip(report.variables, report.points[0].at, strict=True))
        _write_steps(problem, point, report.wrt[0], report.dtype, plot_fd)


def _write_steps(
    expr: str | Problem, point: dict[str, float], wrt: str, dtype: str, path: str
) -> None:
    from diffcompare.plots import plot_fd_steps, save_figure

    save_figure(plot_fd_steps(expr, point, wrt, dtype=dtype), path, "--plot-fd")
