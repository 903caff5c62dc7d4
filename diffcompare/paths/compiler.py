"""The torch compiler: SymPy expressions to a tape of torch operations, read from the op table.

The tape holds one node per distinct subexpression, so a shared subexpression (the f in
g(f(x))) is computed once and its gradient flows through one node, as in the graph a
hand-written torch program records. Running the tape on batched inputs of shape (points,)
evaluates every point in one pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import reduce
from typing import Any

import sympy
import torch

from diffcompare.errors import DiffCompareError
from diffcompare.language.ops import BY_NODE, OPS, Op
from diffcompare.language.problem import Problem
from diffcompare.paths.memo import Memo


class CompileError(DiffCompareError):
    """An expression holds a SymPy node that no op-table row compiles."""

    exit_code = 2

    def __init__(self, node: sympy.Basic) -> None:
        self.node = node
        super().__init__(
            f"cannot compile {type(node).__name__} ({node}) to torch: no op-table row has it"
        )


@dataclass(frozen=True)
class Node:
    """One tape entry: an input variable, a constant, or an op applied to earlier entries."""

    expr: sympy.Expr
    op: Op | None = None  # None for inputs and constants
    args: tuple[int, ...] = ()
    input: int | None = None  # index into the variables, for an input
    value: float | None = None  # for a constant


@dataclass(frozen=True)
class Tape:
    """A compiled program: its nodes in evaluation order and which of them are the outputs."""

    variables: tuple[sympy.Symbol, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[int, ...]

    @property
    def op_count(self) -> int:
        return sum(node.op is not None for node in self.nodes)

    def run(
        self,
        inputs: Sequence[torch.Tensor],
        *,
        keep: bool = False,
        track_constants: bool = False,
        lift: Callable[[int], Any] | None = None,
        use: Callable[[int, int, Any], Any] | None = None,
    ) -> Run:
        """Evaluate on `inputs` (one tensor of shape (points,) per variable).

        With `keep`, the run also holds every node's value, for rounding-error estimates and
        explanations. With `track_constants`, each constant that the inputs' dtype cannot
        hold exactly becomes a tensor of the batch's shape that requires grad, so a
        rounding-error estimate can include the rounding of constants like pi or 0.1.
        With `lift` (for forward-mode AD), a constant an op takes as an operand is
        `lift(node index)` instead of a number (a pow's exponent stays a number): torch's
        forward rules take a slow path, importing torch._dynamo on first use, when one
        operand is a dual and the other is not. With `use`, op node i takes
        `use(i, position, value)` as its argument at each position instead of the value
        (the first-order bound passes each use of a tensor through its own alias).
        """
        if len(inputs) != len(self.variables):
            raise ValueError(f"expected {len(self.variables)} inputs, got {len(inputs)}")
        shapes = {t.shape for t in inputs}
        shape = shapes.pop() if len(shapes) == 1 else torch.broadcast_shapes(*shapes)  # type: ignore[no-untyped-call]
        like = inputs[0] if inputs else torch.zeros(())
        values: list[Any] = []
        constants: list[torch.Tensor] = []
        for index, node in enumerate(self.nodes):
            if node.input is not None:
                values.append(inputs[node.input])
            elif node.op is None:
                if track_constants and not _exact(node, like.dtype):
                    assert node.value is not None
                    constant = torch.full(shape, node.value, dtype=like.dtype, requires_grad=True)
                    constants.append(constant)
                    values.append(constant)
                else:
                    values.append(node.value)
            else:
                args = [values[i] for i in node.args]
                if lift is not None:
                    args = [
                        lift(i) if self.nodes[i].value is not None and liftable(node, p) else v
                        for p, (i, v) in enumerate(zip(node.args, args, strict=True))
                    ]
                if use is not None:
                    args = [use(index, p, v) for p, v in enumerate(args)]
                values.append(apply_node(node, args, like))
        outputs = tuple(_shaped(_as_tensor(values[i], like), shape) for i in self.outputs)
        kept = tuple(v for v, n in zip(values, self.nodes, strict=True) if n.op is not None)
        return Run(
            outputs=outputs,
            intermediates=kept if keep else (),
            values=tuple(values) if keep else (),
            constants=tuple(constants),
        )


@dataclass(frozen=True)
class Run:
    """A tape's outputs; with `keep`, also the op nodes' tensors (`intermediates`, in tape
    order) and every node's value (`values`: tensors, or numbers for constants); with
    `track_constants`, the rounded constants as tensors."""

    outputs: tuple[torch.Tensor, ...]
    intermediates: tuple[torch.Tensor, ...]
    values: tuple[Any, ...] = ()
    constants: tuple[torch.Tensor, ...] = ()


def compile_problem(problem: Problem) -> Tape:
    """The torch graph of the problem's expression, one output per component, as autograd,
    finite differences and the explanations run it."""
    return compile_exprs(problem.graphs, problem.variables)


def compile_exprs(
    exprs: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol], *, nonreal: bool = False
) -> Tape:
    """Compile `exprs` over `variables` into one tape that shares common subexpressions.

    Raises CompileError for a node no op-table row covers, and for a constant that is not
    real, unless `nonreal`: then such a constant is NaN, as a real evaluation of it would
    be (a derivative formula of asin(cosh(u)) holds sqrt(1 - cosh(u)**2) = i |sinh(u)|).
    """
    builder = _TapeBuilder(tuple(variables), nonreal)
    outputs = tuple(builder.add(expr) for expr in exprs)
    return Tape(variables=tuple(variables), nodes=tuple(builder.nodes), outputs=outputs)


class _TapeBuilder:
    """Builds the tape in one walk: every distinct subexpression is visited once, and a
    node's constancy is read from its arguments' (a bottom-up flag, not free_symbols at
    every node, which made compiling quadratic in the depth)."""

    def __init__(self, variables: tuple[sympy.Symbol, ...], nonreal: bool = False) -> None:
        self.variables = variables
        self.positions = {v: j for j, v in enumerate(variables)}
        self.nonreal = nonreal
        self.nodes: list[Node] = []
        self.index: dict[sympy.Expr, int] = {}
        self.constant: dict[sympy.Expr, bool] = {}

    def add(self, expr: sympy.Expr) -> int:
        """The node of `expr`, adding it and every subexpression it needs, arguments first
        and left to right; iterative, so no depth of nesting reaches Python's recursion
        limit."""
        if expr in self.index:  # memoised: a shared subexpression is one node
            return self.index[expr]
        self._flag(expr)
        stack: list[tuple[sympy.Expr, bool]] = [(expr, False)]
        while stack:
            current, ready = stack.pop()
            if current in self.index:
                continue
            if ready:
                self.nodes.append(self._node(current))
                self.index[current] = len(self.nodes) - 1
                continue
            stack.append((current, True))
            stack.extend((arg, False) for arg in reversed(self._needs(current)))
        return self.index[expr]

    def _needs(self, expr: sympy.Expr) -> tuple[sympy.Expr, ...]:
        """The subexpressions `expr`'s node takes as arguments."""
        if isinstance(expr, sympy.Symbol) or self.constant[expr]:
            return ()
        if isinstance(expr, sympy.Pow) and expr.exp == sympy.S.Half:
            return (expr.base,)
        return tuple(expr.args)

    def _flag(self, root: sympy.Expr) -> None:
        """Whether each subexpression of `root` holds no symbol, bottom-up, each once."""
        known = self.constant
        stack: list[tuple[sympy.Expr, bool]] = [(root, False)]
        while stack:
            expr, ready = stack.pop()
            if expr in known:
                continue
            if isinstance(expr, sympy.Symbol):
                known[expr] = False
            elif expr in self.index:
                known[expr] = self.nodes[self.index[expr]].value is not None
            elif ready or not expr.args:
                known[expr] = all(known[arg] for arg in expr.args)
            else:
                stack.append((expr, True))
                stack.extend((arg, False) for arg in expr.args if arg not in known)

    def _node(self, expr: sympy.Expr) -> Node:
        if isinstance(expr, sympy.Symbol):
            if expr not in self.positions:
                raise CompileError(expr)
            return Node(expr, input=self.positions[expr])
        if self.constant[expr]:
            # Evaluate the constant exactly first: N() of an unevaluated tan(pi) returns
            # rounding noise (~1e-154) where the value is exactly 0.
            value = complex(sympy.N(expr.doit(), 30))
            if value.imag != 0:
                if not self.nonreal:
                    raise CompileError(expr)
                return Node(expr, value=math.nan)
            return Node(expr, value=value.real)
        if isinstance(expr, sympy.Pow) and expr.exp == sympy.S.Half:
            # Note: SymPy holds sqrt(x) as x**(1/2); torch.sqrt is the sqrt row's function.
            return Node(expr, OPS["sqrt"], (self.index[expr.base],))
        op = BY_NODE.get(type(expr))
        if op is None:
            raise CompileError(expr)
        args = tuple(self.index[arg] for arg in expr.args)
        if op.scalar_second and op.nary:
            # A number may only come second; the n-ary rows (add, mul) commute, so put it last.
            # Keeping constants as numbers records the grad_fn a hand-written program would
            # (PowBackward0 and MulBackward0, not their tensor-exponent variants).
            args = tuple(sorted(args, key=lambda i: self.nodes[i].value is not None))
        return Node(expr, op, args)


def liftable(node: Node, position: int) -> bool:
    """Whether a constant operand at `position` of the op node may be a zero-tangent dual:
    all but a power's exponent, which keeps torch's fast scalar-exponent rule (and a dual
    exponent would bring log(base) into the tangent), and the Heaviside step's value at 0:
    the step detaches its argument and torch.heaviside has no forward-AD rule, so it must
    see no dual at all."""
    if node.op is None:
        return False
    if node.op.name == "heaviside":
        return False
    return not (position == 1 and node.op.name == "pow")


def apply_node(node: Node, args: list[Any], like: torch.Tensor) -> torch.Tensor:
    """The op node's torch function applied to `args` (tensors, or numbers for constants)."""
    op = node.op
    assert op is not None
    if not op.scalar_second:
        args = [_as_tensor(a, like) for a in args]
    fn = op.complex_torch if op.complex_torch is not None and like.is_complex() else op.torch
    if op.stacked:
        # A reduction is one call of torch's own reduction over all its arguments, which
        # torch.stack needs in one shape (a constant arrives as a number).
        if len({a.shape for a in args}) > 1:
            args = list(torch.broadcast_tensors(*args))  # type: ignore[no-untyped-call]
        return fn(*args)  # type: ignore[no-any-return]
    if op.nary:
        return reduce(fn, args)  # type: ignore[no-any-return]
    return fn(*args)  # type: ignore[no-any-return]


def _exact(node: Node, dtype: torch.dtype) -> bool:
    """Whether `dtype` holds the constant node's exact value (known once per constant: every
    run that tracks constants asks)."""
    assert node.value is not None
    value = node.value
    if not math.isfinite(value):  # a non-real constant: nothing to round
        return True
    return _EXACT.get((node.expr, value, dtype), lambda: _holds(node.expr, value, dtype))


def _holds(expr: sympy.Expr, value: float, dtype: torch.dtype) -> bool:
    if dtype == torch.float32 and float(torch.tensor(value, dtype=dtype)) != value:
        return False
    return bool(expr == sympy.Rational(*Fraction(value).as_integer_ratio()))


_EXACT: Memo[bool] = Memo(4096)


def _shaped(tensor: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    # Only a constant output needs broadcasting; others keep their own grad_fn at the root.
    return tensor if tensor.shape == shape else tensor.expand(shape)


def _as_tensor(value: Any, like: torch.Tensor) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    return torch.tensor(value, dtype=like.dtype, device=like.device)
