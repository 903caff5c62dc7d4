"""The `diffcompare explain EXPR --at x=2` command, and the helper the main command's
`--explain` calls: both render explanations and write the graph, nothing more."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from diffcompare.cli.options import (
    SHAPE_OPTION,
    WRT_OPTION,
    Command,
    explanation_options,
    given_points,
    parse_shape_options,
)
from diffcompare.errors import DiffCompareError, UsageError

if TYPE_CHECKING:
    from diffcompare.explanation.model import Explanation
    from diffcompare.language.problem import Problem

GRAPH_FORMATS = ("dot", "svg", "png", "pdf")
"""File endings --graph writes: DOT itself, or what Graphviz's `dot` makes of it."""


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("expr")
@click.option(
    "--at",
    "points",
    multiple=True,
    required=True,
    metavar="x=2,y=3",
    help="The point to explain at (repeat for one explanation per point).",
)
@WRT_OPTION
@SHAPE_OPTION
@explanation_options("")
def explain_command(
    expr: str,
    points: tuple[str, ...],
    wrt: str | None,
    shapes: tuple[str, ...],
    fmt: str,
    lang: str,
    graph: str | None,
) -> int:
    """Explain the derivative of EXPR at a point, the way PyTorch computes it: the forward
    pass node by node, the backward pass in the order torch ran it with each grad_fn, local
    derivative and accumulated gradient, and the chain rule in closed form, all checked
    against torch's retain_grad() values and the SymPy derivative.

    \b
    Examples:
      diffcompare explain "(x**2+3*x+1)**3+4*(x**2+3*x+1)+2" --at x=2
      diffcompare explain "x1**2+x2**2+x1*x2" --at x1=10,x2=20 --lang zh
      diffcompare explain "sin(x**2)" --at x=1 --format latex --graph g.dot
      diffcompare explain "[x0**2+4*x1, x1**3+2*x0]" --at x0=1,x1=2
      diffcompare explain "sin(x)*exp(x)" --at x=1 --format svg > graph.svg
    """
    from diffcompare.language.parser import parse  # deferred: loads SymPy

    problem = parse(expr, shapes=parse_shape_options(shapes))
    at = given_points(problem, points)
    click.echo(run_explain(problem, at, wrt, fmt, lang, graph), nl=False)
    return 0


def run_explain(
    problem: Problem | str,
    points: Sequence[Mapping[str, float]] | None,
    wrt: str | Sequence[str] | None,
    fmt: str = "text",
    lang: str = "en",
    graph: str | None = None,
) -> str:
    """The explanations of `problem` (a Problem or its text) at each of `points`, rendered
    in `fmt` and `lang` and joined; with `graph`, the first point's graph is written there.

    Raises UsageError for no points, an unknown format, language or graph file ending, or
    a graph that cannot be written.
    """
    from diffcompare.explanation.build import explain
    from diffcompare.render.explanation import render

    if not points:
        raise UsageError("an explanation needs a point: give one with --at, e.g. --at x=2")
    if fmt in ("latex", "svg") and len(points) > 1:
        raise UsageError(f"--format {fmt} writes one document: give one --at point")
    if graph is not None:
        _graph_format(graph)  # refuse a bad file name before the work
    explanations = [explain(problem, point, wrt) for point in points]
    rendered = [render(e, fmt, lang) for e in explanations]
    if graph is not None:
        write_graph(explanations[0], graph, lang)
    return ("\n---\n\n" if fmt == "markdown" else "\n").join(rendered)


def write_graph(explanation: Explanation, path: str, lang: str = "en") -> None:
    """Write the explanation's graph to `path`: DOT text for .dot, else drawn by Graphviz's
    `dot` (.svg, .png, .pdf). Raises UsageError when `dot` is missing or fails."""
    from diffcompare.render.explanation import to_dot
    from diffcompare.render.graphviz import GraphvizMissing, draw_dot

    kind = _graph_format(path)
    text = to_dot(explanation, lang)
    try:
        if kind == "dot":
            Path(path).write_text(text, encoding="utf-8")
            return
        drawing = draw_dot(text, kind)
        Path(path).write_bytes(drawing)
    except GraphvizMissing:
        raise UsageError(
            f"--graph {path}: writing .{kind} needs Graphviz's dot program, which is not "
            f"installed; install graphviz, or write {Path(path).with_suffix('.dot')} instead"
        ) from None
    except DiffCompareError as error:
        raise UsageError(f"--graph {path}: {error}") from None
    except OSError as error:
        raise UsageError(f"--graph {path}: cannot write it ({error.strerror or error})") from None


def _graph_format(path: str) -> str:
    kind = Path(path).suffix.lower().lstrip(".")
    if kind not in GRAPH_FORMATS:
        raise UsageError(
            f"--graph {path}: expected a file ending in "
            + ", ".join(f".{k}" for k in GRAPH_FORMATS)
        )
    return kind
