"""Building arrays: list literals, subscripts, broadcasting, @ and reductions, each costed
before it is built. A part of the builder's walk, kept apart because arrays are their own idea."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import NamedTuple, NoReturn, TypeAlias

import sympy

from diffcompare.errors import LimitError
from diffcompare.language.arrays import (
    Array,
    Shape,
    ShapeError,
    broadcast_shapes,
    components,
    described,
    elementwise,
    matmul_pairs,
    matmul_shape,
    shape_of,
    size_of,
    stacked,
    subscript,
)
from diffcompare.language.limits import (
    SUBSCRIPTS,
    Limits,
)
from diffcompare.language.ops import CONSTANTS, OPS, Op


class Both(NamedTuple):
    """One subexpression built twice: `expr` as SymPy evaluates it, `graph` as typed."""

    expr: sympy.Expr
    graph: sympy.Expr


Value: TypeAlias = "Both | Array[Both]"
MINUS_ONE = Both(sympy.S.NegativeOne, sympy.S.NegativeOne)


class ArrayBuilding:
    """The builder's array methods; Builder supplies the walk, refusals and node checks."""

    text: str
    source: str
    limits: Limits
    array_nodes: int
    build: Callable[[ast.expr], Value]
    _column: Callable[[ast.AST], int]
    _refuse: Callable[..., NoReturn]
    _checked: Callable[[ast.AST, sympy.Expr], sympy.Expr]
    _merged: Callable[..., sympy.Expr]
    _graph: Callable[..., sympy.Expr]

    def _spend(self, node: ast.AST, shape: Shape, nodes: int) -> None:
        """Count an array of `shape` about to be built from `nodes` new scalar nodes."""
        if size_of(shape) > self.limits.array_size:
            raise LimitError(
                "components of one array",
                self.limits.array_size,
                size_of(shape),
                column=self._column(node),
            )
        self.array_nodes += nodes
        if self.array_nodes > self.limits.array_nodes:
            raise LimitError(
                "scalar nodes built for arrays",
                self.limits.array_nodes,
                f"{self.array_nodes} by here",
                column=self._column(node),
            )

    def _each(self, node: ast.AST, fn: Callable[..., Both], values: Sequence[Value]) -> Value:
        """`fn` applied to each component of `values` broadcast together (once, to the values
        themselves, when all are scalars)."""
        if not any(isinstance(value, Array) for value in values):
            return fn(*values)
        try:
            shape = broadcast_shapes([shape_of(value) for value in values])
        except ShapeError as error:
            self._refuse(node, str(error), allowed=None)
        self._spend(node, shape, size_of(shape))
        return elementwise(fn, values)

    def _list(self, node: ast.List) -> Value:
        elements = [self.build(element) for element in node.elts]
        try:
            array = stacked(elements)
        except ShapeError as error:
            self._refuse(node, str(error), allowed=None)
        self._spend(node, array.shape, 0)
        return array

    def _subscript(self, node: ast.Subscript) -> Value:
        value = self.build(node.value)
        if not isinstance(value, Array):
            if isinstance(node.value, ast.Name) and node.value.id not in CONSTANTS:
                name = node.value.id
                self._refuse(
                    node,
                    f"{name} is a scalar, which has no subscripts; declare its shape with "
                    f"--shape {name}=N for a vector or {name}=RxC for a matrix",
                    allowed=None,
                )
            self._refuse(node, "a scalar has no subscripts", allowed=SUBSCRIPTS)
        indices = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        try:
            return subscript(value, [self._index(index) for index in indices])
        except ShapeError as error:
            self._refuse(node, str(error), allowed=SUBSCRIPTS)

    def _index(self, node: ast.expr) -> int:
        if isinstance(node, ast.Slice):
            self._refuse(node, "slices are not supported", allowed=SUBSCRIPTS)
        sign, number = 1, node
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            sign, number = (-1 if isinstance(node.op, ast.USub) else 1), node.operand
        if not isinstance(number, ast.Constant) or not isinstance(number.value, int | float):
            self._refuse(node, "an index must be a constant whole number", allowed=SUBSCRIPTS)
        literal = self.source[number.col_offset : number.end_col_offset]
        if isinstance(number.value, bool) or not re.fullmatch(r"\d+", literal):
            self._refuse(node, f"the index {literal} is not a whole number", allowed=SUBSCRIPTS)
        return sign * int(literal)

    def _matmul(self, node: ast.BinOp) -> Value:
        left, right = self.build(node.left), self.build(node.right)
        if not (isinstance(left, Array) and isinstance(right, Array)):
            side = "right" if isinstance(left, Array) else "left"
            self._refuse(
                node,
                f"the operator '@' multiplies vectors and matrices, and its {side} side is "
                "a scalar (multiply by a scalar with *)",
                allowed=None,
            )
        try:
            shape = matmul_shape(left.shape, right.shape)
        except ShapeError as error:
            self._refuse(node, str(error), allowed=None)
        self._spend(node, shape, size_of(shape) * 2 * left.shape[-1])
        # Each component is the dot product of a row and a column, one dot node in the graph.
        _, pairs = matmul_pairs(left, right)
        items = [self._reduced(node, OPS["dot"], pair) for pair in pairs]
        return Array(shape, tuple(items)) if shape else items[0]

    def _reduction(self, node: ast.Call, row: Op, arguments: list[Value]) -> Both:
        """The reduction `row` over the components of its arguments, as one node."""
        shapes = [shape_of(argument) for argument in arguments]
        if len(arguments) > 1 and (any(len(s) != 1 for s in shapes) or len(set(shapes)) > 1):
            self._refuse(
                node,
                f"{row.name} takes {len(arguments)} vectors of one length, got "
                + " and ".join(described(s) for s in shapes),
                allowed=None,
            )
        parts = [c for argument in arguments for c in components(argument)]
        self._spend(node, (), len(parts))
        return self._reduced(node, row, parts)

    def _reduced(self, node: ast.AST, row: Op, parts: Sequence[Both]) -> Both:
        # The expansion's sums and products are built as chains are, bounding their numbers.
        expr = row.build(
            *(part.expr for part in parts),
            add=partial(self._merged, node, OPS["add"]),
            mul=partial(self._merged, node, OPS["mul"]),
        )
        return Both(self._checked(node, expr), self._graph(node, row, *(p.graph for p in parts)))

    # -- the graph ------------------------------------------------------------------------
