"""The other candidates: a vjp asked with cotangents other than 1, a torch function by reverse and
forward mode, array variables and Jacobians."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import diffcompare

SHAPES = {"W": (2, 2), "x": (2,), "b": (2,)}


def vjp_correct(c, x, y):
    return {"x": c * np.cos(x) * np.exp(-(y**2)), "y": -2 * c * y * np.sin(x) * np.exp(-(y**2))}


def vjp_ignores_cotangent(c, x, y):
    return {"x": np.cos(x) * np.exp(-(y**2)), "y": -2 * y * np.sin(x) * np.exp(-(y**2))}


def test_vjp_that_ignores_the_cotangent_is_caught() -> None:
    expr = "sin(x)*exp(-y**2)"
    assert diffcompare.check(expr, vjp=vjp_correct, samples=10).ok
    report = diffcompare.check(expr, vjp=vjp_ignores_cotangent, samples=10)
    assert not report.ok
    assert all(f.cotangent and f.cotangent[0] != 1 for f in report.failures)
    assert "cotangent" in str(report)


class Linear(torch.autograd.Function):
    """y = W x + b with a hand-written backward."""

    @staticmethod
    def forward(W, x, b):
        return W @ x + b

    @staticmethod
    def setup_context(ctx, inputs, output):
        W, x, _ = inputs
        ctx.save_for_backward(W, x)
        ctx.save_for_forward(W, x)

    @staticmethod
    def backward(ctx, g):
        W, x = ctx.saved_tensors
        return torch.outer(g, x), W.T @ g, g

    @staticmethod
    def jvp(ctx, dW, dx, db):
        W, x = ctx.saved_tensors
        return dW @ x + W @ dx + db


class LinearTransposedBug(Linear):
    @staticmethod
    def backward(ctx, g):
        W, x = ctx.saved_tensors
        return torch.outer(g, x), W.T @ torch.ones_like(g), g  # grad_output ignored for x


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_linear_layer_function_reverse_and_forward(dtype: str) -> None:
    report = diffcompare.check(
        "W@x+b",
        function=lambda W, x, b: Linear.apply(W, x, b),
        shapes=SHAPES,
        samples=4,
        dtype=dtype,
    )
    assert report.ok, str(report)
    assert "jvp y[0]" in report.entries and "W[1,1]" in report.entries and not report.notes
    bad = diffcompare.check(
        "W@x+b",
        function=lambda W, x, b: LinearTransposedBug.apply(W, x, b),
        shapes=SHAPES,
        samples=4,
        dtype=dtype,
    )
    assert not bad.ok
    assert {f.entry for f in bad.failures} <= {"x[0]", "x[1]"}


def test_a_function_without_forward_mode_is_checked_in_reverse_and_says_so() -> None:
    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    report = diffcompare.check("x**2", function=lambda x: Square.apply(x), samples=5)
    assert report.ok and any("forward mode not checked" in n for n in report.notes)


def test_jacobian_gradient_with_array_variables() -> None:
    def jacobian(W, x, b):
        lead = x.shape[:-1]
        return {
            "W": np.einsum("oi,...j->...oij", np.eye(2), x),
            "x": W,
            "b": np.broadcast_to(np.eye(2), (*lead, 2, 2)),
        }

    report = diffcompare.check("W@x+b", gradient=jacobian, shapes=SHAPES, samples=5)
    assert report.ok, str(report)
    assert report.entries[0] == "y[0]/W[0,0]"


def test_one_wrong_entry_beside_a_huge_one() -> None:
    def gradient(x, y):
        return [1e6 * np.ones_like(x), np.cos(y) * (1 + 1e-7)]

    report = diffcompare.check("1e6*x + sin(y)", gradient=gradient, samples=10)
    assert not report.ok and {f.entry for f in report.failures} == {"y"}
