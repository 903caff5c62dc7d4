"""The op table's error columns: how torch's evaluation of a row, and its backward formula,
round beyond one rounding of the result (paths/error_model reads them through the table).

`*_rounding(args, result)`: the first-order rounding error of the row's torch function, in
units of eps. `*_backward_rounding(args, result)`: per argument, how far the roundings inside
torch's backward formula move the local derivative, absolute, in units of eps, where the
formula amplifies them. Arguments are tensors, or numbers for constants; torch is imported
only when a tensor needs a torch function, so the table loads without it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any


def _torch() -> Any:
    import torch

    return torch


def _total(terms: Sequence[Any]) -> Any:
    total: Any = 0.0
    for term in terms:
        total = total + abs(term)
    return total


def add_rounding(args: Sequence[Any], result: Any) -> Any:
    # The compiler folds a + b + c + ... left to right: each partial sum is rounded.
    partial, total = args[0], 0.0
    for a in args[1:]:
        partial = partial + a
        total = total + abs(partial)
    return total


def mul_rounding(args: Sequence[Any], result: Any) -> Any:
    # Each of the k - 1 products rounds by eps relative, which reaches the result as is.
    return (len(args) - 1) * abs(result)


def sum_rounding(args: Sequence[Any], result: Any) -> Any:
    # n - 1 additions in an order torch picks: the last rounds |result|, every other a
    # partial sum of some of the terms, at most sum |a_i| (Higham's gamma_{n-1} bound).
    return abs(result) + max(len(args) - 2, 0) * _total(args)


def mean_rounding(args: Sequence[Any], result: Any) -> Any:
    # torch sums, then divides by n (exactly when n is a power of two).
    n = len(args)
    inexact_division = n & (n - 1) != 0
    return abs(result) * (1 + inexact_division) + max(n - 2, 0) / n * _total(args)


def prod_rounding(args: Sequence[Any], result: Any) -> Any:
    return max(len(args) - 1, 0) * abs(result)


def prod_backward_rounding(args: Sequence[Any], result: Any) -> tuple[Any, ...]:
    # torch's backward of prod(dim) outside grad mode (what a plain backward runs) is
    # grad * (result / x_i) where no x_i is 0, else products of the others: either way the
    # local derivative carries the n - 1 roundings of a product of the others.
    torch = _torch()
    like = next(a for a in args if isinstance(a, torch.Tensor))
    parts = [torch.as_tensor(a, dtype=like.dtype).abs() for a in args]
    stacked = torch.stack(torch.broadcast_tensors(*parts), -1)
    ones = torch.ones_like(stacked[..., :1])
    left = torch.cumprod(torch.cat([ones, stacked[..., :-1]], -1), -1)
    right = torch.cumprod(torch.cat([ones, stacked.flip(-1)[..., :-1]], -1), -1).flip(-1)
    return tuple((max(len(args) - 1, 0) * left * right).unbind(-1))


def norm_rounding(args: Sequence[Any], result: Any) -> Any:
    # n squares and n - 1 additions of positive terms round the sum of squares S by at most
    # n eps S; the square root halves that relative error and rounds once more.
    return (len(args) / 2 + 1) * abs(result)


def dot_rounding(args: Sequence[Any], result: Any) -> Any:
    # n products, then n - 1 additions of them: as for sum, over the products.
    n = len(args) // 2
    products = [a * b for a, b in zip(args[:n], args[n:], strict=True)]
    return abs(result) + max(n - 1, 0) * _total(products)


def arcsine_backward_rounding(args: Sequence[Any], result: Any) -> tuple[Any, ...]:
    # torch: grad * (-x * x + 1).rsqrt(). The rounding of x*x, eps x^2, moves t = 1 - x^2
    # by as much, which near ±1 is most of it: rsqrt(t) moves by t^(-3/2) / 2 times that.
    (x,) = args
    square = x * x
    return (square / (2 * abs(1 - square) ** 1.5),)


def tanh_backward_rounding(args: Sequence[Any], result: Any) -> tuple[Any, ...]:
    # torch: tanh_backward(grad, y) = grad * (1 - y * y): the rounding of y*y, eps y^2,
    # which near |y| = 1 is most of 1 - y^2.
    return (result * result,)


def erf_backward_rounding(args: Sequence[Any], result: Any) -> tuple[Any, ...]:
    # torch: 2 / sqrt(pi) * exp(-(x.pow(2))) * grad: the rounding of x^2, eps x^2 absolute
    # in exp's argument, is eps x^2 relative in the local derivative.
    # And exp(-x^2) may underflow, off by up to tiny = eps * smallest_normal.
    (x,) = args
    underflow = float(_torch().finfo(x.dtype).smallest_normal)
    return (2 / math.sqrt(math.pi) * (_torch().exp(-x * x) * x * x + underflow),)


def _log_size(value: Any) -> Any:
    """log |value|, and 0 at 0 (where a power's size does not depend on its exponent)."""
    if isinstance(value, (int, float)):
        return math.log(abs(value)) if value else 0.0
    size = value.abs()
    return _torch().where(size == 0, 0.0, size.log())


def pow_backward_rounding(args: Sequence[Any], result: Any) -> tuple[Any, ...]:
    # torch: grad * exponent * base.pow(exponent - 1) (pow_backward, pow_backward_self).
    # Where exponent - 1 is not exact (in double for a number, in the dtype for a tensor),
    # its rounding, eps |exponent - 1| absolute, moves the power by |(exponent - 1)
    # log|base|| relative. And base.pow(exponent - 1) may underflow (x**3 at 1e-200), off
    # by up to the smallest subnormal, tiny = eps * smallest_normal: smallest_normal |exponent|
    # in units of eps. The exponent's derivative, result * log(base), amplifies nothing.
    base, exponent = args
    if not isinstance(base, _torch().Tensor):
        return (0.0, 0.0)
    underflow = float(_torch().finfo(base.dtype).smallest_normal) * abs(exponent)
    shifted = exponent - 1
    if isinstance(exponent, (int, float)):
        if Fraction(float(shifted)) == Fraction(exponent) - 1:
            return (underflow, 0.0)
        inexact: Any = True
    else:
        back = shifted - exponent  # TwoSum: the exact error of exponent + (-1)
        inexact = (exponent - (shifted - back)) + (-1 - back) != 0
    local = abs(exponent * base**shifted * shifted * _log_size(base))
    return (_torch().where(inexact & ~local.isnan(), local, 0.0) + underflow, 0.0)
