"""The op table: every supported function and operator, declared once.

Each row holds every fact about one function: its name in the input language, the SymPy
node it becomes, its torch and mpmath functions, its display names (English, Chinese) and its local
derivative. The parser's allow-list, the torch compiler, the custom SymPy functions below
and the op tests all read this table; adding a function is adding one row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import Any

import mpmath
import sympy
from mpmath.libmp import from_man_exp, from_rational, round_nearest
from sympy.core.logic import fuzzy_and

from diffcompare.language.op_errors import (
    add_rounding,
    arcsine_backward_rounding,
    dot_rounding,
    erf_backward_rounding,
    mean_rounding,
    mul_rounding,
    norm_rounding,
    pow_backward_rounding,
    prod_backward_rounding,
    prod_rounding,
    sum_rounding,
    tanh_backward_rounding,
)

Partials = Callable[..., tuple[sympy.Expr, ...]]
Combine = Callable[..., sympy.Expr]  # an n-ary sum or product of SymPy expressions


def _torch() -> Any:
    import torch  # deferred: parsing, --help and --version never load torch

    return torch


class TorchFn:
    """A torch function named by its attribute path under `torch`, resolved on first call."""

    def __init__(self, path: str) -> None:
        self.path = path

    @cached_property
    def _fn(self) -> Callable[..., Any]:
        target: Any = _torch()
        for part in self.path.split("."):
            target = getattr(target, part)
        return target  # type: ignore[no-any-return]

    def __call__(self, *args: Any) -> Any:
        return self._fn(*args)

    def __repr__(self) -> str:
        return f"torch.{self.path}"


def _softplus(x: Any) -> Any:
    # Note: torch.nn.functional.softplus returns x itself above threshold=20, which is off by
    # log1p(exp(-x)) ~ 2e-9 at x = 20 and so fails a float64 comparison; logaddexp is exact.
    return _torch().logaddexp(x, _torch().zeros_like(x))


def _complex_pow(base: Any, exponent: Any) -> Any:
    # Note: torch.pow of a complex tensor goes through exp(n log z) except for a few small
    # exponents, which at a negative base loses the tiny imaginary part the complex-step
    # derivative reads; an integer power by repeated squaring keeps it.
    if isinstance(exponent, (int, float)) and float(exponent).is_integer() and exponent != 0:
        n = abs(int(exponent))
        result: Any = None
        square = base
        while n:
            if n & 1:
                result = square if result is None else result * square
            n >>= 1
            if n:
                square = square * square
        return result if exponent > 0 else 1 / result
    # Any other power as r^a e^(-b theta) e^(i (b log r + a theta)) for z = r e^(i theta),
    # w = a + ib: its size from the real pow, correctly rounded, where exp(w log z) rounds
    # w log z (|w log z| eps relative: 77 eps for x**y at x = 1e100, y = 1/3).
    torch = _torch()
    like = base if isinstance(base, torch.Tensor) else exponent
    z = torch.as_tensor(base, dtype=like.dtype)  # a number as the tensor's own dtype
    w = (
        exponent
        if isinstance(exponent, torch.Tensor)
        else torch.tensor(exponent, dtype=z.real.dtype)
    )
    r, theta = z.abs(), z.angle()
    a, b = (w.real, w.imag) if w.is_complex() else (w, torch.zeros_like(w))
    size = torch.pow(r, a) * torch.exp(-b * theta)
    # Note: where b = 0 the phase is a theta, also at z = 0 (where b log r is 0 * -inf).
    return torch.polar(size, torch.where(b == 0, 0.0, b * r.log()) + a * theta)


def _stacked(args: Sequence[Any]) -> Any:
    return _torch().stack(tuple(args), -1)


def _torch_sum(*args: Any) -> Any:
    return _stacked(args).sum(-1)


def _torch_mean(*args: Any) -> Any:
    return _stacked(args).mean(-1)


def _torch_prod(*args: Any) -> Any:
    return _stacked(args).prod(-1)


def _torch_norm(*args: Any) -> Any:
    # Note: vector_norm's backward gives 0 at the origin, where sqrt(sum of squares) gives NaN.
    return _torch().linalg.vector_norm(_stacked(args), dim=-1)


def _torch_dot(*args: Any) -> Any:
    n = len(args) // 2
    return _torch().linalg.vecdot(_stacked(args[:n]), _stacked(args[n:]), dim=-1)


def _complex_dot(*args: Any) -> Any:
    # Note: torch.linalg.vecdot conjugates its first argument, which is not analytic and so
    # would break the complex-step derivative; the plain sum of products is.
    n = len(args) // 2
    return (_stacked(args[:n]) * _stacked(args[n:])).sum(-1)


def _heaviside(x: Any, h0: Any) -> Any:
    # Note: torch.heaviside has no backward; the step's derivative is 0 wherever it exists.
    return _torch().heaviside(x.detach(), h0)


# The reference's arithmetic: a value is an exact Fraction for as long as the rows allow, and
# an mpmath real at the working precision (`mpmath.mp`) from the first transcendental row on.
Real = Fraction | Any
_EXACT_BITS = 100_000  # an exact integer power larger than this is rounded instead
# An exact product whose denominator passes this many bits is rounded instead (at the
# reference's working precision, which is far below it): each factor's gcd costs its size.
_EXACT_PRODUCT_BITS = 4096
_ZERO, _ONE = Fraction(0), Fraction(1)


def as_mpf(x: Real) -> Any:
    """`x` as an mpmath real at the working precision; an exact rational is rounded once."""
    if type(x) is not Fraction:
        return x
    p, q, prec = x.numerator, x.denominator, mpmath.mp.prec
    if q & (q - 1) == 0:  # a binary fraction, as every float is
        return mpmath.mp.make_mpf(from_man_exp(p, 1 - q.bit_length(), prec, round_nearest))
    return mpmath.mp.make_mpf(from_rational(p, q, prec, round_nearest))


class MpmathFn:
    """An mpmath function by name, which also takes exact Fractions (rounding them first)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._fn = getattr(mpmath, name)

    def __call__(self, *args: Real) -> Any:
        return self._fn(*(as_mpf(a) for a in args))

    def __repr__(self) -> str:
        return f"mpmath.{self.name}"


def _comparable(args: Sequence[Real]) -> Sequence[Real]:
    # Fractions and mpmath reals add and multiply together but do not compare.
    return args if all(type(a) is Fraction for a in args) else [as_mpf(a) for a in args]


def _mp_sum(*args: Real) -> Real:
    exact, rounded = _ZERO, None
    for a in args:
        if type(a) is Fraction:
            exact = a if exact is _ZERO else exact + a
        else:
            rounded = a if rounded is None else rounded + a
    if rounded is None:
        return exact
    return rounded + as_mpf(exact) if exact else rounded


def _mp_prod(*args: Real) -> Real:
    exact, rounded = _ONE, None
    for a in args:
        if type(a) is Fraction:
            exact = a if exact is _ONE else exact * a
            if exact and exact.denominator.bit_length() > _EXACT_PRODUCT_BITS:
                # The exact product of many binary fractions grows by their bits each (a
                # product of 1,000 doubles: 50,000 bits): rounded at the working precision.
                a, exact = as_mpf(exact), _ONE
                rounded = a if rounded is None else rounded * a
        else:
            rounded = a if rounded is None else rounded * a
    if rounded is None or not exact:  # 0 times a finite real is exactly 0
        return exact
    return rounded * as_mpf(exact) if exact != 1 else rounded


def _mp_pow(base: Real, exponent: Real) -> Real | None:
    # Note: an integer power of a negative base is real; any other power of one is not.
    if type(exponent) is Fraction:
        integer = exponent.denominator == 1
    else:
        integer = mpmath.isint(exponent)
    if integer:
        n = int(exponent)
        if type(base) is Fraction:
            bits = max(base.numerator.bit_length(), base.denominator.bit_length())
            if abs(n) * bits <= _EXACT_BITS:
                return base**n  # ZeroDivisionError at 0**-n, as for an mpmath real
        return as_mpf(base) ** n
    if base < 0:
        return None
    if type(exponent) is Fraction:  # a root first: 4**(1/2) and 8**(2/3) stay exact
        return mpmath.root(as_mpf(base), exponent.denominator) ** exponent.numerator
    return mpmath.power(as_mpf(base), exponent)


def _mp_mean(*args: Real) -> Real:
    return _mp_sum(*args) / len(args)


def _mp_norm(*args: Real) -> Any:
    return mpmath.sqrt(as_mpf(_mp_sum(*(_mp_prod(a, a) for a in args))))


def _mp_dot(*args: Real) -> Real:
    n = len(args) // 2
    return _mp_sum(*(_mp_prod(a, b) for a, b in zip(args[:n], args[n:], strict=True)))


def _mp_sign(x: Real) -> Fraction:
    return _ONE if x > 0 else -_ONE if x < 0 else _ZERO


def _mp_heaviside(x: Real, h0: Real = Fraction(1, 2)) -> Real:
    return _ONE if x > 0 else _ZERO if x < 0 else h0


def _mp_min(*args: Real) -> Real:
    return min(_comparable(args))


def _mp_max(*args: Real) -> Real:
    return max(_comparable(args))


def _mp_relu(x: Real) -> Real:
    return x if x > 0 else _ZERO


def _mp_sigmoid(x: Real) -> Any:
    return 1 / (1 + mpmath.exp(-as_mpf(x)))


def _mp_softplus(x: Real) -> Any:
    return mpmath.log1p(mpmath.exp(as_mpf(x)))


@dataclass(frozen=True)
class Op:
    """One supported function or operator.

    `node` is the SymPy class an expression holds for it (None when the parser builds it
    from other rows, as `sqrt(x)` is `x**(1/2)`); `build` makes the SymPy form from the
    parsed arguments; `torch` computes it on tensors (binary for the n-ary rows, which the
    compiler folds); `partials` gives the local derivative with respect to each argument.
    `rounding` and `backward_rounding` are the row's error columns (see their comments).
    `elementary` rewrites a custom node in elementary functions, for high-precision
    evaluation. `domain` is an open interval, for every argument, on which the row is real
    and differentiable away from its kinks (for pow: the base's, when the exponent is not an
    integer). `kink` says where the row is continuous but not differentiable: "zero" where
    its argument is 0, "tie" where two arguments are equal, "origin" where all its arguments
    are 0. `complex_step` says that its torch function takes complex tensors and is analytic
    on the real domain, so the complex-step derivative may go through it; `complex_torch`,
    where set, is the function to use on complex tensors instead. `mpmath` computes the row
    for the reference at the working precision, on exact `Fraction`s or mpmath reals; the
    exact rows (add, mul, integer powers, abs, sign, steps, min, max, relu, and the reductions
    but norm) keep exact arguments exact, so that a value such as 1 - 1 or the argument of a
    step at its jump is exactly 0. It returns None, an mpc, or raises ZeroDivisionError where
    the row has no real value. Rows with `user=False` appear in derivatives but not in the
    input language.

    A reduction (`reduces` > 0) takes that many arrays in the input language (sum(x) one,
    dot(x, y) two; a scalar counts as an array of one for all but dot) and its node takes
    their components, any number of them (dot: x's, then y's). Its `build` is its elementary
    expansion, and also takes the n-ary `add` and `mul` it expands into as keywords, so the
    parser can pass ones that bound the numbers as they grow; its node is one SymPy function
    over the components, and its torch function takes them all at once (`stacked`) and
    reduces them with torch's own reduction, so autograd records torch's backward.
    """

    name: str
    en: str
    zh: str
    build: Callable[..., sympy.Expr]
    node: type[sympy.Basic] | None
    torch: Callable[..., Any]
    partials: Partials
    arity: tuple[int, int | None] = (1, 1)
    syntax: str | None = None
    user: bool = True
    elementary: Callable[..., sympy.Expr] | None = None
    domain: tuple[float, float] = (-math.inf, math.inf)
    scalar_second: bool = False  # its torch function takes a Python number as 2nd argument
    kink: str | None = None  # "zero", "tie" or "origin"
    complex_step: bool = True
    # Where the row has poles inside its domain: a function of its (torch) argument that is 0
    # exactly there, so finite-difference steps can stay clear of them (tan: cos(u)).
    pole: Callable[[Any], Any] | None = None
    # The derivative rule's name in worked explanations; empty: "derivative of the <en>".
    rule_en: str = ""
    rule_zh: str = ""
    complex_torch: Callable[..., Any] | None = None
    mpmath: Callable[..., Any] | None = None
    reduces: int = 0  # arrays a reduction takes in the input language; 0: not a reduction
    # The error columns, read by paths/error_model. `rounding`: the first-order rounding
    # error of torch's evaluation of the row, in units of eps, from its argument values and
    # result (tensors, or numbers for constants); None: one rounding of the result, |result|.
    rounding: Callable[[Sequence[Any], Any], Any] | None = None
    # `backward_rounding`: per argument, how far the roundings inside torch's backward
    # formula for the row move its local derivative, absolute and in units of eps, where
    # the formula amplifies them: the sum, over its rounded intermediates t, of
    # |d local / d t| |t|. None: it amplifies none (each step's own rounding, one ulp of
    # the local derivative, is within the model's SAFETY).
    backward_rounding: Callable[[Sequence[Any], Any], tuple[Any, ...]] | None = None

    @property
    def stacked(self) -> bool:
        """Whether the torch function takes all the node's arguments at once."""
        return self.reduces > 0

    @property
    def nary(self) -> bool:
        """Whether the node takes any number of arguments, folded pairwise by the compiler."""
        return self.arity[1] is None and not self.stacked

    @property
    def user_arity(self) -> tuple[int, int | None]:
        """How many arguments a call takes in the input language (lowest, highest or None)."""
        return (self.reduces, self.reduces) if self.reduces else self.arity


class _TableFunction(sympy.Function):  # type: ignore[misc]
    """A SymPy function whose derivative and real-valuedness come from its op-table row."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return OPS[type(self).__name__].partials(*self.args)[argindex - 1]

    def _eval_is_extended_real(self) -> bool | None:
        return self.args[0].is_extended_real  # type: ignore[no-any-return]

    def _eval_evalf(self, prec: int) -> sympy.Expr:
        from mpmath.libmp import prec_to_dps

        elementary = OPS[type(self).__name__].elementary
        assert elementary is not None, "every table function has an elementary form"
        return sympy.N(elementary(*self.args), prec_to_dps(prec))


class sigmoid(_TableFunction):  # noqa: N801 - SymPy prints the class name
    nargs = 1


class relu(_TableFunction):  # noqa: N801
    nargs = 1

    def _eval_is_extended_nonnegative(self) -> bool | None:
        return self.args[0].is_extended_real  # type: ignore[no-any-return]


class softplus(_TableFunction):  # noqa: N801
    nargs = 1

    def _eval_is_extended_positive(self) -> bool | None:
        return self.args[0].is_extended_real  # type: ignore[no-any-return]


class _Reduction(_TableFunction):
    """One node over the components of a reduction's arrays, any number of them.

    Its derivative by a symbol visits only the arguments that hold the symbol (found from
    an index made once per node), and its table partials are made once per node: SymPy's
    Function._eval_derivative differentiates every argument and asks for every partial
    afresh, O(n) per partial and O(n^2) for a gradient of n components."""

    def _eval_is_extended_real(self) -> bool | None:
        return fuzzy_and(a.is_extended_real for a in self.args)  # type: ignore[no-any-return]

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return _reduction_partials(self)[argindex - 1]

    @property
    def free_symbols(self) -> set[sympy.Basic]:
        # Asked by every Derivative of the node: made once per node, not per partial.
        return set(_holding(self))

    def _eval_derivative(self, s: sympy.Symbol) -> sympy.Expr:
        terms = []
        for i in _holding(self).get(s, ()):
            da = self.args[i].diff(s)
            if not da.is_zero:
                terms.append(self.fdiff(i + 1) * da)
        return sympy.Add(*terms)


LARGE_REDUCTION = 32
"""Components from which a reduction's partials are written over its nodes: the 2-norm's as
x_i / norm(x) (the one norm node shared by every partial, not a sum of n squares in each),
the product's as products of shared halves, quarters, ... of the components (no division,
so exact at zeros; O(n log n) in all, not n products of n - 1 factors)."""


@lru_cache(maxsize=64)
def _reduction_partials(node: _Reduction) -> tuple[sympy.Expr, ...]:
    args = node.args
    if len(args) >= LARGE_REDUCTION:
        if isinstance(node, norm):
            return tuple(a / node for a in args)
        if isinstance(node, prod):
            return _others_products(args)
    return OPS[type(node).__name__].partials(*args)


def clear_caches() -> None:
    """Forget the reductions' partials made so far (after changing an op-table row)."""
    _reduction_partials.cache_clear()
    _holding.cache_clear()


def _others_products(args: tuple[sympy.Expr, ...]) -> tuple[sympy.Expr, ...]:
    """For each argument, the product of all the others, as a product of O(log n) shared
    prod nodes over ranges of the arguments (the siblings along its path in a halving)."""
    factors: list[list[sympy.Expr]] = [[] for _ in args]

    def part(lo: int, hi: int) -> sympy.Expr:
        return args[lo] if hi - lo == 1 else prod(*args[lo:hi], evaluate=False)

    stack = [(0, len(args))]
    while stack:
        lo, hi = stack.pop()
        if hi - lo < 2:
            continue
        mid = (lo + hi) // 2
        left, right = part(lo, mid), part(mid, hi)
        for i in range(lo, mid):
            factors[i].append(right)
        for i in range(mid, hi):
            factors[i].append(left)
        stack.extend(((lo, mid), (mid, hi)))
    return tuple(sympy.Mul(*f) for f in factors)


@lru_cache(maxsize=64)
def _holding(node: _Reduction) -> dict[sympy.Basic, tuple[int, ...]]:
    """For each free symbol of the reduction node, the positions of the arguments holding it."""
    found: dict[sympy.Basic, list[int]] = {}
    for i, arg in enumerate(node.args):
        for symbol in (arg,) if isinstance(arg, sympy.Symbol) else arg.free_symbols:
            found.setdefault(symbol, []).append(i)
    return {symbol: tuple(at) for symbol, at in found.items()}


class sum(_Reduction):  # noqa: N801 - shadows the builtin here, which this module never uses
    pass


class mean(_Reduction):  # noqa: N801
    pass


class prod(_Reduction):  # noqa: N801
    pass


class norm(_Reduction):  # noqa: N801
    def _eval_is_extended_nonnegative(self) -> bool | None:
        return self._eval_is_extended_real()


class dot(_Reduction):  # noqa: N801
    pass


def _sum_form(*args: sympy.Expr, add: Combine = sympy.Add, mul: Combine = sympy.Mul) -> sympy.Expr:
    return add(*args)


def _mean_form(*args: sympy.Expr, add: Combine = sympy.Add, mul: Combine = sympy.Mul) -> sympy.Expr:
    return mul(add(*args), sympy.Rational(1, len(args)))


def _prod_form(*args: sympy.Expr, add: Combine = sympy.Add, mul: Combine = sympy.Mul) -> sympy.Expr:
    return mul(*args)


def _norm_form(*args: sympy.Expr, add: Combine = sympy.Add, mul: Combine = sympy.Mul) -> sympy.Expr:
    return sympy.sqrt(add(*(mul(a, a) for a in args)))


def _dot_form(*args: sympy.Expr, add: Combine = sympy.Add, mul: Combine = sympy.Mul) -> sympy.Expr:
    n, odd = divmod(len(args), 2)
    if odd or not n:
        raise TypeError(f"dot takes the components of two vectors of one length, got {len(args)}")
    return add(*(mul(a, b) for a, b in zip(args[:n], args[n:], strict=True)))


def _norm_partials(*args: sympy.Expr) -> tuple[sympy.Expr, ...]:
    length = sympy.sqrt(sympy.Add(*(a**2 for a in args)))
    return tuple(a / length for a in args)


def _dot_partials(*args: sympy.Expr) -> tuple[sympy.Expr, ...]:
    n = len(args) // 2
    return (*args[n:], *args[:n])  # d(a.b)/da_i = b_i, d(a.b)/db_i = a_i


def _mul_partials(*args: sympy.Expr) -> tuple[sympy.Expr, ...]:
    return tuple(sympy.Mul(*(a for j, a in enumerate(args) if j != i)) for i in range(len(args)))


def _extremum_partials(pick: type[sympy.Basic]) -> Partials:
    # d max(a, b, ...)/da = H(a - max(b, ...)): the step of the argument over the others.
    def partials(*args: sympy.Expr) -> tuple[sympy.Expr, ...]:
        sign = 1 if pick is sympy.Max else -1
        return tuple(
            sympy.Heaviside(sign * (a - pick(*(b for j, b in enumerate(args) if j != i))))
            for i, a in enumerate(args)
        )

    return partials


def _abs(x: sympy.Expr) -> sympy.Expr:
    # Note: SymPy writes |u| as sqrt(conjugate(u)*u) where it cannot prove u real (a Max of
    # sums with a reciprocal in one); every value here is real where it is defined.
    result = sympy.Abs(x)
    return sympy.Abs(x, evaluate=False) if result.has(sympy.conjugate) else result


def _log(x: sympy.Expr, base: sympy.Expr | None = None) -> sympy.Expr:
    if base is None:
        return sympy.log(x)
    if base.is_number and not (base.is_positive and base != 1):
        raise ValueError("the base of a logarithm must be a positive number other than 1")
    return sympy.log(x) / sympy.log(base)


_ROWS: Sequence[Op] = (
    # Operators: the parser builds a - b as a + (-1)*b and a / b as a * b**-1, as SymPy does.
    Op(
        "add",
        "addition",
        "加法",
        sympy.Add,
        sympy.Add,
        TorchFn("add"),
        lambda *a: (sympy.S.One,) * len(a),
        arity=(2, None),
        syntax="+",
        rule_en="sum rule",
        rule_zh="和的求导法则",
        scalar_second=True,
        mpmath=_mp_sum,
        rounding=add_rounding,
    ),
    Op(
        "mul",
        "multiplication",
        "乘法",
        sympy.Mul,
        sympy.Mul,
        TorchFn("mul"),
        _mul_partials,
        arity=(2, None),
        syntax="*",
        rule_en="product rule",
        rule_zh="乘积法则",
        scalar_second=True,
        mpmath=_mp_prod,
        rounding=mul_rounding,
    ),
    Op(
        "pow",
        "power",
        "幂",
        sympy.Pow,
        sympy.Pow,
        TorchFn("pow"),
        lambda b, e: (e * b ** (e - 1), b**e * sympy.log(b)),
        arity=(2, 2),
        syntax="**",
        rule_en="power rule",
        rule_zh="幂法则",
        scalar_second=True,
        domain=(0.0, math.inf),
        complex_torch=_complex_pow,
        mpmath=_mp_pow,
        backward_rounding=pow_backward_rounding,
    ),
    # Functions of the input language.
    Op(
        "sin",
        "sine",
        "正弦",
        sympy.sin,
        sympy.sin,
        TorchFn("sin"),
        lambda x: (sympy.cos(x),),
        mpmath=MpmathFn("sin"),
    ),
    Op(
        "cos",
        "cosine",
        "余弦",
        sympy.cos,
        sympy.cos,
        TorchFn("cos"),
        lambda x: (-sympy.sin(x),),
        mpmath=MpmathFn("cos"),
    ),
    Op(
        "tan",
        "tangent",
        "正切",
        sympy.tan,
        sympy.tan,
        TorchFn("tan"),
        lambda x: (1 + sympy.tan(x) ** 2,),
        pole=TorchFn("cos"),
        mpmath=MpmathFn("tan"),
    ),
    Op(
        "asin",
        "arcsine",
        "反正弦",
        sympy.asin,
        sympy.asin,
        TorchFn("asin"),
        lambda x: (1 / sympy.sqrt(1 - x**2),),
        domain=(-1.0, 1.0),
        mpmath=MpmathFn("asin"),
        backward_rounding=arcsine_backward_rounding,
    ),
    Op(
        "acos",
        "arccosine",
        "反余弦",
        sympy.acos,
        sympy.acos,
        TorchFn("acos"),
        lambda x: (-1 / sympy.sqrt(1 - x**2),),
        domain=(-1.0, 1.0),
        mpmath=MpmathFn("acos"),
        backward_rounding=arcsine_backward_rounding,
    ),
    Op(
        "atan",
        "arctangent",
        "反正切",
        sympy.atan,
        sympy.atan,
        TorchFn("atan"),
        lambda x: (1 / (1 + x**2),),
        mpmath=MpmathFn("atan"),
    ),
    Op(
        "sinh",
        "hyperbolic sine",
        "双曲正弦",
        sympy.sinh,
        sympy.sinh,
        TorchFn("sinh"),
        lambda x: (sympy.cosh(x),),
        mpmath=MpmathFn("sinh"),
    ),
    Op(
        "cosh",
        "hyperbolic cosine",
        "双曲余弦",
        sympy.cosh,
        sympy.cosh,
        TorchFn("cosh"),
        lambda x: (sympy.sinh(x),),
        mpmath=MpmathFn("cosh"),
    ),
    Op(
        "tanh",
        "hyperbolic tangent",
        "双曲正切",
        sympy.tanh,
        sympy.tanh,
        TorchFn("tanh"),
        lambda x: (1 - sympy.tanh(x) ** 2,),
        mpmath=MpmathFn("tanh"),
        backward_rounding=tanh_backward_rounding,
    ),
    Op(
        "exp",
        "exponential",
        "指数函数",
        sympy.exp,
        sympy.exp,
        TorchFn("exp"),
        lambda x: (sympy.exp(x),),
        mpmath=MpmathFn("exp"),
    ),
    Op(
        "log",
        "natural logarithm",
        "自然对数",
        _log,
        sympy.log,
        TorchFn("log"),
        lambda x: (1 / x,),
        arity=(1, 2),
        domain=(0.0, math.inf),
        mpmath=MpmathFn("log"),
    ),
    Op(
        "sqrt",
        "square root",
        "平方根",
        sympy.sqrt,
        None,
        TorchFn("sqrt"),
        lambda x: (1 / (2 * sympy.sqrt(x)),),
        domain=(0.0, math.inf),
        mpmath=MpmathFn("sqrt"),
    ),
    Op(
        "abs",
        "absolute value",
        "绝对值",
        _abs,
        sympy.Abs,
        TorchFn("abs"),
        lambda x: (sympy.sign(x),),
        kink="zero",
        complex_step=False,
        mpmath=abs,
    ),
    Op(
        "sigmoid",
        "logistic sigmoid",
        "Sigmoid 函数",
        sigmoid,
        sigmoid,
        TorchFn("sigmoid"),
        lambda x: (sigmoid(x) * (1 - sigmoid(x)),),
        elementary=lambda x: 1 / (1 + sympy.exp(-x)),
        mpmath=_mp_sigmoid,
    ),
    Op(
        "relu",
        "rectified linear unit",
        "ReLU 函数",
        relu,
        relu,
        TorchFn("relu"),
        lambda x: (sympy.Heaviside(x),),
        elementary=lambda x: sympy.Max(0, x),
        kink="zero",
        complex_step=False,
        mpmath=_mp_relu,
    ),
    Op(
        "softplus",
        "softplus",
        "Softplus 函数",
        softplus,
        softplus,
        _softplus,
        lambda x: (sigmoid(x),),
        elementary=lambda x: sympy.log(1 + sympy.exp(x)),
        mpmath=_mp_softplus,
    ),
    Op(
        "erf",
        "error function",
        "误差函数",
        sympy.erf,
        sympy.erf,
        TorchFn("erf"),
        lambda x: (2 * sympy.exp(-(x**2)) / sympy.sqrt(sympy.pi),),
        complex_step=False,
        mpmath=MpmathFn("erf"),
        backward_rounding=erf_backward_rounding,
    ),
    Op(
        "min",
        "minimum",
        "最小值",
        sympy.Min,
        sympy.Min,
        TorchFn("minimum"),
        _extremum_partials(sympy.Min),
        arity=(2, None),
        kink="tie",
        complex_step=False,
        mpmath=_mp_min,
    ),
    Op(
        "max",
        "maximum",
        "最大值",
        sympy.Max,
        sympy.Max,
        TorchFn("maximum"),
        _extremum_partials(sympy.Max),
        arity=(2, None),
        kink="tie",
        complex_step=False,
        mpmath=_mp_max,
    ),
    # Reductions: one node over the components of one array (two for dot).
    Op(
        "sum",
        "sum",
        "求和",
        _sum_form,
        sum,
        _torch_sum,
        lambda *a: (sympy.S.One,) * len(a),
        arity=(1, None),
        reduces=1,
        elementary=_sum_form,
        rule_en="sum rule",
        rule_zh="和的求导法则",
        mpmath=_mp_sum,
        rounding=sum_rounding,
    ),
    Op(
        "mean",
        "mean",
        "平均值",
        _mean_form,
        mean,
        _torch_mean,
        lambda *a: (sympy.Rational(1, len(a)),) * len(a),
        arity=(1, None),
        reduces=1,
        elementary=_mean_form,
        rule_en="mean rule (each component contributes 1/n)",
        rule_zh="平均值的求导法则 (每个分量贡献 1/n)",
        mpmath=_mp_mean,
        rounding=mean_rounding,
    ),
    Op(
        "prod",
        "product of the components",
        "连乘积",
        _prod_form,
        prod,
        _torch_prod,
        _mul_partials,
        arity=(1, None),
        reduces=1,
        elementary=_prod_form,
        rule_en="product rule",
        rule_zh="乘积法则",
        mpmath=_mp_prod,
        rounding=prod_rounding,
        backward_rounding=prod_backward_rounding,
    ),
    Op(
        "norm",
        "2-norm",
        "二范数 (L2 范数)",
        _norm_form,
        norm,
        _torch_norm,
        _norm_partials,
        arity=(1, None),
        reduces=1,
        elementary=_norm_form,
        kink="origin",
        complex_step=False,
        rule_en="derivative of the 2-norm (each component over the norm)",
        rule_zh="二范数的导数 (各分量除以范数)",
        mpmath=_mp_norm,
        rounding=norm_rounding,
    ),
    Op(
        "dot",
        "dot product",
        "点积",
        _dot_form,
        dot,
        _torch_dot,
        _dot_partials,
        arity=(2, None),
        reduces=2,
        elementary=_dot_form,
        rule_en="dot-product rule (each component's partner)",
        rule_zh="点积的求导法则 (对应分量)",
        complex_torch=_complex_dot,
        mpmath=_mp_dot,
        rounding=dot_rounding,
    ),
    # Functions that derivatives produce but users do not type.
    Op(
        "sign",
        "sign",
        "符号函数",
        sympy.sign,
        sympy.sign,
        TorchFn("sign"),
        lambda x: (2 * sympy.DiracDelta(x),),
        user=False,
        kink="zero",
        complex_step=False,
        mpmath=_mp_sign,
    ),
    Op(
        "heaviside",
        "Heaviside step",
        "单位阶跃函数",
        sympy.Heaviside,
        sympy.Heaviside,
        _heaviside,
        lambda x, *h0: (sympy.DiracDelta(x),) + (sympy.S.Zero,) * len(h0),
        arity=(1, 2),
        user=False,
        kink="zero",
        complex_step=False,
        mpmath=_mp_heaviside,
    ),
)

OPS: Mapping[str, Op] = MappingProxyType({row.name: row for row in _ROWS})
"""Every row by name."""

FUNCTIONS: Mapping[str, Op] = MappingProxyType(
    {row.name: row for row in _ROWS if row.user and row.syntax is None}
)
"""The functions a user may call in an expression, by name."""

BY_NODE: Mapping[type[sympy.Basic], Op] = MappingProxyType(
    {row.node: row for row in _ROWS if row.node is not None}
)
"""The row for each SymPy node class the compiler meets."""

CONSTANTS: Mapping[str, sympy.Expr] = MappingProxyType({"pi": sympy.pi, "e": sympy.E})
"""Named constants of the input language."""
