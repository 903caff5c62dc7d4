"""The comparison command: `diffcompare EXPR [--at x=2,y=3]... [--wrt x] [--json]`, and
sweeps with --domain."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from diffcompare import __version__
from diffcompare.cli.options import (
    SHAPE_OPTION,
    WRT_OPTION,
    Command,
    explanation_options,
    given_points,
    parse_shape_options,
    parse_vector,
)
from diffcompare.errors import UsageError

MAX_SAMPLES = 1000
"""The most points a report lists one by one."""

SWEEP_SAMPLES = 10_000
MAX_SWEEP = 100_000_000


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("expr")
@click.option(
    "--at",
    "points",
    multiple=True,
    metavar="x=2,y=3",
    help="A point to compare at (repeat for more). Without it, seeded sample points "
    "where the expression is real and finite.",
)
@WRT_OPTION
@SHAPE_OPTION
@click.option(
    "--order",
    default=1,
    show_default=True,
    type=click.IntRange(1, 6),
    help="The derivative's order: the n-th derivative by the one --wrt variable.",
)
@click.option("--hessian", is_flag=True, help="Every second partial derivative.")
@click.option(
    "--vjp",
    metavar="1,0",
    help="The vector-Jacobian product vᵀJ for this v (one number per output component): "
    "what y.backward(gradient=v) computes.",
)
@click.option(
    "--jvp",
    metavar="0,1",
    help="The Jacobian-vector product J·v for this v (one number per --wrt variable): what "
    "one forward-mode pass computes.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "--samples",
    default=None,
    type=click.IntRange(1, MAX_SWEEP),
    help="How many sample points when no --at is given [default: 5; a sweep: 10000].",
)
@click.option(
    "--domain",
    metavar="x=-3:3,y=0.1:5",
    help="Sweep: evaluate every method at --samples points of these ranges (other variables: "
    "-3:3), judge a subsample and every suspicious point, and summarise.",
)
@click.option("--grid", is_flag=True, help="Sweep on a regular grid instead of random points.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    help="Sweep: also write every point to this file (.jsonl or .npz).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for the sample points.")
@click.option(
    "--dtype",
    type=click.Choice(["float64", "float32"]),
    default="float64",
    show_default=True,
    help="What the torch paths compute in; their error bounds scale with it.",
)
@click.option(
    "--fd",
    type=click.Choice(["auto", "central", "richardson", "complex-step"]),
    default="auto",
    show_default=True,
    help="Finite-difference scheme; auto takes complex-step where every op is analytic, "
    "else Richardson extrapolation.",
)
@click.option(
    "--plot",
    metavar="FILE.png",
    help="Also draw the report to FILE (.png, .svg or .pdf): a sweep in one variable, each "
    "method's derivative and error against its bound; in two, the worst error over the "
    "plane; given points, each method's error and bound at each.",
)
@click.option(
    "--plot-fd",
    metavar="FILE.png",
    help="Also draw finite differences' error against the step size (.png, .svg or .pdf) at "
    "the first --at point, the first sample or the sweep's first judged point.",
)
@click.option(
    "--repeat",
    default=0,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="Time each method over this many more runs and report the best (for stable "
    "sub-millisecond timings); by default the run that produced the values is timed.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="After the report, the worked chain rule at the first point (also: diffcompare "
    "explain EXPR --at ...).",
)
@explanation_options("With --explain: ")
@click.version_option(__version__, "-V", "--version", prog_name="diffcompare")
def cli(
    expr: str,
    points: tuple[str, ...],
    wrt: str | None,
    shapes: tuple[str, ...],
    order: int,
    hessian: bool,
    vjp: str | None,
    jvp: str | None,
    as_json: bool,
    samples: int | None,
    domain: str | None,
    grid: bool,
    output: str | None,
    seed: int,
    dtype: str,
    fd: str,
    plot: str | None,
    plot_fd: str | None,
    repeat: int,
    explain: bool,
    fmt: str,
    lang: str,
    graph: str | None,
) -> int:
    """Compare the derivative of EXPR computed symbolically (SymPy), by autograd (PyTorch's
    reverse and forward modes) and by finite differences, each judged against a 50-digit
    reference and held to the error bound of its own error model. Each point's verdict is
    agree, disagree (naming the method at fault), undefined (outside the real domain) or
    nondifferentiable (at a kink).

    EXPR uses numbers, variables, + - * / ** ^ @, parentheses, [lists] for vectors and
    matrices, x[i] subscripts, pi, e and the functions sin cos tan asin acos atan sinh cosh
    tanh exp log sqrt abs sigmoid relu softplus erf min max sum mean prod norm dot. The
    derivative is the gradient (the Jacobian of a vector expression) unless --order,
    --hessian, --vjp or --jvp asks for another. Exit status: 0 unless something
    disagrees, 1 disagree, 2 bad input.

    \b
    Examples:
      diffcompare "x**2+3*x"
      diffcompare "(x**2+3*x+1)**3+4*(x**2+3*x+1)+2" --at x=2 --json
      diffcompare "x1**2+x2**2+x1*x2" --at x1=10,x2=20
      diffcompare "x**3" --order 2 --at x=2
      diffcompare "[x0**2+4*x1, x1**3+2*x0]" --at x0=1,x1=2
      diffcompare "mean(x**2+20)" --shape x=4 --at "x=[10,20,30,40]"
      diffcompare "x**2*y+sin(y)" --hessian --at x=1,y=2
    """
    from diffcompare.plots.cli_support import after_compare, check_plot_options

    sweeping = domain is not None or grid or output is not None
    first_derivative = order == 1 and not hessian and vjp is None and jvp is None and not shapes
    check_plot_options(plot, plot_fd, first_derivative)  # before loading torch and SymPy

    from diffcompare.engine import compare  # deferred: loads torch and SymPy
    from diffcompare.language.parser import parse
    from diffcompare.render.text import to_json, to_text
    from diffcompare.verdict import DISAGREE

    problem = parse(expr, shapes=parse_shape_options(shapes))
    vjp_vector = None if vjp is None else parse_vector("vjp", vjp)
    jvp_vector = None if jvp is None else parse_vector("jvp", jvp)
    if sweeping:
        if order != 1 or hessian or vjp is not None or jvp is not None:
            raise UsageError(
                "a sweep compares first derivatives: --order, --hessian, --vjp "
                "and --jvp go with --at or --samples"
            )
        if points:
            raise UsageError(
                "--at compares given points; a sweep (--domain, --grid, --output) "
                "samples its own: use one or the other"
            )
        return _sweep(
            problem,
            domain,
            samples or SWEEP_SAMPLES,
            grid,
            output,
            wrt,
            seed,
            dtype,
            fd,
            as_json,
            plot,
            plot_fd,
        )
    if samples is not None and samples > MAX_SAMPLES:
        raise UsageError(
            f"--samples {samples}: at most {MAX_SAMPLES} points are reported one by one; "
            "give --domain for a sweep that summarises many"
        )
    at = None
    if points:
        at = given_points(problem, points)
    with _without_jit_decompositions():
        report = compare(
            problem,
            at=at,
            wrt=wrt,
            order=order,
            hessian=hessian,
            vjp=vjp_vector,
            jvp=jvp_vector,
            samples=samples or 5,
            seed=seed,
            dtype=dtype,
            fd=fd,
            repeat=repeat,
        )
    click.echo(to_json(report) if as_json else to_text(report))
    after_compare(problem, report, plot, plot_fd)
    if explain:
        from diffcompare.cli.explain import run_explain

        first = dict(zip(report.variables, report.points[0].at, strict=True))
        click.echo()
        click.echo(run_explain(problem, [first], wrt, fmt, lang, graph), nl=False)
    elif graph is not None or fmt != "text" or lang != "en":
        raise UsageError("--format, --lang and --graph go with --explain")
    return 1 if report.verdict == DISAGREE else 0


@contextmanager
def _without_jit_decompositions() -> Iterator[None]:
    """Forward-mode AD loads torch's TorchScript decompositions for the few ops that have no
    forward rule (trace, log_sigmoid, the softmax, nll_loss and norm backwards: none of them
    in the op table) on first use, unless PYTORCH_JIT is 0, which torch reads at that
    moment: a second of a one-shot command's start-up. The command's process skips them
    while it compares; a PYTORCH_JIT the user set is kept."""
    if "PYTORCH_JIT" in os.environ:
        yield
        return
    os.environ["PYTORCH_JIT"] = "0"
    try:
        yield
    finally:
        del os.environ["PYTORCH_JIT"]


def _sweep(
    problem: Any,
    domain: str | None,
    samples: int,
    grid: bool,
    output: str | None,
    wrt: str | None,
    seed: int,
    dtype: str,
    fd: str,
    as_json: bool,
    plot: str | None = None,
    plot_fd: str | None = None,
) -> int:
    from contextlib import nullcontext

    from tqdm import tqdm

    from diffcompare.plots.cli_support import after_sweep, sweep_options
    from diffcompare.render.points_file import PointsWriter
    from diffcompare.render.text import sweep_to_json, sweep_to_text
    from diffcompare.sweep import sweep
    from diffcompare.verdict import DISAGREE

    wrt_names = problem.names if wrt is None else [w.strip() for w in wrt.split(",")]
    writer = PointsWriter(output, problem.names, wrt_names) if output else nullcontext()
    # The bar shows only on a terminal and only once a sweep has run for a second.
    with (
        writer as keep,
        tqdm(
            total=None,
            delay=1.0,
            file=sys.stderr,
            disable=None,
            unit="pt",
            unit_scale=True,
            desc="sweep",
            leave=False,
        ) as bar,
    ):
        report = sweep(
            problem,
            domain,
            samples,
            grid=grid,
            wrt=wrt,
            seed=seed,
            dtype=dtype,
            fd=fd,
            progress=bar.update,
            keep=keep,
            **sweep_options(problem, plot, plot_fd),
        )
    click.echo(sweep_to_json(report) if as_json else sweep_to_text(report))
    after_sweep(report, plot, plot_fd)
    return 1 if report.verdict == DISAGREE else 0
