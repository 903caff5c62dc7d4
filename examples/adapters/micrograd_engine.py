"""A micrograd-style scalar AD engine (after karpathy/micrograd), with one planted bug behind
a flag: in the backward of `*`, when both operands are the same node (x*x), the second
accumulation is `=` where it must be `+=`, so the node gets one of its two contributions.

    x = Value(3.0); (x * x).backward(); x.grad   # 6.0, or 3.0 with BUGGY_MUL = True
"""

from __future__ import annotations

import math
from collections.abc import Callable

BUGGY_MUL = False  # the planted bug; set by the BUGGY adapter in micrograd_adapter.py


class Value:
    """A scalar with its gradient and the closure that pushes its gradient to its inputs."""

    def __init__(self, data: float, children: tuple[Value, ...] = (), op: str = "") -> None:
        self.data = float(data)
        self.grad = 0.0
        self._backward: Callable[[], None] = lambda: None
        self._prev = set(children)
        self._op = op

    def __add__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self.grad += other.data * out.grad
            if BUGGY_MUL and self is other:
                other.grad = self.data * out.grad  # the planted bug: `=` for `+=`
            else:
                other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent: float) -> Value:
        assert isinstance(exponent, int | float), "only numeric powers"
        out = Value(self.data**exponent, (self,), f"**{exponent}")

        def _backward() -> None:
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def _unary(self, value: float, slope: float, op: str) -> Value:
        """A function of one argument, given its value and its derivative at self."""
        out = Value(value, (self,), op)

        def _backward() -> None:
            self.grad += slope * out.grad

        out._backward = _backward
        return out

    def exp(self) -> Value:
        e = math.exp(self.data)
        return self._unary(e, e, "exp")

    def log(self) -> Value:
        return self._unary(math.log(self.data), 1 / self.data, "log")

    def sin(self) -> Value:
        return self._unary(math.sin(self.data), math.cos(self.data), "sin")

    def cos(self) -> Value:
        return self._unary(math.cos(self.data), -math.sin(self.data), "cos")

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return self._unary(t, 1 - t * t, "tanh")

    def relu(self) -> Value:
        return self._unary(max(self.data, 0.0), float(self.data > 0), "relu")

    def backward(self) -> None:
        # Order the graph so each node's gradient is complete before it is pushed further.
        order: list[Value] = []
        seen: set[Value] = set()

        def visit(v: Value) -> None:
            if v not in seen:
                seen.add(v)
                for child in v._prev:
                    visit(child)
                order.append(v)

        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()

    # Derived ops reuse the primitives, as micrograd does.
    def __neg__(self) -> Value:
        return self * -1

    def __sub__(self, other: Value | float) -> Value:
        return self + (-other)

    def __truediv__(self, other: Value | float) -> Value:
        return self * other**-1

    def __radd__(self, other: float) -> Value:
        return self + other

    def __rmul__(self, other: float) -> Value:
        return self * other

    def __rsub__(self, other: float) -> Value:
        return other + (-self)

    def __rtruediv__(self, other: float) -> Value:
        return other * self**-1

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"
