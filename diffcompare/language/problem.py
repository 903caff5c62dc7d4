"""The parsed problem that every derivative path reads: its SymPy forms and its variables."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy

from diffcompare.errors import UsageError
from diffcompare.language.splitting import split_top_level


@dataclass(frozen=True)
class Problem:
    """What the parser returns: the user's text, two SymPy forms of each output, and the
    variables.

    `outputs` are the expression's scalar components in row-major order (one for a scalar
    expression), as SymPy evaluates them (x*sqrt(x) is x**(3/2), x/x is 1, a sum is collected
    and sorted): the symbolic derivatives and the high-precision reference use them. `graphs`
    are the same components as typed, built with SymPy's evaluation off: x*sqrt(x) is
    Mul(x, Pow(x, 1/2)) and sin(x)/sin(x) keeps both sines, as SymPy writes a - b and a / b
    (a + (-1)*b and a * b**-1), with a chain like a + b + c one n-ary node, and a reduction
    such as norm(x) one node over x's components. They are the graph a hand-written torch
    program records, so autograd and finite differences run them, failures included
    (torch.sqrt's backward at 0 makes x*sqrt(x) NaN there, x**(3/2) would not). The two are
    equal as real functions wherever both are defined. `output_shape` is the expression's
    shape: () for a scalar, (2,) for "[a, b]", (2, 3) for a 2x3 matrix.

    Variables are real SymPy symbols in natural order (x2 before x10); they include every
    name the text uses, even one that cancels out of `outputs`, so every symbol of `graphs`.
    An array variable (declared with a shape, as x=4 or W=2x3) is one symbol per component,
    named x[0] ... x[3] and W[0,0] ... W[1,2] in row-major order, its components together;
    `shapes` maps each array variable's name to its shape.
    """

    text: str
    outputs: tuple[sympy.Expr, ...]
    variables: tuple[sympy.Symbol, ...]
    graphs: tuple[sympy.Expr, ...]
    output_shape: tuple[int, ...] = ()
    shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict, hash=False)

    @property
    def expr(self) -> sympy.Expr:
        """The expression as SymPy evaluates it: the one output, or an array of them."""
        if not self.output_shape:
            return self.outputs[0]
        return sympy.ImmutableDenseNDimArray(self.outputs, self.output_shape)

    @property
    def graph(self) -> sympy.Expr:
        """The expression as typed: the one output's graph, or an array of them."""
        if not self.output_shape:
            return self.graphs[0]
        return sympy.ImmutableDenseNDimArray(self.graphs, self.output_shape)

    @property
    def names(self) -> tuple[str, ...]:
        """The scalar variables' names (x[0], x[1] for an array x)."""
        return tuple(v.name for v in self.variables)

    def symbol(self, name: str) -> sympy.Symbol:
        """The variable called `name`; raises KeyError when there is none."""
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(name)

    def components(self, name: str) -> tuple[sympy.Symbol, ...]:
        """The scalar variables that make up the variable `name`: itself for a scalar, its
        components for an array. Raises KeyError when there is none."""
        if name in self.shapes:
            prefix = name + "["
            return tuple(v for v in self.variables if v.name.startswith(prefix))
        return (self.symbol(name),)

    @property
    def user_names(self) -> tuple[str, ...]:
        """The user-level variable names: each scalar, and each array once, in order."""
        seen: dict[str, None] = {}
        for v in self.variables:
            seen[v.name.split("[", 1)[0]] = None
        return tuple(seen)


def split_names(text: str) -> list[str]:
    """`x,W[0,1],y` as ['x', 'W[0,1]', 'y']: split at the commas outside brackets."""
    return [part.strip() for part in split_top_level(text)]


def choose_wrt(problem: Problem, wrt: str | Sequence[str] | None) -> tuple[sympy.Symbol, ...]:
    """The variables named by `wrt` ("x,y" or a list; an array's name stands for all its
    components; None: all), each once, in the order given; raises UsageError for a name that
    is not a variable."""
    if wrt is None:
        return problem.variables
    names = split_names(wrt) if isinstance(wrt, str) else list(wrt)
    chosen: list[sympy.Symbol] = []
    for name in names:
        try:
            chosen.extend(problem.components(name))
        except KeyError:
            raise UsageError(
                f"--wrt {name}: not a variable of the expression (its variables: "
                f"{', '.join(problem.user_names)})"
            ) from None
    if not chosen:
        raise UsageError("--wrt names no variable")
    return tuple(dict.fromkeys(chosen))


Value = float | Sequence[Any]


def point_values(problem: Problem, at: Mapping[str, Value] | float) -> tuple[float, ...]:
    """The point as one finite float per scalar variable, in the problem's order: a number
    per scalar variable, a (nested) list of the array's shape per array variable, or a number
    per component (x[0]=1); a bare number for a one-variable problem. Raises UsageError
    naming what is wrong."""
    names = problem.user_names
    if not isinstance(at, Mapping):
        if len(names) != 1 or names[0] in problem.shapes:
            raise UsageError(
                f"--at {at}: name each variable ({', '.join(names)}), e.g. --at "
                + ",".join(f"{n}={_example(problem, n)}" for n in names)
            )
        at = {names[0]: at}
    values: dict[str, float] = {}
    for name, given in at.items():
        if name in problem.shapes:
            flat = _flatten(name, given, problem.shapes[name])
            values.update(zip((v.name for v in problem.components(name)), flat, strict=True))
        elif name in problem.names:
            if not isinstance(given, int | float):
                raise UsageError(f"--at {name}: a scalar variable takes one number")
            values[name] = float(given)
        else:
            raise UsageError(
                f"--at {name}: not a variable of the expression (its variables: {', '.join(names)})"
            )
    missing = [n for n in names if not all(v.name in values for v in problem.components(n))]
    if missing:
        raise UsageError(f"--at: no value for {', '.join(missing)}")
    point = tuple(values[n] for n in problem.names)
    if not all(math.isfinite(x) for x in point):
        raise UsageError("--at: every value must be a finite number")
    return point


def _example(problem: Problem, name: str) -> str:
    shape = problem.shapes.get(name)
    return _example_shape(shape) if shape else "1"


def _flatten(name: str, given: Any, shape: tuple[int, ...]) -> list[float]:
    """An array variable's value, checked against its shape, in row-major order."""

    def walk(value: Any, dims: tuple[int, ...]) -> list[float]:
        if not dims:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return [float(value)]
            raise UsageError(f"--at {name}: expected a number where {value!r} is")
        if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != dims[0]:
            raise UsageError(
                f"--at {name}: expected a value of shape {'x'.join(map(str, shape))}, e.g. "
                f"{name}={_example_shape(shape)}"
            )
        return [x for item in value for x in walk(item, dims[1:])]

    return walk(given, tuple(shape))


def _example_shape(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return "[" + ",".join(["1"] * shape[0]) + "]"
    return "[" + ",".join("[" + ",".join(["1"] * shape[1]) + "]" for _ in range(shape[0])) + "]"
