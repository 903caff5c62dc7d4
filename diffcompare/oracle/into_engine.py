"""A parsed expression compiled into another AD engine's calls, and printed back as text.

The compiler walks the problem's graph (the expression as typed, see Problem.graphs) once
into a plan: one step per distinct subexpression, so a shared subexpression (the x of x*x,
the sin(x) of sin(x)*sin(x)) is one value of the engine, as a hand-written program would
make it: an engine that mis-accumulates into a node used twice shows it. SymPy writes
a - b as a + (-1)*b and a / b as a * b**-1; the plan turns those back into the engine's
"-" and "/" where the adapter maps them. Nothing is evaluated from text: the plan holds op
names, argument positions and numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sympy

from diffcompare.oracle._engine import BY_NODE, OPS
from diffcompare.oracle.adapter import Adapter


class Unsupported(Exception):
    """The expression needs an op the adapter does not map."""

    def __init__(self, op: str) -> None:
        self.op = op
        super().__init__(f"the adapter has no {op!r}")


Arg = tuple[str, Any]  # ("ref", step index) or ("num", a Python number)


@dataclass(frozen=True)
class Step:
    kind: str  # "var", "const" or "op"
    name: str = ""  # the variable's, or the op's key in Adapter.ops
    value: float = 0.0  # a constant's
    args: tuple[Arg, ...] = ()


@dataclass(frozen=True)
class Plan:
    """An expression as steps over the adapter's ops; `ops` are the op keys it uses."""

    steps: tuple[Step, ...]
    ops: frozenset[str]

    def function(self, adapter: Adapter) -> Callable[..., Any]:
        """The expression as a function of keyword arguments (one engine value per
        variable) that calls only the adapter's ops and constant()."""

        def run(**values: Any) -> Any:
            done: list[Any] = []
            for step in self.steps:
                if step.kind == "var":
                    done.append(values[step.name])
                elif step.kind == "const":
                    done.append(adapter.constant(step.value))
                else:
                    args = [done[a] if kind == "ref" else a for kind, a in step.args]
                    done.append(adapter.ops[step.name](*args))
            return done[-1]

        return run


def compile_into(graph: sympy.Expr, adapter: Adapter) -> Plan:
    """The plan of `graph` over the adapter's ops; raises Unsupported for a missing op."""
    builder = _Builder(adapter)
    builder.add(graph)
    steps = builder.steps
    return Plan(tuple(steps), frozenset(s.name for s in steps if s.kind == "op"))


def _number(expr: sympy.Expr) -> float:
    return float(sympy.N(expr.doit(), 30))


def _exponent(expr: sympy.Expr) -> int | float:
    value = _number(expr)
    return int(value) if value.is_integer() else value


def _negated(term: sympy.Expr) -> sympy.Expr | None:
    """b when term is (-1)*b, as SymPy writes a subtracted b."""
    if isinstance(term, sympy.Mul) and len(term.args) == 2 and term.args[0] == -1:
        return term.args[1]
    return None


def _reciprocal(factor: sympy.Expr) -> sympy.Expr | None:
    """b when factor is b**-1 with b not a number, as SymPy writes a divisor b."""
    if isinstance(factor, sympy.Pow) and factor.exp == -1 and factor.base.free_symbols:
        return factor.base
    return None


class _Builder:
    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self.steps: list[Step] = []
        self.index: dict[sympy.Expr, int] = {}

    def add(self, expr: sympy.Expr) -> int:
        if expr not in self.index:
            self.index[expr] = self._step(expr)
        return self.index[expr]

    def _push(self, step: Step) -> int:
        self.steps.append(step)
        return len(self.steps) - 1

    def _op(self, name: str, *args: Arg) -> int:
        if not self.adapter.supports(name):
            raise Unsupported(name)
        return self._push(Step("op", name, args=args))

    def _step(self, expr: sympy.Expr) -> int:
        if isinstance(expr, sympy.Symbol):
            return self._push(Step("var", expr.name))
        if not expr.free_symbols:
            return self._push(Step("const", value=_number(expr)))
        if isinstance(expr, sympy.Add):
            return self._chain(expr.args, "+", "-", _negated)
        if isinstance(expr, sympy.Mul):
            return self._chain(expr.args, "*", "/", _reciprocal)
        if isinstance(expr, sympy.Pow):
            return self._power(expr)
        row = BY_NODE.get(type(expr))
        if row is None:
            raise Unsupported(type(expr).__name__)
        args = tuple(("ref", self.add(a)) for a in expr.args)
        return self._op(row.name, *args)

    def _chain(self, terms: tuple[sympy.Expr, ...], join: str, inverse: str, undo: Any) -> int:
        """An n-ary sum or product folded left: a term SymPy wrote as (-1)*b or b**-1 is
        subtracted or divided, where the adapter maps "-" or "/" (not the first term)."""
        result: int | None = None
        for term in terms:
            inner = undo(term) if result is not None and self.adapter.supports(inverse) else None
            operand = self.add(term if inner is None else inner)
            if result is None:
                result = operand
            else:
                result = self._op(
                    join if inner is None else inverse, ("ref", result), ("ref", operand)
                )
        assert result is not None
        return result

    def _power(self, expr: sympy.Pow) -> int:
        base = ("ref", self.add(expr.base))
        if expr.exp == sympy.S.Half and self.adapter.supports("sqrt"):
            return self._op("sqrt", base)
        if expr.exp.free_symbols:
            return self._op("**", base, ("ref", self.add(expr.exp)))
        return self._op("**", base, ("num", _exponent(expr.exp)))


# -- back to text -------------------------------------------------------------------------------

_NAMES: Mapping[type, str] = {row.node: row.name for row in OPS.values() if row.node is not None}


def to_text(expr: sympy.Expr) -> str:
    """`expr` (a graph as the parser builds it) in the input language, so that parsing the
    text gives the same graph: x*x stays x*x, a - b and a / b come back as typed."""
    text = _text(expr)
    return text[1:-1] if text.startswith("(") and _balanced(text[1:-1]) else text


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _text(expr: sympy.Expr) -> str:
    if isinstance(expr, sympy.Symbol):
        return str(expr.name)
    if expr is sympy.pi:
        return "pi"
    if expr is sympy.E:
        return "e"
    if isinstance(expr, sympy.Integer):
        return str(int(expr)) if expr >= 0 else f"({int(expr)})"
    if isinstance(expr, sympy.Rational):
        return f"({expr.p}/{expr.q})"
    if isinstance(expr, sympy.Float):
        return repr(float(expr)) if expr >= 0 else f"({float(expr)!r})"
    if isinstance(expr, sympy.Add):
        parts = [_text(expr.args[0])]
        for term in expr.args[1:]:
            inner = _negated(term)
            parts.append(f"- {_text(inner)}" if inner is not None else f"+ {_text(term)}")
        return f"({' '.join(parts)})"
    if isinstance(expr, sympy.Mul):
        if len(expr.args) == 2 and expr.args[0] == -1:
            return f"(-{_text(expr.args[1])})"
        out = _text(expr.args[0])
        for factor in expr.args[1:]:
            inner = _reciprocal(factor)
            out += f"/{_text(inner)}" if inner is not None else f"*{_text(factor)}"
        return f"({out})"
    if isinstance(expr, sympy.Pow):
        if expr.exp == sympy.S.Half:
            return f"sqrt({to_text(expr.base)})"
        return f"({_text(expr.base)}**{_text(expr.exp)})"
    name = _NAMES.get(type(expr))
    if name is None:
        raise Unsupported(type(expr).__name__)
    args = [to_text(a) for a in expr.args]
    row = OPS[name]
    if row.stacked and row.reduces == 2:
        half = len(args) // 2
        return f"{name}([{', '.join(args[:half])}], [{', '.join(args[half:])}])"
    if row.stacked:
        return f"{name}([{', '.join(args)}])"
    return f"{name}({', '.join(args)})"
