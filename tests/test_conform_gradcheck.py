"""diffcompare.oracle.gradcheck: correct functions pass in float64 and float32, planted bugs fail
with a message naming the entry, kinks are reported as kinks."""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd.gradcheck import GradcheckError as TorchGradcheckError

from diffcompare.oracle.gradcheck import GradcheckError, gradcheck

DTYPES = (torch.float64, torch.float32)


def _inputs(
    dtype: torch.dtype, *shapes: tuple[int, ...], seed: int = 0
) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(s, generator=g, dtype=dtype).requires_grad_(True) for s in shapes)


def _sine_layer(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return torch.tanh(w @ torch.sin(x)) * torch.exp(-(x[:3] ** 2))


def _softplus_sum(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.softplus(3 * x).sum() / (1 + x.pow(2).sum())


def _products(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x * y + x * (-y + 1e-3), x.pow(3) * x.flip(0) / (2 + y.sum())


CORRECT = {
    "sine layer": (_sine_layer, ((4,), (3, 4))),
    "softplus sum": (_softplus_sum, ((5,),)),
    "products, two outputs": (_products, ((3,), (3,))),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_functions_pass(name: str, dtype: torch.dtype) -> None:
    fn, shapes = CORRECT[name]
    assert gradcheck(fn, _inputs(dtype, *shapes)) is True


def test_float32_passes_where_torch_gradcheck_fails() -> None:
    inputs = _inputs(torch.float32, (4,), (3, 4))
    with pytest.warns(UserWarning), pytest.raises(TorchGradcheckError):
        torch.autograd.gradcheck(_sine_layer, inputs)
    assert gradcheck(_sine_layer, inputs)


# -- planted bugs, as custom autograd.Functions ------------------------------------------------


class _Sine(torch.autograd.Function):
    """sin(x) with a backward of `factor` * cos(x), and grad_output used or not."""

    factor = 1.0
    uses_grad_output = True

    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(x)
        return torch.sin(x)

    @classmethod
    def backward(cls, ctx, grad):  # type: ignore[no-untyped-def]
        (x,) = ctx.saved_tensors
        local = cls.factor * torch.cos(x)
        return grad * local if cls.uses_grad_output else local


class _WrongSign(_Sine):
    factor = -1.0


class _Slip(_Sine):
    factor = 1.0001  # a 1e-4 relative slip


class _IgnoresGradOutput(_Sine):
    uses_grad_output = False


class _HugeBeside(torch.autograd.Function):
    """1e6 x0**2 + x1**2, whose backward gets the small entry wrong by 50 %."""

    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(x)
        return 1e6 * x[0] ** 2 + x[1] ** 2

    @staticmethod
    def backward(ctx, grad):  # type: ignore[no-untyped-def]
        (x,) = ctx.saved_tensors
        return grad * torch.stack([2e6 * x[0], 3 * x[1]])


BUGS = {
    "wrong sign": (lambda x: _WrongSign.apply(x), "d output[0] / d input[0]"),
    "1e-4 slip": (lambda x: _Slip.apply(x), "d output[0] / d input[0]"),
    "ignores grad_output": (lambda x: _IgnoresGradOutput.apply(x).sum(), "ignores grad_output"),
    "wrong entry beside a huge one": (lambda x: _HugeBeside.apply(x), "d output / d input[1]"),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", sorted(BUGS))
def test_planted_bugs_fail_with_a_readable_message(name: str, dtype: torch.dtype) -> None:
    fn, expected = BUGS[name]
    x = torch.tensor([0.7, -1.3, 2.1], dtype=dtype, requires_grad=True)
    x = x[:2].detach().requires_grad_(True) if "huge" in name else x
    with pytest.raises(GradcheckError) as raised:
        gradcheck(fn, (x,))
    text = str(raised.value)
    assert expected in text, text
    assert "reverse mode" in text and "truth" in text and "allowed" in text, text
    assert isinstance(raised.value, TorchGradcheckError)
    assert gradcheck(fn, (x,), raise_exception=False) is False


class _WrongJvp(torch.autograd.Function):
    """exp(x): right backward, forward-mode derivative off by a factor 2."""

    @staticmethod
    def forward(x):  # type: ignore[no-untyped-def]
        return torch.exp(x)

    @staticmethod
    def setup_context(ctx, inputs, output):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(output)
        ctx.save_for_forward(output)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[no-untyped-def]
        (y,) = ctx.saved_tensors
        return grad * y

    @staticmethod
    def jvp(ctx, tangent):  # type: ignore[no-untyped-def]
        (y,) = ctx.saved_tensors
        return 2 * tangent * y


def test_forward_mode_is_checked_too() -> None:
    x = torch.tensor([0.3, 1.1], dtype=torch.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="forward mode: d output"):
        gradcheck(_WrongJvp.apply, (x,))
    assert gradcheck(_WrongJvp.apply, (x,), check_forward_ad=False)
    # A Function without a jvp: forward mode is skipped unless asked for.
    assert gradcheck(lambda x: _Sine.apply(x), (x,))
    with pytest.raises(GradcheckError, match="forward mode: not supported"):
        gradcheck(lambda x: _Sine.apply(x), (x,), check_forward_ad=True)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_a_kink_is_reported_as_such(dtype: torch.dtype) -> None:
    x = torch.tensor([1.5, 0.0, -2.0], dtype=dtype, requires_grad=True)
    with pytest.raises(GradcheckError) as raised:
        gradcheck(lambda x: torch.abs(x) * 2, (x,))
    text = str(raised.value)
    assert "nondifferentiable at input[1]" in text, text
    assert "input[0]" not in text and "input[2]" not in text, text
    assert "-2 (left) and 2 (right)" in text, text


def test_near_a_kink_is_no_kink() -> None:
    x = torch.tensor([1e-9, -3e-8], dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda x: torch.abs(x) + x**2, (x,))


def test_a_domain_edge_is_reported_as_such() -> None:
    x = torch.tensor([0.0, 2.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(
        GradcheckError, match="domain edge at input\\[0\\]: .* undefined to the left"
    ):
        gradcheck(lambda x: torch.sqrt(x) * x, (x,))


def test_fast_mode_and_torch_keywords() -> None:
    (x,) = _inputs(torch.float64, (5,))
    assert gradcheck(_softplus_sum, (x,), fast_mode=True)
    assert not gradcheck(
        lambda x: _WrongSign.apply(x).sum(), (x,), fast_mode=True, raise_exception=False
    )
    assert gradcheck(
        _softplus_sum, (x,), eps=1e-4, atol=1e-9, rtol=1e-9, check_undefined_grad=False
    )
    assert gradcheck(_softplus_sum, x, check_grad_dtypes=True, nondet_tol=0.0)
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(_softplus_sum, (x.detach(),))
    assert math.isfinite(float(_softplus_sum(x.detach())))


def test_float32_parameters_keep_the_truth_in_float32_and_still_catch_a_slip() -> None:
    # float64 inputs cannot meet float32 weights in a matmul: the truth is differenced in
    # float32, with Richardson's larger error estimate, and still sees a 1e-4 slip.
    g = torch.Generator().manual_seed(0)
    w = torch.randn(4, 3, generator=g)
    x = torch.randn(2, 4, generator=g).requires_grad_(True)

    class Layer(torch.autograd.Function):
        slip = 1.0

        @staticmethod
        def forward(ctx, x):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(x)
            return torch.tanh(x @ w)

        @classmethod
        def backward(cls, ctx, grad):  # type: ignore[no-untyped-def]
            (x,) = ctx.saved_tensors
            y = torch.tanh(x @ w)
            return (grad * (1 - y * y) * cls.slip) @ w.T

    assert gradcheck(Layer.apply, (x,))
    Layer.slip = 1.0001
    with pytest.raises(GradcheckError, match="reverse mode: d output\\[.*richardson"):
        gradcheck(Layer.apply, (x,))
