"""Arrays of the input language: vectors and matrices of scalars in row-major order, with
NumPy's broadcasting, list literals, constant subscripts and the matrix product's shapes.

Generic over the scalar, so the parser can keep its two SymPy forms in each component and
this module knows nothing of SymPy. Every refusal is a ShapeError with a one-line message.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
Shape = tuple[int, ...]


class ShapeError(ValueError):
    """Shapes that do not fit together, or an index outside one; the message says which."""


@dataclass(frozen=True)
class Array(Generic[T]):
    """A vector (shape (n,)) or a matrix (shape (rows, columns)) of scalars, row-major."""

    shape: Shape
    items: tuple[T, ...]

    @property
    def size(self) -> int:
        return len(self.items)

    def rows(self) -> list[T | Array[T]]:
        """A vector's items, or a matrix's rows as vectors."""
        if len(self.shape) == 1:
            return list(self.items)
        width = self.shape[1]
        return [Array((width,), self.items[i : i + width]) for i in range(0, self.size, width)]

    def columns(self) -> list[tuple[T, ...]]:
        """A matrix's columns."""
        width = self.shape[1]
        return [self.items[j::width] for j in range(width)]


def shape_of(value: object) -> Shape:
    """The value's shape: () for a scalar."""
    return value.shape if isinstance(value, Array) else ()


def components(value: T | Array[T]) -> tuple[T, ...]:
    """The value's scalars in row-major order: a scalar is its own one component."""
    return value.items if isinstance(value, Array) else (value,)


def described(shape: Shape) -> str:
    return f"shape {shape}" if shape else "a scalar"


def broadcast_shapes(shapes: Sequence[Shape]) -> Shape:
    """The shape that `shapes` broadcast to under NumPy's rules (aligned on the right, a
    size 1 or a missing dimension stretches); raises ShapeError naming two that do not."""
    result: list[int] = []
    for axis in range(1, max(len(s) for s in shapes) + 1):
        sizes = {s[-axis] for s in shapes if len(s) >= axis} - {1}
        if len(sizes) > 1:
            first, second = (s for s in shapes if len(s) >= axis and s[-axis] != 1)
            raise ShapeError(f"shapes {first} and {second} do not broadcast")
        result.append(sizes.pop() if sizes else 1)
    return tuple(reversed(result))


def size_of(shape: Shape) -> int:
    return math.prod(shape)


def elementwise(fn: Callable[..., T], values: Sequence[T | Array[T]]) -> T | Array[T]:
    """`fn` applied to the components of `values` broadcast together, in row-major order;
    a scalar when all of them are scalars. Raises ShapeError where they do not broadcast."""
    shape = broadcast_shapes([shape_of(v) for v in values])
    if not shape:
        return fn(*values)
    columns = [_stretched(v, shape) for v in values]
    return Array(shape, tuple(fn(*group) for group in zip(*columns, strict=True)))


def _stretched(value: T | Array[T], shape: Shape) -> Sequence[T]:
    """The value's components broadcast to `shape`, row-major."""
    items = components(value)
    own = shape_of(value)
    if own == shape:
        return items
    own = (1,) * (len(shape) - len(own)) + own
    strides = [size_of(own[k + 1 :]) if own[k] != 1 else 0 for k in range(len(own))]
    return [
        items[sum(i * s for i, s in zip(index, strides, strict=True))]
        for index in itertools.product(*(range(n) for n in shape))
    ]


def stacked(elements: Sequence[T | Array[T]]) -> Array[T]:
    """The list literal [a, b, ...]: a vector of scalars, or a matrix whose rows are vectors
    of one length. Raises ShapeError for an empty, ragged or three-dimensional list."""
    if not elements:
        raise ShapeError("an empty list has no value: a vector needs at least one element")
    shapes = [shape_of(e) for e in elements]
    if any(len(s) > 1 for s in shapes):
        raise ShapeError("a list of matrices would be a 3-d array: only vectors and matrices")
    if len(set(shapes)) > 1:
        first = shapes[0]
        k, other = next((k, s) for k, s in enumerate(shapes) if s != first)
        raise ShapeError(
            f"the list is ragged: element 1 is {described(first)}, element {k + 1} is "
            f"{described(other)} (a matrix is a list of rows of one length, [[a, b], [c, d]])"
        )
    items = tuple(c for e in elements for c in components(e))
    return Array((len(elements), *shapes[0]), items)


def subscript(value: Array[T], indices: Sequence[int]) -> T | Array[T]:
    """The component at `indices` (negative ones count from the end, as in Python), or a
    matrix's row for one index. Raises ShapeError for too many indices or one out of range."""
    shape = value.shape
    if len(indices) > len(shape):
        raise ShapeError(
            f"{len(indices)} indices for {described(shape)}: it takes at most {len(shape)}"
        )
    position = []
    for index, size in zip(indices, shape, strict=False):
        if not -size <= index < size:
            raise ShapeError(
                f"index {index} is out of range for {described(shape)} "
                f"(allowed: {-size} to {size - 1})"
            )
        position.append(index % size)
    if len(position) == len(shape):
        return value.items[sum(i * size_of(shape[k + 1 :]) for k, i in enumerate(position))]
    return value.rows()[position[0]]


def matmul_shape(left: Shape, right: Shape) -> Shape:
    """The shape of left @ right for vectors and matrices (a vector on the left is a row, on
    the right a column, and neither stays); raises ShapeError where the inner sizes differ."""
    inner = (left[-1], right[0])
    if inner[0] != inner[1]:
        raise ShapeError(
            f"shapes {left} and {right} do not fit '@': the inner sizes {inner[0]} and "
            f"{inner[1]} differ"
        )
    return left[:-1] + right[1:]


def matmul_pairs(left: Array[T], right: Array[T]) -> tuple[Shape, list[tuple[T, ...]]]:
    """The shape of left @ right and, for each of its components in row-major order, the
    row of `left` and then the column of `right` whose dot product it is."""
    shape = matmul_shape(left.shape, right.shape)
    rows = [left.items] if len(left.shape) == 1 else [components(r) for r in left.rows()]
    columns = [right.items] if len(right.shape) == 1 else right.columns()
    return shape, [(*row, *column) for row in rows for column in columns]
