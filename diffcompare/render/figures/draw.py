"""Matplotlib figures of a sweep and of the finite-difference step study. They draw what
data.py and steps.py computed and compute nothing themselves; matplotlib is imported only
here, when a figure is asked for, and only its Agg-backed Figure class (no pyplot state)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from diffcompare.render.figures.sweep_data import SweepCurves, SweepMap

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

STYLE: dict[str, dict[str, Any]] = {
    # Okabe-Ito colours, and a line style and marker each, so print in grey still tells
    # the methods apart.
    "symbolic": {"color": "#000000", "linestyle": "-", "linewidth": 3.0, "marker": "o"},
    "autograd": {"color": "#E69F00", "linestyle": "--", "linewidth": 2.2, "marker": "s"},
    "forward": {"color": "#0072B2", "linestyle": ":", "linewidth": 2.2, "marker": "^"},
    "finite_difference": {"color": "#009E73", "linestyle": "-.", "linewidth": 1.4, "marker": "D"},
}
FALLBACK = {"color": "#CC79A7", "linestyle": (0, (5, 1, 1, 1)), "linewidth": 1.4, "marker": "v"}
SCHEME_STYLE = {
    "central": STYLE["autograd"],
    "richardson": STYLE["forward"],
    "complex-step": STYLE["finite_difference"],
}
FONT: dict[Any, Any] = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
}


def new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def fonts() -> Any:
    """Legible font sizes for the figures drawn inside, leaving the user's settings alone."""
    import matplotlib

    return matplotlib.rc_context(FONT)


def style_of(method: str) -> dict[str, Any]:
    return STYLE.get(method, FALLBACK)


def _draw_curves(data: SweepCurves) -> Figure:
    """A sweep in one variable: each method's derivative over the domain on top, and below,
    one panel per method, its relative error at the referenced points against its bound."""
    methods = list(data.values)
    fig = new_figure(8.0, 4.0 + 1.55 * len(methods))
    axes = fig.subplots(
        2 + len(methods),
        1,
        sharex=True,
        gridspec_kw={"height_ratios": [1.4, 2.2] + [1] * len(methods)},
    )
    _draw_function(axes[0], data)
    top = axes[1]
    for m in methods:
        s = style_of(m)
        top.plot(
            data.x,
            data.values[m],
            color=s["color"],
            linestyle=s["linestyle"],
            linewidth=s["linewidth"],
            label=data.labels.get(m, m),
        )
    top.plot(
        data.reference_x,
        data.reference,
        linestyle="none",
        marker="o",
        markersize=2.5,
        markerfacecolor="white",
        markeredgecolor="#555555",
        markeredgewidth=0.6,
        zorder=3,
        label=f"reference (50 digits) at {data.reference.size} points",
    )
    top.set_ylabel(f"d/d{data.entry} of the expression")
    top.set_title(
        f"derivative by {data.entry} at {data.count:,} points "
        f"({data.dtype}; lines thinned to their envelope)",
        loc="left",
    )
    for ax in axes[1:]:
        _mark_domain(ax, data, legend=ax is top)
    if data.flagged.size:
        top.plot(
            data.flagged,
            np.full(data.flagged.shape, 0.97),
            linestyle="none",
            marker="x",
            color="#D55E00",
            transform=top.get_xaxis_transform(),
            label=f"two methods differ beyond their bounds ({data.counts['flagged']:,})",
        )
    if data.disagree.size:
        top.plot(
            data.disagree,
            np.full(data.disagree.shape, 0.5),
            linestyle="none",
            marker="s",
            markersize=10,
            markerfacecolor="none",
            markeredgecolor="#D55E00",
            markeredgewidth=1.5,
            transform=top.get_xaxis_transform(),
            label=f"disagree (judged against the reference): {data.disagree.size}",
        )
    top.legend(loc="upper left", framealpha=0.9, title="the lines coincide where the methods agree")
    top.grid(True, alpha=0.3)

    high = max(
        [data.floor * 10]
        + [float(np.nanmax(e.errors)) for e in data.errors.values() if e.errors.size]
        + [float(np.nanmax(e.bounds)) for e in data.errors.values() if e.bounds.size]
    )
    for ax, m in zip(axes[2:], methods, strict=True):
        _draw_errors(ax, data, m, high)
    axes[-1].set_xlabel(f"{data.variable} (the expression's input, as given)")
    fig.text(
        0.01,
        0.0,
        "Relative error = |method - reference| / |reference|, dimensionless, at the points the "
        "50-digit reference was computed at;\nbound = the method's own error bound / "
        f"|reference|. An exact result (error 0) is drawn at {data.floor:.0e}.",
        fontsize=8,
        va="bottom",
    )
    fig.get_layout_engine().set(h_pad=0.04, rect=(0, 0.035, 1, 0.965))  # type: ignore[union-attr, call-arg]
    return fig


def _draw_function(ax: Axes, data: SweepCurves) -> None:
    """The expression itself over the domain (each output of a vector-valued one)."""
    outputs = data.function.shape[1]
    for k in range(outputs):
        label = data.text if outputs == 1 else f"output {k}"
        ax.plot(data.x, data.function[:, k], color="#222222", linewidth=1.2, label=label)
    ax.set_ylabel("the expression")
    ax.set_title(f"{data.text} over {data.variable}", loc="left")
    _mark_domain(ax, data, legend=False)
    ax.legend(loc="upper left", framealpha=0.9)
    ax.grid(True, alpha=0.3)


def _draw_errors(ax: Axes, data: SweepCurves, method: str, high: float) -> None:
    s, e = style_of(method), data.errors[method]
    order = np.argsort(e.x, kind="stable")
    ax.plot(
        e.x[order],
        e.bounds[order],
        color=s["color"],
        linestyle=s["linestyle"],
        linewidth=1.2,
        label="its bound",
    )
    ax.plot(
        e.x,
        np.maximum(e.errors, data.floor),
        linestyle="none",
        marker=s["marker"],
        markersize=3,
        color=s["color"],
        label="its error",
    )
    if e.outside.any():
        ax.plot(
            e.x[e.outside],
            e.errors[e.outside],
            linestyle="none",
            marker="o",
            markersize=10,
            markerfacecolor="none",
            markeredgecolor="#D55E00",
            markeredgewidth=1.5,
            label=f"outside its bound ({int(e.outside.sum())})",
        )
    if e.missing.size:
        ax.plot(
            e.missing,
            np.full(e.missing.shape, 0.92),
            linestyle="none",
            marker="^",
            markersize=7,
            color="#D55E00",
            transform=ax.get_xaxis_transform(),
            label=f"no finite value ({e.missing.size})",
        )
    ax.set_yscale("log")
    ax.set_ylim(data.floor / 3, high * 30)
    ax.set_ylabel("relative error")
    ax.grid(True, which="major", alpha=0.3)
    label = data.labels.get(method, method)
    faults = f"{int(e.outside.sum())} of {e.x.size} outside its bound"
    if e.missing.size:
        faults += f", {e.missing.size} with no finite value"
    ax.set_title(
        f"{label}: {faults}",
        loc="left",
        fontsize=9,
        pad=2,
    )
    ax.legend(loc="upper right", ncols=3, framealpha=0.9)


def _mark_domain(ax: Axes, data: SweepCurves, legend: bool) -> None:
    """Hatch where the expression is undefined, and draw a vertical line at each kink."""
    for i, (low, high) in enumerate(data.undefined_spans[:200]):
        ax.axvspan(
            low,
            high if high > low else low + 1e-9 * max(1.0, abs(low)),
            facecolor="#DDDDDD",
            edgecolor="#888888",
            hatch="///",
            linewidth=0,
            label=f"undefined ({data.counts['undefined']:,} points)" if legend and i == 0 else None,
        )
    kinks = np.unique(np.r_[data.on_edge, data.nondifferentiable])[:50]
    for i, x in enumerate(kinks):
        ax.axvline(
            x,
            color="#555555",
            linestyle=(0, (1, 1)),
            linewidth=1.0,
            label=f"kink or domain edge ({data.counts['on_edge']:,} points)"
            if legend and i == 0
            else None,
        )


def _draw_map(data: SweepMap) -> Figure:
    """A sweep in two variables: the worst method's error over its bound, per cell, as a heat
    map on a log colour scale, with the points that disagree marked."""
    import matplotlib
    from matplotlib.colors import LogNorm

    fig = new_figure(7.4, 6.6)
    ax = fig.subplots()
    finite = data.ratio[np.isfinite(data.ratio) & (data.ratio > 0)]
    # Up to the bound on a sequential scale; beyond it (a disagreement) one signal colour,
    # and those points also carry a marker, so the map does not rely on colour alone.
    vmax = 1.0
    vmin = min(1e-3, float(finite.min()) if finite.size else 1e-3)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="white", over="#D55E00")
    # An exact cell at the scale's floor; a method with no finite value beyond its top.
    ratio = np.where(data.ratio == 0, vmin, np.where(np.isposinf(data.ratio), 10.0, data.ratio))
    mesh = ax.pcolormesh(
        data.x_edges, data.y_edges, ratio, norm=LogNorm(vmin, vmax), cmap=cmap, shading="flat"
    )
    bar = fig.colorbar(mesh, ax=ax, extend="max")
    bar.set_label("worst method's error / its bound (dimensionless; the triangle: above 1)")
    ax.plot(
        *data.points.T,
        linestyle="none",
        marker=".",
        markersize=2,
        color="black",
        label=f"referenced points ({data.points.shape[0]})",
    )
    counts = {
        "undefined": data.counts["undefined"],
        "on a kink or domain edge": data.counts["on_edge"],
        "two methods differ beyond their bounds": data.counts["flagged"],
        "disagree (judged)": data.disagree.shape[0],
    }
    marks: list[tuple[np.ndarray, dict[str, Any], str]] = [
        (data.undefined, {"marker": ".", "color": "#999999", "markersize": 2}, "undefined"),
        (
            data.on_edge,
            {"marker": "+", "color": "black", "markersize": 6},
            "on a kink or domain edge",
        ),
        (
            data.flagged,
            {"marker": "x", "color": "black", "markersize": 6},
            "two methods differ beyond their bounds",
        ),
        (
            data.disagree,
            {
                "marker": "s",
                "markerfacecolor": "none",
                "markeredgecolor": "black",
                "markersize": 9,
                "markeredgewidth": 1.5,
            },
            "disagree (judged)",
        ),
    ]
    for points, style, label in marks:
        if points.size:
            ax.plot(*points.T, linestyle="none", label=f"{label} ({counts[label]:,})", **style)
    ax.set_xlim(data.x_edges[0], data.x_edges[-1])
    ax.set_ylim(data.y_edges[0], data.y_edges[-1])
    ax.set_xlabel(data.variables[0])
    ax.set_ylabel(data.variables[1])
    ax.set_title(
        f"{data.text} ({data.dtype}): {data.count:,} points, error against the 50-digit "
        f"reference\nat {data.referenced} of them; each cell shows its worst point "
        "(white: none referenced)",
        loc="left",
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=2, framealpha=0.9)
    return fig


def draw_curves(data: SweepCurves) -> Figure:
    """A sweep in one variable: each method's derivative over the domain on top, and below,
    one panel per method, its relative error at the referenced points against its bound."""
    with fonts():
        return _draw_curves(data)


def draw_map(data: SweepMap) -> Figure:
    """A sweep in two variables: the worst method's error over its bound per cell, on a log
    colour scale, with the points that disagree marked."""
    with fonts():
        return _draw_map(data)
