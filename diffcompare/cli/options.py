"""What the commands share: the option parsers (points, vectors, shapes), the shared
options, and the click command class that turns every error into one line and exit 2."""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import click

from diffcompare.errors import DiffCompareError, UsageError
from diffcompare.language.splitting import split_top_level

F = TypeVar("F", bound=Callable[..., Any])

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


DEBUG_ENV = "DIFFCOMPARE_DEBUG"
"""Set (to anything but empty or 0) to print the traceback of an internal failure."""


class InternalError(DiffCompareError):
    """A failure of diffcompare itself, not of the input: shown in one line naming the input."""


class Command(click.Command):
    """Maps every error to one line on stderr and diff(1)'s exit codes, in one place; an
    internal failure too (with --debug or DIFFCOMPARE_DEBUG=1, after its traceback)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(
            click.Option(
                ["--debug"],
                is_flag=True,
                expose_value=False,
                is_eager=True,
                callback=_remember_debug,
                help=f"Show the traceback of an internal failure (also: {DEBUG_ENV}=1).",
            )
        )

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (DiffCompareError, click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            if ctx.meta.get("diffcompare.debug") or os.environ.get(DEBUG_ENV, "0") not in ("", "0"):
                traceback.print_exc(file=sys.stderr)
            raise _internal(ctx.params.get("expr"), error) from error

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


def _remember_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    ctx.meta["diffcompare.debug"] = value


def _internal(expr: object, error: Exception) -> InternalError:
    what = f" on {_shown(expr)}" if isinstance(expr, str) else ""
    detail = " ".join(str(error).split())
    detail = detail if len(detail) <= 160 else detail[:157] + "..."
    return InternalError(
        f"internal error{what}: {type(error).__name__}"
        + (f": {detail}" if detail else "")
        + f" (a bug in diffcompare: rerun with --debug, or {DEBUG_ENV}=1, for the traceback)"
    )


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


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
                    type=click.Choice(["text", "markdown", "latex", "dot", "svg"]),
                    default="text",
                    show_default=True,
                    help=prefix + "text for the terminal, Markdown, a LaTeX document, or the "
                    "graph as DOT or as SVG (drawn by Graphviz's dot).",
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


def parse_shape_options(options: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """Every --shape option's `x=4,W=2x3`, merged; a name given twice is refused."""
    from diffcompare.language.parser import parse_shapes

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
