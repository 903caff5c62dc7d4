"""The op table: every supported function and operator, declared once.

Each row holds every fact about one function: its name in the input language, the SymPy
node it becomes, its torch function, its display names (English, Chinese) and its local
derivative. The parser's allow-list, the torch compiler, the custom SymPy functions below
and the op tests all read this table; adding a function is adding one row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Any

import sympy

Partials = Callable[..., tuple[sympy.Expr, ...]]


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
    return _torch().pow(base, exponent)


def _heaviside(x: Any, h0: Any) -> Any:
    # Note: torch.heaviside has no backward; the step's derivative is 0 wherever it exists.
    return _torch().heaviside(x.detach(), h0)


@dataclass(frozen=True)
class Op:
    """One supported function or operator.

    `node` is the SymPy class an expression holds for it (None when the parser builds it
    from other rows, as `sqrt(x)` is `x**(1/2)`); `build` makes the SymPy form from the
    parsed arguments; `torch` computes it on tensors (binary for the n-ary rows, which the
    compiler folds); `partials` gives the local derivative with respect to each argument.
    `elementary` rewrites a custom node in elementary functions, for high-precision
    evaluation. `domain` is an open interval, for every argument, on which the row is real
    and differentiable away from its kinks (for pow: the base's, when the exponent is not an
    integer). `kink` says where the row is continuous but not differentiable: "zero" where
    its argument is 0, "tie" where two arguments are equal. `complex_step` says that its
    torch function takes complex tensors and is analytic on the real domain, so the
    complex-step derivative may go through it; `complex_torch`, where set, is the function
    to use on complex tensors instead. Rows with `user=False` appear in derivatives but not
    in the input language.
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
    kink: str | None = None  # "zero" or "tie"
    complex_step: bool = True
    # The derivative rule's name in worked explanations; empty: "derivative of the <en>".
    rule_en: str = ""
    rule_zh: str = ""
    complex_torch: Callable[..., Any] | None = None

    @property
    def nary(self) -> bool:
        return self.arity[1] is None


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
    ),
    # Functions of the input language.
    Op("sin", "sine", "正弦", sympy.sin, sympy.sin, TorchFn("sin"), lambda x: (sympy.cos(x),)),
    Op("cos", "cosine", "余弦", sympy.cos, sympy.cos, TorchFn("cos"), lambda x: (-sympy.sin(x),)),
    Op(
        "tan",
        "tangent",
        "正切",
        sympy.tan,
        sympy.tan,
        TorchFn("tan"),
        lambda x: (1 + sympy.tan(x) ** 2,),
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
    ),
    Op(
        "atan",
        "arctangent",
        "反正切",
        sympy.atan,
        sympy.atan,
        TorchFn("atan"),
        lambda x: (1 / (1 + x**2),),
    ),
    Op(
        "sinh",
        "hyperbolic sine",
        "双曲正弦",
        sympy.sinh,
        sympy.sinh,
        TorchFn("sinh"),
        lambda x: (sympy.cosh(x),),
    ),
    Op(
        "cosh",
        "hyperbolic cosine",
        "双曲余弦",
        sympy.cosh,
        sympy.cosh,
        TorchFn("cosh"),
        lambda x: (sympy.sinh(x),),
    ),
    Op(
        "tanh",
        "hyperbolic tangent",
        "双曲正切",
        sympy.tanh,
        sympy.tanh,
        TorchFn("tanh"),
        lambda x: (1 - sympy.tanh(x) ** 2,),
    ),
    Op(
        "exp",
        "exponential",
        "指数函数",
        sympy.exp,
        sympy.exp,
        TorchFn("exp"),
        lambda x: (sympy.exp(x),),
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
    ),
    Op(
        "abs",
        "absolute value",
        "绝对值",
        sympy.Abs,
        sympy.Abs,
        TorchFn("abs"),
        lambda x: (sympy.sign(x),),
        kink="zero",
        complex_step=False,
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
