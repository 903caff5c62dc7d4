"""Planted gradient bugs and delicate correct implementations, through diffcompare.check and
torch.autograd.gradcheck (and jax's check_grads / numdifftools when installed).

Not a test: it prints, per dtype and per checker, how many planted bugs were caught, how many
correct implementations were flagged (false alarms) and the time per case, then the cases a
checker got wrong. The candidates are of three kinds, as people write them: torch
autograd.Functions (checked with function=), hand-derived NumPy gradients (gradient=) and a
micrograd-style scalar engine (gradient=, through its backward). For gradcheck every candidate
becomes a torch autograd.Function whose backward multiplies by grad_output (NumPy and engine
gradients) or is the user's own backward; gradcheck runs at the same number of seeded points
from the same domain, with its defaults (eps=1e-6, atol=1e-5, rtol=1e-3).

Run from the repository root:
    .venv/bin/python benchmarks/bench_oracle.py            # every case, float64 and float32
    .venv/bin/python benchmarks/bench_oracle.py --quick    # a few cases, float64
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import diffcompare
from diffcompare.sweep import parse_domain

SAMPLES = 20
GRADCHECK_POINTS = 20


@dataclass(frozen=True)
class Case:
    name: str
    expr: str
    kind: str  # "function" (a torch Function), "gradient" (NumPy or engine)
    bug: bool
    candidate: Callable[..., Any]  # what check() is given
    forward: Callable[..., Any]  # the expression in torch, positional in `names` order
    names: tuple[str, ...]
    domain: str
    origin: str  # torch, numpy or engine
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)


# -- torch autograd.Functions -------------------------------------------------------------------


def _function(name: str, forward: Callable[..., Any], backward: Callable[..., Any]) -> type:
    """An autograd.Function with the given forward(*inputs) and backward(g, *inputs)."""

    def fwd(ctx: Any, *inputs: Any) -> Any:
        ctx.save_for_backward(*inputs)
        return forward(*inputs)

    def bwd(ctx: Any, g: Any) -> Any:
        out = backward(g, *ctx.saved_tensors)
        return out if isinstance(out, tuple) else (out,)

    return type(
        name,
        (torch.autograd.Function,),
        {"forward": staticmethod(fwd), "backward": staticmethod(bwd)},
    )


def torch_cases() -> list[Case]:
    specs: list[tuple[str, str, bool, Any, Any, str]] = [
        # name, expr, bug, forward, backward, domain
        ("relu", "relu(x)", False, lambda x: x.clamp(min=0), lambda g, x: g * (x > 0), "x=-3:3"),
        (
            "relu ignores grad_output",
            "relu(x)",
            True,
            lambda x: x.clamp(min=0),
            lambda g, x: (x > 0).to(g.dtype),
            "x=-3:3",
        ),
        (
            "relu wrong branch",
            "relu(x)",
            True,
            lambda x: x.clamp(min=0),
            lambda g, x: g * (x < 0),
            "x=-3:3",
        ),
        (
            "sin(pi x)",
            "sin(pi*x)",
            False,
            lambda x: torch.sin(math.pi * x),
            lambda g, x: g * math.pi * torch.cos(math.pi * x),
            "x=-2:2",
        ),
        (
            "3.1416 for pi",
            "sin(pi*x)",
            True,
            lambda x: torch.sin(math.pi * x),
            lambda g, x: g * 3.1416 * torch.cos(math.pi * x),
            "x=-2:2",
        ),
        (
            "exp 1e-5 slip",
            "exp(x)",
            True,
            torch.exp,
            lambda g, x: g * torch.exp(x) * (1 + 1e-5),
            "x=-3:3",
        ),
        (
            "tiny wrong gradient",
            "1e-8*x**3",
            True,
            lambda x: 1e-8 * x**3,
            lambda g, x: g * 2e-8 * x**2,
            "x=-3:3",
        ),
        ("tanh", "tanh(x)", False, torch.tanh, lambda g, x: g * (1 - torch.tanh(x) ** 2), "x=-5:5"),
        (
            "sigmoid",
            "sigmoid(x)",
            False,
            torch.sigmoid,
            lambda g, x: g * torch.sigmoid(x) * (1 - torch.sigmoid(x)),
            "x=-8:8",
        ),
        (
            "softplus large args",
            "softplus(x)",
            False,
            lambda x: torch.logaddexp(x, 0 * x),
            lambda g, x: g * torch.sigmoid(x),
            "x=-30:30",
        ),
        (
            "log(1+x^2)",
            "log(1+x**2)",
            False,
            lambda x: torch.log(1 + x**2),
            lambda g, x: g * 2 * x / (1 + x**2),
            "x=-10:10",
        ),
        (
            "abs near the kink",
            "abs(x)",
            False,
            torch.abs,
            lambda g, x: g * torch.sign(x),
            "x=0.0001:0.01",
        ),
        (
            "1e6 beside a wrong O(1)",
            "1e6*x + y**2",
            True,
            lambda x, y: 1e6 * x + y**2,
            lambda g, x, y: (g * 1e6 + 0 * x, g * y),
            "x=-2:2,y=-2:2",
        ),
        (
            "1e6 beside y^2",
            "1e6*x + y**2",
            False,
            lambda x, y: 1e6 * x + y**2,
            lambda g, x, y: (g * 1e6 + 0 * x, g * 2 * y),
            "x=-2:2,y=-2:2",
        ),
        (
            "x*y ignores grad_output",
            "x*y",
            True,
            lambda x, y: x * y,
            lambda g, x, y: (y, x),
            "x=-2:2,y=-2:2",
        ),
        ("x*y", "x*y", False, lambda x, y: x * y, lambda g, x, y: (g * y, g * x), "x=-2:2,y=-2:2"),
        (
            "max wrong at one branch",
            "max(x, y)",
            True,
            torch.maximum,
            lambda g, x, y: (g * (x > y), g * (x > y)),
            "x=-2:2,y=-2:2",
        ),
        (
            "max",
            "max(x, y)",
            False,
            torch.maximum,
            lambda g, x, y: (g * (x > y), g * (y > x)),
            "x=-2:2,y=-2:2",
        ),
        (
            "sqrt large args",
            "sqrt(x)",
            False,
            torch.sqrt,
            lambda g, x: g * 0.5 / torch.sqrt(x),
            "x=1000:1000000",
        ),
        (
            "x^3 near 0 swapped sign",
            "x**3",
            True,
            lambda x: x**3,
            lambda g, x: g * 3 * x * x.abs(),
            "x=-2:2",
        ),
    ]
    cases = []
    for name, expr, bug, forward, backward, domain in specs:
        names = tuple(parse_domain(domain))
        fn = _function(f"F_{len(cases)}", forward, backward)
        cases.append(
            Case(
                name,
                expr,
                "function",
                bug,
                _keywords(fn.apply, names),
                fn.apply,
                names,
                domain,
                "torch",
            )
        )
    return cases


def _keywords(apply: Callable[..., Any], names: tuple[str, ...]) -> Callable[..., Any]:
    def call(**kwargs: Any) -> Any:
        return apply(*(kwargs[n] for n in names))

    return call


# -- NumPy gradients -----------------------------------------------------------------------------


def numpy_cases() -> list[Case]:
    e = np.exp
    specs: list[tuple[str, str, bool, Any, Any, str]] = [
        (
            "sin*exp",
            "sin(x)*exp(-y**2)",
            False,
            lambda x, y: (np.cos(x) * e(-(y**2)), -2 * y * np.sin(x) * e(-(y**2))),
            lambda x, y: torch.sin(x) * torch.exp(-(y**2)),
            "x=-3:3,y=-2:2",
        ),
        (
            "sin*exp lost minus",
            "sin(x)*exp(-y**2)",
            True,
            lambda x, y: (np.cos(x) * e(-(y**2)), 2 * y * np.sin(x) * e(-(y**2))),
            lambda x, y: torch.sin(x) * torch.exp(-(y**2)),
            "x=-3:3,y=-2:2",
        ),
        (
            "x - sin x, cancellation near 0",
            "x - sin(x)",
            False,
            lambda x: 1 - np.cos(x),
            lambda x: x - torch.sin(x),
            "x=-0.001:0.001",
        ),
        (
            "x - sin x, stable form",
            "x - sin(x)",
            False,
            lambda x: 2 * np.sin(x / 2) ** 2,
            lambda x: x - torch.sin(x),
            "x=-0.001:0.001",
        ),
        (
            "x - sin x, first-order only",
            "x - sin(x)",
            True,
            lambda x: x**2 / 2 + 0 * x,
            lambda x: x - torch.sin(x),
            "x=-0.5:0.5",
        ),
        ("x^3 large args", "x**3", False, lambda x: 3 * x**2, lambda x: x**3, "x=100:1000"),
        ("exp 1e-5 slip", "exp(x)", True, lambda x: np.exp(x) * (1 + 1e-5), torch.exp, "x=-3:3"),
        ("exp 1e-4 slip", "exp(x)", True, lambda x: np.exp(x) * (1 + 1e-4), torch.exp, "x=-3:3"),
        (
            "tiny wrong gradient",
            "1e-9*sin(x)",
            True,
            lambda x: 1.5e-9 * np.cos(x),
            lambda x: 1e-9 * torch.sin(x),
            "x=-3:3",
        ),
        (
            "tiny correct gradient",
            "1e-9*sin(x)",
            False,
            lambda x: 1e-9 * np.cos(x),
            lambda x: 1e-9 * torch.sin(x),
            "x=-3:3",
        ),
        (
            "abs*y wrong at one branch",
            "abs(x)*y",
            True,
            lambda x, y: (y + 0 * x, np.abs(x)),
            lambda x, y: torch.abs(x) * y,
            "x=-2:2,y=-2:2",
        ),
        (
            "abs*y",
            "abs(x)*y",
            False,
            lambda x, y: (np.sign(x) * y, np.abs(x)),
            lambda x, y: torch.abs(x) * y,
            "x=-2:2,y=-2:2",
        ),
        ("log near 0", "log(x)", False, lambda x: 1 / x, torch.log, "x=0.001:0.01"),
        ("atan large args", "atan(x)", False, lambda x: 1 / (1 + x**2), torch.atan, "x=100:10000"),
        ("atan wrong power", "atan(x)", True, lambda x: 1 / (1 + x) ** 2, torch.atan, "x=0.1:3"),
        (
            "pi slip in sin(pi x)",
            "sin(pi*x)",
            True,
            lambda x: 3.1416 * np.cos(np.pi * x),
            lambda x: torch.sin(math.pi * x),
            "x=-2:2",
        ),
        (
            "1e6 beside wrong O(1)",
            "1e6*x + sin(y)",
            True,
            lambda x, y: (1e6 + 0 * x, np.cos(y) + 1e-3),
            lambda x, y: 1e6 * x + torch.sin(y),
            "x=-2:2,y=-2:2",
        ),
        (
            "sigmoid",
            "sigmoid(x)",
            False,
            lambda x: np.exp(-np.logaddexp(0, -x)) * np.exp(-np.logaddexp(0, x)),
            torch.sigmoid,
            "x=-20:20",
        ),
    ]
    cases = []
    for name, expr, bug, gradient, forward, domain in specs:
        names = tuple(parse_domain(domain))
        cases.append(
            Case(
                name,
                expr,
                "gradient",
                bug,
                _numpy_candidate(gradient, names),
                forward,
                names,
                domain,
                "numpy",
            )
        )
    return cases


def _numpy_candidate(gradient: Callable[..., Any], names: tuple[str, ...]) -> Callable[..., Any]:
    def call(**point: Any) -> Any:
        out = gradient(*(point[n] for n in names))
        return out if isinstance(out, tuple) else (out,)

    return call


# -- a micrograd-style engine --------------------------------------------------------------------


class Value:
    """A scalar that records how it was made, and a backward pass over the recorded graph."""

    def __init__(self, data: float, parents: tuple[Value, ...] = (), rule: Any = None) -> None:
        self.data, self.grad, self.parents, self.rule = float(data), 0.0, parents, rule

    def __add__(self, other: Any) -> Value:
        other = _value(other)
        return Value(self.data + other.data, (self, other), lambda g: (g, g))

    __radd__ = __add__

    def __mul__(self, other: Any) -> Value:
        other = _value(other)
        return Value(
            self.data * other.data, (self, other), lambda g: (g * other.data, g * self.data)
        )

    __rmul__ = __mul__

    def __pow__(self, n: int) -> Value:
        return Value(self.data**n, (self,), lambda g: (g * n * self.data ** (n - 1),))

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return Value(t, (self,), lambda g: (g * (1 - t * t),))

    def exp(self) -> Value:
        v = math.exp(self.data)
        return Value(v, (self,), lambda g: (g * v,))

    def backward(self, accumulate: bool = True) -> None:
        order, seen = [], set()

        def visit(node: Value) -> None:
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node.parents:
                    visit(parent)
                order.append(node)

        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            if node.rule is None:
                continue
            for parent, local in zip(node.parents, node.rule(node.grad), strict=True):
                parent.grad = parent.grad + local if accumulate else local


def _value(x: Any) -> Value:
    return x if isinstance(x, Value) else Value(x)


def bad_tanh(v: Value) -> Value:
    """tanh with the slip 1 - t for 1 - t**2 in its backward."""
    t = math.tanh(v.data)
    return Value(t, (v,), lambda g: (g * (1 - t),))


class BadPow(Value):
    def __pow__(self, n: int) -> Value:
        return Value(self.data**n, (self,), lambda g: (g * n * self.data**n,))


def engine_cases() -> list[Case]:
    specs: list[tuple[str, str, bool, Any, Any, type, bool, str]] = [
        (
            "x*x + y",
            "x*x + y",
            False,
            lambda x, y: x * x + y,
            lambda x, y: x * x + y,
            Value,
            True,
            "x=-3:3,y=-3:3",
        ),
        (
            "x*x overwrites instead of +=",
            "x*x + y",
            True,
            lambda x, y: x * x + y,
            lambda x, y: x * x + y,
            Value,
            False,
            "x=-3:3,y=-3:3",
        ),
        (
            "tanh(x*y)",
            "tanh(x*y)",
            False,
            lambda x, y: (x * y).tanh(),
            lambda x, y: torch.tanh(x * y),
            Value,
            True,
            "x=-2:2,y=-2:2",
        ),
        (
            "tanh backward 1-t",
            "tanh(x*y)",
            True,
            lambda x, y: bad_tanh(x * y),
            lambda x, y: torch.tanh(x * y),
            Value,
            True,
            "x=-2:2,y=-2:2",
        ),
        (
            "x**3 + exp(y)",
            "x**3 + exp(y)",
            False,
            lambda x, y: x**3 + y.exp(),
            lambda x, y: x**3 + torch.exp(y),
            Value,
            True,
            "x=-3:3,y=-3:3",
        ),
        (
            "pow rule n*x**n",
            "x**3 + exp(y)",
            True,
            lambda x, y: x**3 + y.exp(),
            lambda x, y: x**3 + torch.exp(y),
            BadPow,
            True,
            "x=-3:3,y=-3:3",
        ),
    ]
    cases = []
    for name, expr, bug, build, forward, kind, accumulate, domain in specs:
        names = tuple(parse_domain(domain))
        cases.append(
            Case(
                name,
                expr,
                "gradient",
                bug,
                _engine_candidate(build, kind, accumulate, names),
                forward,
                names,
                domain,
                "engine",
            )
        )
    return cases


def _engine_candidate(
    build: Callable[..., Value], kind: type, accumulate: bool, names: tuple[str, ...]
) -> Callable[..., Any]:
    def call(**point: Any) -> Any:
        inputs = [kind(float(point[n])) for n in names]
        build(*inputs).backward(accumulate)
        return tuple(v.grad for v in inputs)

    return call


# -- the checkers --------------------------------------------------------------------------------


def run_check(case: Case, dtype: str) -> bool:
    """Whether diffcompare.check flags the case."""
    option = {case.kind: case.candidate}
    report = diffcompare.check(
        case.expr, **option, domain=case.domain, samples=SAMPLES, dtype=dtype, shrink=False
    )
    return not report.ok


def _points(case: Case, dtype: torch.dtype) -> list[tuple[torch.Tensor, ...]]:
    rng = np.random.default_rng(0)
    spans = parse_domain(case.domain)
    points = []
    for _ in range(GRADCHECK_POINTS):
        values = [round(float(rng.uniform(*spans[n])), 4) for n in case.names]
        points.append(tuple(torch.tensor(v, dtype=dtype, requires_grad=True) for v in values))
    return points


def _as_function(case: Case) -> Callable[..., Any]:
    """The case as a torch function whose backward is the candidate's gradient times
    grad_output (for NumPy and engine gradients) or the user's own backward."""
    if case.kind == "function":
        return case.forward
    names = case.names

    def backward(g: Any, *inputs: Any) -> Any:
        point = {n: t.detach().numpy() for n, t in zip(names, inputs, strict=True)}
        grads = case.candidate(**point)
        return tuple(
            g * torch.as_tensor(np.asarray(v, dtype=np.float64), dtype=g.dtype) for v in grads
        )

    return _function(f"G_{case.name}", case.forward, backward).apply


def run_gradcheck(case: Case, dtype: str) -> bool:
    """Whether torch.autograd.gradcheck (defaults) fails at any of the points."""
    fn = _as_function(case)
    tdtype = torch.float32 if dtype == "float32" else torch.float64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for inputs in _points(case, tdtype):
            if not torch.autograd.gradcheck(fn, inputs, raise_exception=False):
                return True
    return False


def optional_checkers() -> dict[str, Callable[[Case, str], bool]]:
    found: dict[str, Callable[[Case, str], bool]] = {}
    try:
        import numdifftools  # noqa: F401
    except ImportError:
        print("numdifftools not installed: skipped")
    else:
        found["numdifftools"] = run_numdifftools
    try:
        import jax  # noqa: F401
    except ImportError:
        print("jax not installed: check_grads skipped")
    return found


def run_numdifftools(case: Case, dtype: str) -> bool:
    import numdifftools as nd

    fn = _as_function(case)
    tdtype = torch.float32 if dtype == "float32" else torch.float64
    for inputs in _points(case, tdtype):
        x0 = np.array([float(t) for t in inputs])

        def scalar(v: np.ndarray) -> float:
            return float(case.forward(*(torch.tensor(a, dtype=tdtype) for a in v)))

        numeric = nd.Gradient(scalar)(x0)
        outs = fn(*inputs)
        analytic = torch.autograd.grad(outs, inputs, allow_unused=True)
        analytic = np.array([0.0 if a is None else float(a) for a in analytic])
        if not np.allclose(analytic, np.atleast_1d(numeric)):
            return True
    return False


# -- the table -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few cases, float64 only")
    args = parser.parse_args()
    cases = torch_cases() + numpy_cases() + engine_cases()
    dtypes = ("float64", "float32")
    if args.quick:
        cases = [c for c in cases if c.origin == "numpy"][:6]
        dtypes = ("float64",)
    checkers: dict[str, Callable[[Case, str], bool]] = {
        "diffcompare.check": run_check,
        "gradcheck": run_gradcheck,
        **optional_checkers(),
    }
    bugs = sum(c.bug for c in cases)
    print(f"{len(cases)} cases: {bugs} planted bugs, {len(cases) - bugs} correct implementations")
    print(f"{'dtype':<8} {'checker':<18} {'bugs caught':>12} {'false alarms':>13} {'s/case':>8}")
    missed: list[str] = []
    targets_met = True
    for dtype in dtypes:
        for label, checker in checkers.items():
            caught = alarms = 0
            start = time.perf_counter()
            for case in cases:
                flagged = checker(case, dtype)
                caught += case.bug and flagged
                alarms += (not case.bug) and flagged
                if flagged != case.bug:
                    what = "missed bug" if case.bug else "false alarm"
                    missed.append(f"{dtype} {label}: {what}: {case.origin} {case.name!r}")
            seconds = (time.perf_counter() - start) / len(cases)
            correct = len(cases) - bugs
            print(
                f"{dtype:<8} {label:<18} {caught:>5}/{bugs:<3} {100 * caught / bugs:>3.0f}% "
                f"{alarms:>5}/{correct:<3} {100 * alarms / correct:>3.0f}% {seconds:>8.2f}"
            )
            if label == "diffcompare.check" and (caught < bugs or alarms):
                targets_met = False
    print()
    for line in missed:
        print(line)
    print(
        "targets met: every planted bug caught, no false alarm (diffcompare.check)"
        if targets_met
        else "targets NOT met by diffcompare.check: see the lines above"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
