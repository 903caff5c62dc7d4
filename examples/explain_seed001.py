"""Seed 001 worked by diffcompare: the chain rule through f(x) = x**2 + 3x + 1 inside
g = f**3 + 4f + 2, read off the torch graph autograd really runs.

The tutorial computes by hand dg/df = 3f**2 + 4 = 367 and df/dx = 2x + 3 = 7, so
dg/dx = 367 * 7 = 2569, and checks it with fx.retain_grad(). `diffcompare.explain` does the
same for any expression: every node's grad_fn, local derivative and gradient, the closed
form, each number checked against torch's retain_grad() values and the SymPy derivative.

Run from the repository root:  .venv/bin/python examples/explain_seed001.py [en|zh]
"""

import sys

import diffcompare
from diffcompare.render.explanation import render

EXPR = "(x**2+3*x+1)**3+4*(x**2+3*x+1)+2"


def main(lang: str = "en") -> None:
    explanation = diffcompare.explain(EXPR, {"x": 2})
    print(render(explanation, "text", lang))
    (row,) = explanation.rows
    (chain,) = row.chains
    factors = [f.value for f in chain.factors]
    if factors != [367.0, 7.0] or chain.torch != 2569.0 or not explanation.agrees:
        raise SystemExit(f"expected 367 * 7 = 2569 checked against torch, got {factors}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
