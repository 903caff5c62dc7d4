"""What a worker does for each kind of job; runs only in worker processes (loads the engine)."""

from __future__ import annotations

import base64
import io
import platform
from collections.abc import Callable
from typing import Any

from diffcompare import __version__
from diffcompare.service._engine import (
    REFERENCED,
    DiffCompareError,
    GraphvizMissing,
    LimitError,
    ParseError,
    Problem,
    UsageError,
    compare,
    dot_to_svg,
    explain,
    parse,
    render_explanation,
    sweep,
    to_dot,
)
from diffcompare.service.check import check_formula
from diffcompare.service.phase import set_phase

__all__ = ["DiffCompareError", "GraphvizMissing", "TASKS", "error_fields", "versions", "warm_up"]


def _problem(params: dict[str, Any]) -> Problem:
    text = params["expr"]
    set_phase(f"parsing {text[:60]!r}")
    shapes = params.get("shapes")
    if shapes:
        return parse(text, shapes={n: tuple(s) for n, s in shapes.items()})
    return parse(text)


def compare_task(params: dict[str, Any]) -> dict[str, Any]:
    problem = _problem(params)
    set_phase(
        f"comparing {problem.text[:60]!r}: deriving, compiling, evaluating every method and "
        "the 50-digit reference"
    )
    report = compare(
        problem,
        at=params.get("at"),
        wrt=params.get("wrt"),
        order=params.get("order", 1),
        hessian=params.get("hessian", False),
        vjp=params.get("vjp"),
        jvp=params.get("jvp"),
        samples=params.get("samples", 5),
        seed=params.get("seed", 0),
        dtype=params.get("dtype", "float64"),
        fd=params.get("fd", "auto"),
        timing_budget=0,
    )
    set_phase("writing the report")
    return report.to_dict()


def explain_task(params: dict[str, Any]) -> dict[str, Any]:
    problem = _problem(params)
    fmt, lang = params.get("format", "text"), params.get("lang", "en")
    set_phase(f"explaining {problem.text[:60]!r} (forward and backward pass, chain rule)")
    explanation = explain(problem, params["at"], params.get("wrt"))
    set_phase(f"rendering the explanation as {fmt}")
    if fmt not in ("dot", "svg"):
        return {"format": fmt, "lang": lang, "text": render_explanation(explanation, fmt, lang)}
    dot = to_dot(explanation, lang)
    if fmt == "dot":
        return {"format": fmt, "lang": lang, "text": dot}
    set_phase("drawing the graph with Graphviz's dot")
    return {"format": fmt, "lang": lang, "text": dot_to_svg(dot), "dot": dot}


def _domain(params: dict[str, Any]) -> Any:
    domain = params.get("domain")
    if isinstance(domain, dict):
        domain = {n: (float(r[0]), float(r[1])) for n, r in domain.items()}
    return domain


def sweep_task(params: dict[str, Any]) -> dict[str, Any]:
    problem = _problem(params)
    domain = _domain(params)
    samples = params.get("samples", 10_000)
    set_phase(f"sweeping {problem.text[:60]!r} over {samples} points")
    report = sweep(
        problem,
        domain,
        samples,
        grid=params.get("grid", False),
        wrt=params.get("wrt"),
        seed=params.get("seed", 0),
        dtype=params.get("dtype", "float64"),
        fd=params.get("fd", "auto"),
    )
    return report.to_dict()


def plot_task(params: dict[str, Any]) -> dict[str, Any]:
    from diffcompare.plots import plot_sweep
    from diffcompare.plots.cli_support import MAP_REFERENCED
    from diffcompare.render.figures.sweep import DPI

    problem = _problem(params)
    count = len(problem.names)
    if count not in (1, 2):
        raise UsageError(
            f"a plot draws an expression of one or two variables; this one has {count} "
            "(substitute numbers for the others)"
        )
    samples, fmt = params.get("samples", 400), params.get("format", "png")
    set_phase(f"sweeping {problem.text[:60]!r} over {samples} points for a plot")
    report = sweep(
        problem,
        _domain(params),
        samples,
        grid=params.get("grid", False),
        wrt=params.get("wrt"),
        seed=params.get("seed", 0),
        dtype=params.get("dtype", "float64"),
        fd=params.get("fd", "auto"),
        keep_points=True,
        referenced=MAP_REFERENCED if count == 2 else REFERENCED,
    )
    set_phase(f"drawing the sweep's figure as {fmt}")
    buffer = io.BytesIO()
    plot_sweep(report).savefig(buffer, dpi=DPI, format=fmt)
    drawn = buffer.getvalue()
    summary = report.to_dict()
    return {
        "format": fmt,
        "media_type": "image/png" if fmt == "png" else "image/svg+xml",
        "encoding": "base64" if fmt == "png" else "utf-8",
        "image": base64.b64encode(drawn).decode() if fmt == "png" else drawn.decode("utf-8"),
        **{k: summary[k] for k in ("expression", "verdict", "variables", "wrt", "domain")},
        "points": summary["points"],
        "counts": summary["counts"],
    }


def parse_task(params: dict[str, Any]) -> dict[str, Any]:
    import sympy

    problem = _problem(params)
    set_phase(f"printing {problem.text[:60]!r} as LaTeX and MathML")
    shown = problem.graph  # as typed (SymPy's evaluation off), which is what the user sees
    return {
        "expression": problem.text,
        "parsed": str(problem.expr),
        "latex": sympy.latex(shown),
        "mathml": sympy.mathml(shown, printer="presentation"),
        "variables": list(problem.user_names),
        "output_shape": list(problem.output_shape),
    }


def check_task(params: dict[str, Any]) -> dict[str, Any]:
    set_phase(f"checking the formula {params['formula'][:60]!r} for {params['expr'][:60]!r}")
    return check_formula(
        params["expr"],
        params["formula"],
        params.get("wrt"),
        samples=params.get("samples", 5),
        seed=params.get("seed", 0),
    )


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "compare": compare_task,
    "explain": explain_task,
    "sweep": sweep_task,
    "plot": plot_task,
    "parse": parse_task,
    "check": check_task,
}


def error_fields(error: DiffCompareError) -> dict[str, Any]:
    """A refusal as the service's error body: its kind, one-line message and, for a parse or
    limit error, the column and what is allowed."""
    kind = {ParseError: "parse", LimitError: "limit"}.get(type(error), "input")
    fields: dict[str, Any] = {"error": kind, "message": " ".join(str(error).split())}
    for name in ("column", "piece", "allowed", "limit", "got"):
        value = getattr(error, name, None)
        if value is not None:
            fields[name] = value if isinstance(value, int | float | str) else str(value)
    return fields


def warm_up() -> None:
    """Run each path once so the first real request pays for no lazy import."""
    compare_task({"expr": "x**2+3*x", "at": {"x": 2.0}})
    explain_task({"expr": "sin(x)*x", "at": {"x": 1.0}})
    parse_task({"expr": "sqrt(x)/(1+x^2)"})


def versions() -> dict[str, str]:
    import mpmath
    import numpy
    import sympy
    import torch

    return {
        "diffcompare": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "sympy": sympy.__version__,
        "mpmath": mpmath.__version__,
        "numpy": numpy.__version__,
    }
