"""Seed 001: the chain rule through an intermediate tensor, in plain torch and in diffcompare.

The tutorial defines f(x) = x**2 + 3x + 1 and g(x) = f(x)**3 + 4f(x) + 2. At x = 2,
f = 11 and g = 1377; by the chain rule dg/df = 3f**2 + 4 = 367, df/dx = 2x + 3 = 7, so
dg/dx = 367 * 7 = 2569. Torch shows this with `retain_grad()` on f; diffcompare then
computes dg/dx three ways (SymPy formula, torch autograd, finite differences) and judges
each against a 50-digit reference.

Run from the repository root:  .venv/bin/python examples/seed001_chain_rule.py
It exits with an error message if any method misses 2569 by more than its own error bound.
"""

import torch

import diffcompare

EXPR = "(x**2+3*x+1)**3+4*(x**2+3*x+1)+2"
EXPECTED = 2569.0


def tutorial() -> None:
    """The seed's torch program, printing what the tutorial prints."""
    x = torch.tensor(2.0, requires_grad=True)
    fx = x**2 + 3 * x + 1
    fx.retain_grad()  # fx is an intermediate tensor: torch drops its gradient unless asked
    gx = fx**3 + 4 * fx + 2
    gx.retain_grad()
    gx.backward()
    print(f"x:{x}  fx:{fx}  gx:{gx}")
    print(f"gx.grad:{gx.grad}  fx.grad:{fx.grad}  x.grad:{x.grad}")
    if fx.grad.item() != 367.0 or x.grad.item() != EXPECTED:
        raise SystemExit(f"torch gave fx.grad={fx.grad}, x.grad={x.grad}; expected 367 and 2569")


def three_ways() -> None:
    """The same derivative from diffcompare, each method checked against its own bound."""
    report = diffcompare.compare(EXPR, at={"x": 2})
    (point,) = report.points
    # SymPy distributes the 4 over f when parsing: the same function, printed differently.
    print(f"\ndiffcompare: d/dx {report.expr} = {report.derivative[0]}")
    print(f"  {'reference (50 digits)':<22}  {point.reference[0]!r}")
    for name, method in point.methods.items():
        (value,), (bound,) = method.value, method.bound
        print(f"  {report.method_labels[name]:<22}  {value!r} (bound {bound:.2g})")
        if value is None or bound is None or not abs(value - EXPECTED) <= bound:
            raise SystemExit(f"{name} gave {value}, not {EXPECTED} within its bound {bound}")
    print(f"verdict: {report.verdict}")
    if report.verdict != "agree":
        raise SystemExit(f"expected the verdict 'agree', got {report.verdict!r}: {point.reason}")


if __name__ == "__main__":
    tutorial()
    three_ways()
