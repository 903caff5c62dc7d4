"""diffcompare as a test oracle for someone else's gradient code.

Two hand-derived NumPy gradients of f(x, y) = sin(x) * exp(-y**2): one correct, one with
the kind of slip hand derivation makes (a lost minus sign in df/dy). Each is checked
against the 50-digit reference values that `diffcompare.compare` reports at several
points (`report.points[i].reference`, aligned with `report.wrt`). The tolerance is not a
guessed atol but the bound the report gives its symbolic method at that point and
variable: the rounding error allowed to a float64 evaluation of the derivative formula,
which is what the hand-written code does.

Run from the repository root:  .venv/bin/python examples/gradient_oracle.py
It exits 0 when the correct gradient passes and the buggy one is caught, 1 otherwise.
"""

from collections.abc import Callable

import numpy as np

import diffcompare

Gradient = Callable[[float, float], np.ndarray]

EXPR = "sin(x) * exp(-y**2)"
POINTS = [{"x": 0.5, "y": -1.2}, {"x": 2.0, "y": 0.3}, {"x": -1.0, "y": 1.5}, {"x": 3.0, "y": -0.7}]


def gradient_correct(x: float, y: float) -> np.ndarray:
    return np.array([np.cos(x) * np.exp(-(y**2)), -2 * y * np.sin(x) * np.exp(-(y**2))])


def gradient_buggy(x: float, y: float) -> np.ndarray:
    return np.array([np.cos(x) * np.exp(-(y**2)), 2 * y * np.sin(x) * np.exp(-(y**2))])


def failures(gradient: Gradient, report: diffcompare.Report) -> list[str]:
    """Every (point, variable) where `gradient` misses the reference by more than the bound."""
    found = []
    for point in report.points:
        at = dict(zip(report.variables, point.at, strict=True))
        got = gradient(at["x"], at["y"])
        bounds = point.methods["symbolic"].bound
        for k, (name, truth, bound) in enumerate(
            zip(report.wrt, point.reference, bounds, strict=True)
        ):
            error = abs(got[k] - truth)
            if not error <= bound:
                found.append(
                    f"d/d{name} at {at}: got {got[k]:.17g}, reference {truth:.17g}, "
                    f"error {error:.2g} > bound {bound:.2g}"
                )
    return found


def main() -> int:
    report = diffcompare.compare(EXPR, at=POINTS)
    # Trust the reference only where diffcompare's three methods agree with it.
    for point in report.points:
        if point.verdict != "agree":
            raise SystemExit(f"diffcompare cannot vouch for {EXPR} at {point.at}: {point.reason}")
    print(f"oracle: d/d({', '.join(report.wrt)}) of {report.expr} at {len(report.points)} points")
    caught = {}
    for gradient in (gradient_correct, gradient_buggy):
        problems = failures(gradient, report)
        caught[gradient.__name__] = bool(problems)
        print(f"{gradient.__name__}: {'FAIL' if problems else 'pass'}")
        for problem in problems:
            print(f"  {problem}")
    if caught == {"gradient_correct": False, "gradient_buggy": True}:
        print("the oracle passed the correct gradient and caught the sign bug")
        return 0
    print("the oracle did not tell the correct gradient from the buggy one")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
