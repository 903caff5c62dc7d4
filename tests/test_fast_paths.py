"""The faster computations in paths/ against the ones they replaced (tests/slow_paths.py): the
same numbers at every point, for every kind of first-order target and both dtypes. Bounds
whose terms are now summed in another order are equal to a few roundings of the bound's own
arithmetic; everything else is equal bit for bit."""

from __future__ import annotations

import random
from dataclasses import replace
from fractions import Fraction

import pytest
import slow_paths
import slow_reference
import sympy
import torch
from slow_paths import first_order_bounds as reference_bounds

from diffcompare import engine, sampling
from diffcompare.paths.edges import edges_at, find_edges
from diffcompare.paths.error_model import eps
from diffcompare.paths.finite_differences import COMPLEX_STEP, _complex_estimate
from diffcompare.paths.first_order import first_order_bounds
from diffcompare.paths.method_types import CompiledPrepared, columns, tape_bound
from diffcompare.paths.reference import reference
from diffcompare.paths.targets import Entry, unit

CASES = [
    ("sin(x)*exp(-x**2/2)/(1+x**2)+log(1+x**2)*tanh(x)", {}),
    ("sin(x*y)+x/y+exp(x-y)*log(z)", {}),
    ("(x**2+3*x+1)**3+4*(x**2+3*x+1)+2", {}),
    ("asin(x)*acos(x/2)+erf(x)", {}),  # backward formulas that amplify their roundings
    ("max(x,y)*min(x,2*y)+abs(x-y)+relu(y)", {}),  # forward mode's rounding at min, max
    ("x**(1/3)*pi+0.1*y+2**y", {}),  # rounded constants, a constant base
    ("cosh(x)+sinh(x)", {}),  # a derivative that is a cancelling sum
    ("sigmoid(x)*softplus(y)+atan(x*y)", {"wrt": "y"}),  # one variable of two
    ("norm(x)+prod(x)*sum(x)+dot(x,x)", {"shapes": {"x": (3,)}}),  # reductions
    ("x*y", {"shapes": {"x": (2,)}}),  # a Jacobian: one seed per output
    ("[x*y, sin(x)+y]", {"vjp": (0.5, -2.0)}),
    ("[x*y, sin(x)+y]", {"jvp": (1.5, -1.0)}),
]


def _points(setup: engine.Setup) -> torch.Tensor:
    points = sampling.sample(setup, 6, seed=3)
    if "max" in setup.problem.text:  # and ties, where min and max select half each
        tie = points[:1].clone()
        tie[0, 1] = tie[0, 0]
        points = torch.cat([points, tie])
    if "asin" in setup.problem.text:  # and near 1, where asin's backward cancels
        near = points[:1].clone()
        near[0, 0] = 0.9999999 if points.dtype == torch.float64 else 0.999
        points = torch.cat([points, near])
    return points


def _assert_same(new: torch.Tensor, old: torch.Tensor, dtype: torch.dtype) -> None:
    assert new.shape == old.shape
    assert torch.equal(new.isnan(), old.isnan()), (new, old)
    finite = old.isfinite()
    assert torch.equal(new[~finite], old[~finite])
    # The same sums, taken in another order: equal to a few roundings of the bound itself.
    gap = (new[finite] - old[finite]).abs()
    assert bool((gap <= 4 * eps(dtype) * old[finite].abs()).all()), (new, old)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("text", "options"), CASES)
def test_one_pass_bound_equals_the_per_edge_bound(text: str, options: dict, dtype: str) -> None:
    setup = engine.prepared_setup(text, dtype=dtype, **options)
    points = _points(setup)
    new = first_order_bounds(setup.compiled, points)
    old = reference_bounds(setup.compiled, points)
    for a, b in zip(new, old, strict=True):
        _assert_same(a, b, points.dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_higher_derivatives_inner_bound_is_the_same(dtype: str) -> None:
    # What _higher_order_bounds asks of the first-order bound: the lower derivative's
    # formulas, differentiated once more along the last direction.
    setup = engine.prepared_setup("sin(x*y)*exp(x)+x**3/y", hessian=True, dtype=dtype)
    prepared = setup.compiled
    assert prepared.inner is not None
    entries = prepared.target.entries
    last = tuple(Entry(unit(len(entries), e), (x.dirs[-1],)) for e, x in enumerate(entries))
    outer = replace(prepared.target, kind="jacobian", entries=last, order=1)
    inner = CompiledPrepared(prepared.inner, outer)
    points = _points(setup)
    for a, b in zip(
        first_order_bounds(inner, points), reference_bounds(inner, points), strict=True
    ):
        _assert_same(a, b, points.dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("text", "options"), CASES[:6])
def test_stacked_sensitivity_gives_the_running_bound_term_by_term(
    text: str, options: dict, dtype: str
) -> None:
    setup = engine.prepared_setup(text, dtype=dtype, **options)
    points = _points(setup)
    for tape in (setup.compiled.tape, setup.prepared["symbolic"].tape):
        _assert_same(tape_bound(tape, points), slow_paths.tape_bound(tape, points), points.dtype)


EDGED = [
    "sin(x)*exp(-x**2/2)/(1+x**2)+log(1+x**2)*tanh(x)",
    "sin(x*y)+x/y+exp(x-y)*log(z)",
    "sqrt(x)*abs(y-1)+max(x,y)+tan(x)+acos(y/4)",
    "norm(x)+max(x[0], x[2])",
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("text", EDGED)
def test_edges_from_one_backward_pass_per_gap(text: str, dtype: str) -> None:
    setup = engine.prepared_setup(text, dtype=dtype, shapes={"x": (3,)} if "norm" in text else None)
    points = _points(setup)
    tape, wrt = setup.compiled.tape, list(setup.compiled.wrt)
    new = find_edges(tape, columns(points, True), wrt, points.dtype)
    old = slow_paths.find_edges(tape, columns(points, True), wrt, points.dtype)
    assert [g.what for g in new.gaps] == [g.what for g in old.gaps]
    assert new.gaps, "every expression here has a kink, a pole or a domain edge"
    for a, b in zip(new.gaps, old.gaps, strict=True):
        assert torch.equal(a.value, b.value) and torch.equal(a.slope, b.slope)
        _assert_same(a.radius, b.radius, points.dtype)


def test_an_edge_is_worded_as_before_when_shown() -> None:
    setup = engine.prepared_setup("sqrt(x)+tan(y)+log(x+y)+abs(x-1)")
    on = torch.tensor([[1.0, 0.5]], dtype=torch.float64)
    edges = edges_at(setup.compiled.tape, on, setup.compiled.wrt)
    assert [g.what for g in edges.gaps] == [
        "the edge of sqrt's domain where x = 0",
        "a pole of tan near y",
        "the edge of log's domain where x + y = 0",
        "the kink of abs where x - 1 = 0",
    ]
    assert edges.describe(0) == ["the kink of abs where x - 1 = 0"]


def _formulas(text: str, **options: object) -> tuple[tuple[sympy.Expr, ...], tuple]:
    setup = engine.prepared_setup(text, **options)  # type: ignore[arg-type]
    return (*setup.problem.outputs, *setup.derivatives.raw), setup.problem.variables


x, y = sympy.symbols("x y", real=True)
_HANDMADE = (
    sympy.Add(sympy.sin(x), -sympy.sin(x), evaluate=False),  # a rounded zero: doubted
    sympy.exp(x / 10**120) - 1,  # 0 at 70 and 100 digits, 1e-120 x at 160
    sympy.sign(sympy.exp(x / 10**120) - 1) + y,
    sympy.Abs(x - 1) * sympy.sign(x - 1) + sympy.Heaviside(x - 1),  # branches
    sympy.DiracDelta(x - 1) + sympy.DiracDelta(x),
    x + 1,  # found by has() inside x + y + 1
    x + y + 1,
    sympy.sin(10**250 * x),  # precisions that never agree: evalf decides
    sympy.I * x,  # no row: evalf
    x * sympy.Symbol("q"),  # not a variable: evalf
    sympy.pi * x + sympy.E + sympy.Float("0.1", 30) * y,
    sympy.log(x - 2) + sympy.oo * 0 + sympy.sqrt(y - 3),  # no real value at some points
    sympy.Integer(7),
)


@pytest.mark.parametrize(
    ("formulas", "variables"),
    [
        _formulas("sin(x)*exp(-x**2/2)/(1+x**2)+log(1+x**2)*tanh(x)"),
        _formulas("sin(x*y)+x/y+exp(x-y)*log(z)"),
        _formulas("abs(x-1)*max(x,y)+relu(y)+sqrt(x)", hessian=True),
        _formulas("asin(x)+erf(y)*sigmoid(x)+softplus(x*y)+atan(y)**3"),
        _formulas("norm(x)+prod(x)+dot(x,x)+mean(x)", shapes={"x": (3,)}),
        (_HANDMADE, (x, y)),
    ],
)
def test_the_compiled_reference_gives_the_same_table(
    formulas: tuple[sympy.Expr, ...], variables: tuple
) -> None:
    generator = random.Random(len(formulas))
    points: list[list[float | Fraction]] = [
        [generator.uniform(-3.0, 3.0) for _ in variables] for _ in range(6)
    ]
    points += [[1.0] * len(variables), [0.0] * len(variables), [Fraction(1, 3)] * len(variables)]
    points.append([1.0 + 2.0**-52] + [2.5] * (len(variables) - 1))  # just off a kink
    new = reference(formulas, variables, points)
    old = slow_reference.reference(formulas, variables, points)
    assert new == old
    assert all(
        type(a) is type(b) and (a is None or a == b)
        for row_a, row_b in zip(new, old, strict=True)
        for a, b in zip(row_a, row_b, strict=True)
    )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("text", [*EDGED[:2], "x**2*y+x**3+sin(x)*exp(y)", "1/x+log(x)*y"])
def test_the_complex_step_sees_every_nodes_imaginary_part_at_once(text: str, dtype: str) -> None:
    setup = engine.prepared_setup(text, dtype=dtype)
    points = _points(setup)
    tiny = points[:1].clone()
    # Imaginary parts that fall below the normal range (2 x h) or to 0 (3 x^2 h).
    tiny[0, 0] = 1e-150 if dtype == "float64" else 1e-10
    points = torch.cat([points, tiny])
    prepared = setup.compiled
    scale = points[:, list(prepared.wrt)].abs()
    for h in (COMPLEX_STEP * scale.clamp(min=1.0), COMPLEX_STEP * scale.clamp(max=1.0)):
        new = _complex_estimate(prepared, points, h)
        old = slow_paths.complex_estimate(prepared, points, h)
        if text.startswith("x**2"):
            assert not bool(old[2].all()), "some estimate is not trusted"
            assert bool(old[3].any()) and not bool(old[3].all()), "some imaginary part is 0"
        for a, b in zip(new, old, strict=True):
            assert torch.equal(a.isnan(), b.isnan())
            assert torch.equal(a.nan_to_num(0.0), b.nan_to_num(0.0))
