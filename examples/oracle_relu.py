"""Seed 002's custom ReLU (a torch.autograd.Function) checked by diffcompare's oracle.

Two backward passes: the tutorial's, which zeroes grad_output where the input is negative, and
one with a bug that `torch.autograd.gradcheck`-style checks with a cotangent of ones never see:
it returns the ReLU's derivative itself and ignores grad_output. `diffcompare.check` runs the
function through torch's reverse mode with random cotangents (never 1) at sampled points away
from the kink at 0, and holds each entry to the bound autograd's own rounding allows.

Run from the repository root:  .venv/bin/python examples/oracle_relu.py
It exits 0 when the correct ReLU passes and the buggy one is caught, 1 otherwise.
"""

import torch

import diffcompare


class CustomReLU(torch.autograd.Function):
    """As in seed 002."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class BuggyReLU(CustomReLU):
    """The slip: the local derivative returned as the gradient, grad_output forgotten."""

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return (input > 0).to(grad_output.dtype)


def main() -> int:
    caught = {}
    for relu in (CustomReLU, BuggyReLU):
        report = diffcompare.check(
            "relu(x)", function=lambda x, relu=relu: relu.apply(x), shapes={"x": (4,)}, samples=20
        )
        caught[relu.__name__] = not report.ok
        print(f"{relu.__name__}: {'pass' if report.ok else 'FAIL'}")
        print("  " + str(report).replace("\n", "\n  "))
    if caught == {"CustomReLU": False, "BuggyReLU": True}:
        print("the oracle passed the tutorial's ReLU and caught the ignored grad_output")
        return 0
    print("the oracle did not tell the correct ReLU from the buggy one")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
