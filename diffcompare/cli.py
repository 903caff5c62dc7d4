"""The command line: `diffcompare EXPR [--at x=2,y=3]... [--wrt x] [--json]`.

Exit status as diff(1): 0 when nothing disagrees, 1 on a disagreement, 2 on bad input or
usage, with one line on stderr and no traceback. Only click is imported at start-up, so
`--help` and `--version` never load torch or SymPy.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import click

from . import __version__
from .errors import DiffCompareError, UsageError
from .splitting import split_top_level

F = TypeVar("F", bound=Callable[..., Any])

MAX_SAMPLES = 1000
"""The most points a report lists one by one."""

SWEEP_SAMPLES = 10_000
MAX_SWEEP = 100_000_000

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def parse_point(text: str) -> dict[str, Any] | float:
    """`x=2,y=-1.5e3` as {'x': 2.0, 'y': -1500.0}; `x=[1,2],W=[[1,2],[3,4]]` with nested
    lists for array variables; a bare number (one-variable case) as a float."""
    text = text.strip()
    if _NUMBER.fullmatch(text):
        return _finite(text, text)
    point: dict[str, Any] = {}
    for item in split_top_level(text):
        name, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not name or not value:
            raise UsageError(
                f"--at {text}: expected name=number pairs separated by commas, e.g. --at "
                "x=2,y=3 (an array variable: x=[1,2,3])"
            )
        if name in point:
            raise UsageError(f"--at {text}: {name} is given twice")
        point[name] = _value(value, text)
    return point


def _value(value: str, text: str) -> Any:
    """A number, or a bracketed list of values (nested for a matrix)."""
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        inner = value[1:-1].strip()
        if not inner:
            raise UsageError(f"--at {text}: an empty list")
        return [_value(item, text) for item in split_top_level(inner)]
    if not _NUMBER.fullmatch(value):
        raise UsageError(
            f"--at {text}: {value!r} is not a decimal number or a bracketed list of them"
        )
    return _finite(value, text)


def _finite(value: str, text: str) -> float:
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise UsageError(f"{text}: {value} is not finite in float64")
    return number


def parse_vector(option: str, text: str) -> list[float]:
    """`1,0,-2.5` (brackets optional) as a list of finite floats, for --vjp and --jvp."""
    inner = text.strip().removeprefix("[").removesuffix("]")
    items = [item.strip() for item in inner.split(",")]
    if not all(_NUMBER.fullmatch(item) for item in items):
        raise UsageError(f"--{option} {text}: expected numbers separated by commas, e.g. 1,0")
    return [_finite(item, text) for item in items]


class _Command(click.Command):
    """Maps every error to one line on stderr and diff(1)'s exit codes, in one place."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> NoReturn:
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except DiffCompareError as error:
            code = _fail(error.format_message(), error.exit_code)
        except click.ClickException as error:
            code = _fail(error.format_message(), 2)
        except click.Abort:
            code = _fail("aborted", 2)
        except KeyboardInterrupt:
            code = _fail("interrupted", 130)
        sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> int:
    click.echo(f"diffcompare: error: {' '.join(message.split())}", err=True)
    return code


WRT_OPTION = click.option(
    "--wrt",
    metavar="x[,y]",
    help="Differentiate by these variables (default: all; an array's name stands for its "
    "components). A name repeated (x,x,y), or as many names as --order, asks for that "
    "mixed partial.",
)

SHAPE_OPTION = click.option(
    "--shape",
    "shapes",
    multiple=True,
    metavar="x=4,W=2x3",
    help="Make variables vectors or matrices; give their values as --at x=[1,2,3,4].",
)


def explanation_options(prefix: str) -> Callable[[F], F]:
    """--format, --lang and --graph, which the explain command and --explain share."""

    def decorate(command: F) -> F:
        for option in reversed(
            [
                click.option(
                    "--format",
                    "fmt",
                    type=click.Choice(["text", "markdown", "latex"]),
                    default="text",
                    show_default=True,
                    help=prefix + "text for the terminal, Markdown, or a LaTeX document.",
                ),
                click.option(
                    "--lang",
                    type=click.Choice(["en", "zh"]),
                    default="en",
                    show_default=True,
                    help=prefix + "English or Chinese (中文).",
                ),
                click.option(
                    "--graph",
                    metavar="FILE.dot",
                    help=prefix + "also write the graph to FILE: .dot, or .svg/.png/.pdf "
                    "when Graphviz's dot is installed (at the first point).",
                ),
            ]
        ):
            command = option(command)
        return command

    return decorate


@click.command(cls=_Command, context_settings={"help_option_names": ["-h", "--help"]})
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
    plot: str | None,
    plot_fd: str | None,
    seed: int,
    dtype: str,
    fd: str,
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
    from .plots.cli_support import after_compare, check_plot_options

    sweeping = domain is not None or grid or output is not None
    first_derivative = order == 1 and not hessian and vjp is None and jvp is None and not shapes
    check_plot_options(plot, plot_fd, first_derivative)  # before loading torch and SymPy

    from .comparison import compare  # deferred: loads torch and SymPy
    from .parser import parse
    from .render import to_json, to_text
    from .report import DISAGREE

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
    )
    click.echo(to_json(report) if as_json else to_text(report))
    after_compare(problem, report, plot, plot_fd)
    if explain:
        from .explain_cli import run_explain

        first = dict(zip(report.variables, report.points[0].at, strict=True))
        click.echo()
        click.echo(run_explain(problem, [first], wrt, fmt, lang, graph), nl=False)
    elif graph is not None or fmt != "text" or lang != "en":
        raise UsageError("--format, --lang and --graph go with --explain")
    return 1 if report.verdict == DISAGREE else 0


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

    from .plots.cli_support import after_sweep, sweep_options
    from .points_file import PointsWriter
    from .render import sweep_to_json, sweep_to_text
    from .report import DISAGREE
    from .sweep import sweep

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


def parse_shape_options(options: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """Every --shape option's `x=4,W=2x3`, merged; a name given twice is refused."""
    from .parser import parse_shapes

    shapes: dict[str, tuple[int, ...]] = {}
    for text in options:
        for name, shape in parse_shapes(text).items():
            if name in shapes:
                raise UsageError(f"--shape {name} is given twice")
            shapes[name] = shape
    return shapes


def given_points(problem: Any, points: Sequence[str]) -> list[dict[str, Any]]:
    """Each --at text as a mapping of variable to value, for the problem's variables."""
    return [named_point(parse_point(text), problem.user_names, text) for text in points]


def named_point(point: dict[str, Any] | float, names: Sequence[str], text: str) -> dict[str, Any]:
    if isinstance(point, dict):
        return point
    if len(names) != 1:
        raise UsageError(
            f"--at {text}: name each variable ({', '.join(names)}), "
            "e.g. --at " + ",".join(f"{n}=1" for n in names)
        )
    return {names[0]: point}


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script: `diffcompare explain ...` is the explain command, anything else
    the comparison."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["explain"]:
        from .explain_cli import explain_command

        explain_command.main(args[1:], prog_name="diffcompare explain")
    cli.main(args, prog_name="diffcompare")
