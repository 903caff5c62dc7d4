"""Each op-table row checked three ways at seeded points: its local derivative against
sympy.diff, its torch function against a 40-digit SymPy value, and torch autograd through it
against its local derivative, each within a bound from the row's own conditioning.

A reduction is checked as its node over the components of arrays of 3 (sum over a0, a1, a2;
dot of (a0, a1, a2) and (a3, a4, a5)), which is what the compiler meets, against sympy.diff
of its elementary expansion."""

from __future__ import annotations

import math
import random
import zlib

import pytest
import sympy
import torch

from diffcompare.language.ops import FUNCTIONS, OPS, Op
from diffcompare.language.parser import parse
from diffcompare.paths.compiler import compile_exprs

EPS = torch.finfo(torch.float64).eps
POINTS = 12


def _arguments(row: Op) -> tuple[sympy.Symbol, ...]:
    count = 3 * row.reduces if row.stacked else 3 if row.nary else row.arity[0]
    if row.name == "heaviside":
        count = 1  # SymPy fills in H(0) = 1/2 as the second argument
    return sympy.symbols(f"a0:{count}", real=True)


def _expression(row: Op, args: tuple[sympy.Symbol, ...]) -> sympy.Expr:
    # A reduction's build is its elementary expansion; the graph holds its node.
    return row.node(*args) if row.stacked else row.build(*args)


def _differentiated(row: Op, expr: sympy.Expr, args: tuple[sympy.Symbol, ...]) -> sympy.Expr:
    """What sympy.diff differentiates: a reduction's node has only the row's own partials."""
    return row.elementary(*args) if row.stacked else expr


def _node_args(row: Op, expr: sympy.Expr, args: tuple[sympy.Symbol, ...]) -> tuple:
    # The partials take the node's own arguments; rows built from other nodes take the inputs.
    return args if row.node is None else expr.args


def _points(row: Op, count: int, seed: int) -> list[tuple[float, ...]]:
    rng = random.Random(seed)
    low, high = max(row.domain[0], -2.5), min(row.domain[1], 2.5)
    margin = 0.05 * (high - low)
    arity = len(_arguments(row))
    return [
        tuple(round(rng.uniform(low + margin, high - margin), 6) for _ in range(arity))
        for _ in range(count)
    ]


def _exact(expr: sympy.Expr, args, point) -> float:
    subs = {
        a: sympy.Rational(*float(x).as_integer_ratio()) for a, x in zip(args, point, strict=False)
    }
    return float(expr.evalf(40, subs=subs))


def _conditioning(expr: sympy.Expr, args, point) -> float:
    """|f| + sum_j |x_j df/dx_j|: how much f moves under relative perturbations of its inputs."""
    total = abs(_exact(expr, args, point))
    for a, x in zip(args, point, strict=False):
        total += abs(x * _exact(sympy.diff(expr, a), args, point))
    return total


ROWS = sorted(OPS.values(), key=lambda r: r.name)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_local_derivative_matches_sympy_diff(row: Op) -> None:
    args = _arguments(row)
    expr = _expression(row, args)
    partials = row.partials(*_node_args(row, expr, args))
    for position, argument in enumerate(_node_args(row, expr, args)):
        if not isinstance(argument, sympy.Symbol):
            continue
        ours, sympys = partials[position], sympy.diff(_differentiated(row, expr, args), argument)
        assert sympy.simplify(ours - sympys) == 0, f"{row.name}: d/d{argument} {ours} != {sympys}"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_torch_function_matches_high_precision_value(row: Op) -> None:
    args = _arguments(row)
    expr = _expression(row, args)
    tape = compile_exprs([expr], args)
    points = _points(row, POINTS, seed=zlib.crc32(row.name.encode()))
    columns = [torch.tensor(c, dtype=torch.float64) for c in zip(*points, strict=False)]
    (values,) = tape.run(columns).outputs
    for point, value in zip(points, values.tolist(), strict=False):
        exact = _exact(expr, args, point)
        bound = 8 * EPS * abs(exact) + 1e-300
        assert abs(value - exact) <= bound, (
            f"{row.name}{point}: torch {value!r} vs exact {exact!r}, bound {bound:.3g}"
        )


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_autograd_matches_local_derivative(row: Op) -> None:
    args = _arguments(row)
    expr = _expression(row, args)
    tape = compile_exprs([expr], args)
    node_args = _node_args(row, expr, args)
    partials = row.partials(*node_args)
    points = _points(row, POINTS, seed=1 + zlib.crc32(row.name.encode()))
    inputs = [
        torch.tensor(c, dtype=torch.float64, requires_grad=True) for c in zip(*points, strict=False)
    ]
    (out,) = tape.run(inputs).outputs
    grads = (
        torch.autograd.grad(out.sum(), inputs, allow_unused=True)
        if out.requires_grad
        else [None] * len(inputs)
    )
    for position, argument in enumerate(node_args):
        if not isinstance(argument, sympy.Symbol):
            continue
        grad = grads[args.index(argument)]
        for i, point in enumerate(points):
            ours = 0.0 if grad is None else grad[i].item()
            exact = _exact(partials[position], args, point)
            bound = 8 * EPS * _conditioning(partials[position], args, point) + 1e-300
            assert abs(ours - exact) <= bound, (
                f"{row.name}{point}: autograd d/d{argument} {ours!r} vs local derivative "
                f"{exact!r}, bound {bound:.3g}"
            )


def test_every_user_function_is_in_the_input_language() -> None:
    for name, row in FUNCTIONS.items():
        arguments = ["[x, y]", "[y, z]"] if row.stacked else ["x", "y", "z"]
        text = f"{name}({', '.join(arguments[: row.user_arity[0]])})"
        assert parse(text).expr.has(sympy.Symbol("x", real=True)), text


def test_softplus_is_exact_where_torch_softplus_switches_to_linear() -> None:
    # torch.nn.functional.softplus returns x itself above 20; the table's function must not.
    x = torch.tensor([25.0], dtype=torch.float64)
    exact = float(sympy.log(1 + sympy.exp(25)).evalf(30))
    assert math.isclose(OPS["softplus"].torch(x).item(), exact, rel_tol=4 * EPS)
