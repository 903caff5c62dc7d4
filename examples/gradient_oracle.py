"""diffcompare as a test oracle for someone else's gradient code.

Two hand-derived NumPy gradients of f(x, y) = sin(x) * exp(-y**2): one correct, one with
the kind of slip hand derivation makes (a lost minus sign in df/dy). `diffcompare.check`
asks each for its gradient at seeded points (vectorised: arrays of points in, arrays out)
and holds every entry to the 50-digit reference within the bound the engine's error model
gives a correct float64 evaluation of the derivative formula there (not a guessed atol); a
failure is shrunk to the simplest point that still fails.

Run from the repository root:  .venv/bin/python examples/gradient_oracle.py
It exits 0 when the correct gradient passes and the buggy one is caught, 1 otherwise.
"""

import numpy as np

import diffcompare

EXPR = "sin(x) * exp(-y**2)"


def gradient_correct(x, y):
    return {"x": np.cos(x) * np.exp(-(y**2)), "y": -2 * y * np.sin(x) * np.exp(-(y**2))}


def gradient_buggy(x, y):
    return {"x": np.cos(x) * np.exp(-(y**2)), "y": 2 * y * np.sin(x) * np.exp(-(y**2))}


def main() -> int:
    caught = {}
    for gradient in (gradient_correct, gradient_buggy):
        report = diffcompare.check(EXPR, gradient=gradient, samples=40)
        caught[gradient.__name__] = not report.ok
        print(f"{gradient.__name__}: {'pass' if report.ok else 'FAIL'}")
        print("  " + str(report).replace("\n", "\n  "))
    if caught == {"gradient_correct": False, "gradient_buggy": True}:
        print("the oracle passed the correct gradient and caught the sign bug")
        return 0
    print("the oracle did not tell the correct gradient from the buggy one")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
