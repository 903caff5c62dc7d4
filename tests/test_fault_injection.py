"""Fault injection: corrupt one op's derivative at a time and show the comparison catches it.

A comparator that never says `disagree` passes the verdict corpus trivially; these tests
show that its bounds are tight enough to see a wrong derivative. Each differentiable user
row of the op table gets its backward scaled by 1.001, by 2 and by -1, while its forward
stays bit for bit the same, so the symbolic formula (evaluated with the same forwards) and
finite differences (which only call forwards) stay right and autograd alone goes wrong.

How the backward is corrupted: the row's torch function f is replaced by g, which calls f
on each tensor argument a passed as a + (factor - 1) * (a - a.detach()): the same value bit
for bit (the added term is 0), so g's value is f's, while the gradient reaching a is factor
times f's. Unlike a custom torch.autograd.Function this needs no hand-written backward, it
stays twice differentiable (the engine's running error bound of autograd differentiates the
backward pass with create_graph), and the op's output is still f's own tensor, which
backward formulas such as tanh's (1 - y**2) read. Wrapping the output instead
(f + (factor - 1) * (f - f.detach())) hides that dependence from the error bound, which then
misses the cancellation inside tanh's backward: the control test below caught exactly that.

How it is patched: `Op` is a frozen dataclass without slots. Frozen blocks attribute
assignment, but the row's fields live in its instance `__dict__`, so
`monkeypatch.setitem(vars(row), "torch", g)` swaps the function for every reader of the
table (the compiler looks `op.torch` up at run time) and restores it afterwards. This works
the same for rows whose function is a lazily resolved `TorchFn` and for rows with a plain
function (softplus), so it does not lean on TorchFn's private cache.

The symbolic side is corrupted through SymPy: the `fdiff` method of the row's SymPy class
(its derivative rule) is scaled. The reference is that same SymPy derivative evaluated at
50 digits, so such a fault moves the reference with the symbolic formula: it is caught (a
`disagree`), but the report names autograd and finite differences, which agree with each
other, rather than the symbolic formula.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sympy
import torch
from sympy.core.cache import clear_cache

import diffcompare
import diffcompare.engine
from diffcompare.language.ops import OPS, Op

SAMPLES = 20

FACTORS = {"times-1.001": 1.001, "times-2": 2.0, "sign-flipped": -1.0}

USER_ROWS = sorted((row for row in OPS.values() if row.user), key=lambda row: row.name)


def _text(row: Op) -> str:
    """The simplest expression that runs the row's torch function on variables only; a
    reduction's over a vector [x, y] (dot's: of [x, y] and [z, w])."""
    if row.reduces:
        vectors = ["[x, y]", "[z, w]"][: row.reduces]
        return f"{row.name}({', '.join(vectors)})"
    names = ["x", "y", "z", "w"][: max(row.arity[0], 1)]
    if row.syntax is not None:
        return f" {row.syntax} ".join(names if len(names) > 1 else ["x", "y"])
    return f"{row.name}({', '.join(names)})"


def _corrupted(fn: Callable[..., Any], factor: float) -> Callable[..., Any]:
    def corrupted(*args: Any) -> Any:
        # Each tensor argument a becomes a + (factor - 1) * (a - a.detach()): the same value
        # bit for bit, with factor times the gradient flowing back through it.
        return fn(*(_scaled(a, factor) for a in args))

    return corrupted


def _scaled(arg: Any, factor: float) -> Any:
    if not isinstance(arg, torch.Tensor) or not arg.requires_grad:
        return arg
    return arg + (factor - 1) * (arg - arg.detach())


def _show(report: diffcompare.Report) -> str:
    lines = []
    for point in report.points:
        lines.append(f"  at {point.at}: {point.verdict}; reference {point.reference}")
        for name, method in point.methods.items():
            lines.append(
                f"    {name:>17}: value={method.value} abs_error={method.abs_error} "
                f"bound={method.bound} {method.status}"
            )
    return "\n".join(lines)


@pytest.fixture(autouse=True)
def _fresh_sympy_cache() -> Iterator[None]:
    # SymPy caches derivatives, and the engine keeps prepared problems: a corrupted rule
    # must neither meet a cached right one nor leave a cached wrong one behind.
    clear_cache()
    diffcompare.engine.clear_cache()
    yield
    clear_cache()
    diffcompare.engine.clear_cache()


def _compare(text: str, dtype: str) -> diffcompare.Report:
    return diffcompare.compare(text, samples=SAMPLES, seed=0, timing_budget=0, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("factor", FACTORS.values(), ids=FACTORS.keys())
@pytest.mark.parametrize("row", USER_ROWS, ids=lambda row: row.name)
def test_corrupted_backward_is_caught_and_blamed_on_autograd(
    row: Op, factor: float, dtype: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _text(row)
    monkeypatch.setitem(vars(row), "torch", _corrupted(row.torch, factor))
    report = _compare(text, dtype)

    caught = [
        point
        for point in report.points
        if point.verdict == "disagree" and not point.methods["autograd"].ok
    ]
    assert caught, (
        f"{text!r} with the backward of {row.name} times {factor} ({dtype}): no point "
        f"disagrees\n{_show(report)}"
    )
    assert all("autograd" in point.reason for point in caught), _show(report)
    blamed_wrongly = [
        (point.at, name)
        for point in report.points
        for name in ("symbolic", "finite_difference")
        if not point.methods[name].ok
    ]
    assert not blamed_wrongly, (
        f"{text!r} with the backward of {row.name} times {factor} ({dtype}): only autograd "
        f"is wrong, yet {blamed_wrongly} failed\n{_show(report)}"
    )


@pytest.mark.parametrize("row", USER_ROWS, ids=lambda row: row.name)
def test_the_wrapper_with_factor_one_changes_no_verdict(
    row: Op, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control: what the tests above catch is the factor, not the wrapping.
    monkeypatch.setitem(vars(row), "torch", _corrupted(row.torch, 1.0))
    report = _compare(_text(row), "float64")
    assert {point.verdict for point in report.points} == {"agree"}, _show(report)


def test_the_corruption_keeps_the_forward_and_scales_the_gradient() -> None:
    x = torch.linspace(-2, 2, 9, dtype=torch.float64, requires_grad=True)
    y = _corrupted(torch.sin, -2.0)(x)
    assert torch.equal(y, torch.sin(x))
    (grad,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    assert torch.allclose(grad, -2 * torch.cos(x))
    (second,) = torch.autograd.grad(grad.sum(), x)
    assert torch.allclose(second, -4 * torch.sin(x))  # (-2)**2 through the chain rule


def test_every_user_row_is_injected() -> None:
    # The parametrization reads the table: a new user row is corrupted without an edit here.
    injected = {row.name for row in USER_ROWS}
    assert injected == {name for name, row in OPS.items() if row.user}
    for row in USER_ROWS:
        assert diffcompare.parse(_text(row)).expr.has(sympy.Symbol("x", real=True)), row.name


# -- the symbolic side: SymPy's derivative rule of one function ------------------------------

SYMPY_ROWS = [
    row for row in USER_ROWS if isinstance(row.node, type) and issubclass(row.node, sympy.Function)
]


@pytest.mark.parametrize("factor", FACTORS.values(), ids=FACTORS.keys())
@pytest.mark.parametrize("row", SYMPY_ROWS, ids=lambda row: row.name)
def test_corrupted_sympy_rule_is_caught(
    row: Op, factor: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _text(row)
    node = row.node
    assert node is not None
    problem = diffcompare.parse(text)
    right = [sympy.diff(problem.expr, v) for v in problem.variables]
    original = node.fdiff

    def fdiff(self: sympy.Function, argindex: int = 1) -> sympy.Expr:
        return sympy.Float(factor) * original(self, argindex)

    monkeypatch.setattr(node, "fdiff", fdiff)
    clear_cache()
    if [sympy.diff(problem.expr, v) for v in problem.variables] == right:
        pytest.skip(f"SymPy differentiates {node.__name__} without its fdiff rule")
    report = _compare(text, "float64")
    assert report.verdict == "disagree", (
        f"{text!r} with SymPy's rule for {node.__name__} times {factor}: no point "
        f"disagrees\n{_show(report)}"
    )
