"""Seed 002's custom linear layer (a torch.autograd.Function, y = x @ W + b on a batch) checked
by diffcompare's oracle, in float64 and in float32.

Two backward passes: the tutorial's, and one with a slip in the bias gradient (the batch's
mean of grad_output where the sum belongs). `diffcompare.check` differentiates the function by
torch's reverse mode with random cotangents and compares every entry of x, W and b against the
50-digit truth of the expression "x@W+b", each within the bound autograd's rounding allows
in that dtype.

Run from the repository root:  .venv/bin/python examples/oracle_linear.py
It exits 0 when the correct layer passes and the buggy one is caught in both dtypes, 1 otherwise.
"""

import torch

import diffcompare

SHAPES = {"x": (2, 2), "W": (2, 1), "b": (1,)}  # a batch of 2 inputs of 2 features, 1 output


class CustomLinear(torch.autograd.Function):
    """As in seed 002."""

    @staticmethod
    def forward(ctx, input, weight, bias):
        ctx.save_for_backward(input, weight)
        output = input @ weight + bias
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight = ctx.saved_tensors
        grad_input = grad_output @ weight.T
        grad_weight = input.T @ grad_output
        grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias


class BuggyLinear(CustomLinear):
    """The slip: the bias gradient averaged over the batch instead of summed."""

    @staticmethod
    def backward(ctx, grad_output):
        grad_input, grad_weight, _ = CustomLinear.backward(ctx, grad_output)
        return grad_input, grad_weight, grad_output.mean(0)


def main() -> int:
    outcome = {}
    for dtype in ("float64", "float32"):
        for layer in (CustomLinear, BuggyLinear):
            report = diffcompare.check(
                "x@W+b",
                function=lambda x, W, b, layer=layer: layer.apply(x, W, b),
                shapes=SHAPES,
                samples=3,
                dtype=dtype,
            )
            outcome[layer.__name__, dtype] = report.ok
            print(f"{layer.__name__} ({dtype}): {'pass' if report.ok else 'FAIL'}")
            print("  " + str(report).replace("\n", "\n  "))
    expected = {(name, d): name == "CustomLinear" for name, d in outcome}
    if outcome == expected:
        print("the oracle passed the tutorial's layer and caught the bias slip in both dtypes")
        return 0
    print("the oracle did not tell the correct layer from the buggy one")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
