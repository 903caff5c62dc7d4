"""Seeded random expression texts built from the op table: the test corpus, and the oracle's
hypothesis strategies and conformance runs (the same generator, driven by a Random or by
hypothesis draws through the calls of `Chooser`).

The functions and their arities come from `diffcompare.language.ops.FUNCTIONS` and their real
domains from each row's `domain`, so a new row joins the corpus without an edit here.
Expressions stay sensible enough for the sampler to find in-domain points (integer
exponents mostly; a fractional one only over a positive base; arguments of a function with
a bounded domain usually squashed into it) without avoiding the hard cases: nested exp,
division, kinks, cancellation.

The variables are scalars, so a reduction (sum, mean, prod, norm, dot) reduces list literals
of 2 or 3 random subtrees, as in norm([x, sin(y)]) or dot([x, 1], [y, x]): the expression
stays scalar-valued and the reduction's node, its torch function and its partials are run.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar, cast

from diffcompare.oracle._engine import FUNCTIONS, Op

T = TypeVar("T")

VARIABLES = ("x", "y")
NUMBERS = ("1", "2", "3", "0.5", "0.1", "1.5", "2.5", "pi", "e")
INTEGER_EXPONENTS = ("2", "3", "-1", "-2", "4")
FRACTIONAL_EXPONENTS = ("0.5", "1.5", "-0.5", "(1/3)", "2.5")
OPERATORS = ("+", "-", "*", "/", "**")
MAX_DEPTH = 4


class Chooser(Protocol):
    """The random choices the generator makes (random.Random has them; so does the
    hypothesis driver in diffcompare.strategies)."""

    def random(self) -> float: ...

    def choice(self, seq: Sequence[T]) -> T: ...

    def randint(self, a: int, b: int) -> int: ...

    def randrange(self, stop: int) -> int: ...


class ExpressionGenerator:
    """Random expression texts over `functions` (name -> op row), the binary `operators`
    and the `variables`, nested at most `depth` deep; one Chooser (by default a Random
    seeded with `seed`) drives all."""

    def __init__(
        self,
        seed: int = 0,
        functions: Mapping[str, Op] = FUNCTIONS,
        *,
        variables: Sequence[str] = VARIABLES,
        operators: Sequence[str] = OPERATORS,
        depth: int = MAX_DEPTH,
        rng: Chooser | None = None,
    ) -> None:
        self.rng: Chooser = rng if rng is not None else cast(Chooser, random.Random(seed))
        self.functions = dict(sorted(functions.items()))
        self.variables = tuple(variables)
        self.operators = tuple(operators)
        self.depth = depth
        if not self.variables:
            raise ValueError("an expression needs at least one variable")
        if not self.functions and not self.operators:
            raise ValueError("no functions and no operators to build expressions from")
        unknown = [op for op in self.operators if op not in OPERATORS]
        if unknown:
            raise ValueError(f"unknown operators {unknown}: choose from {', '.join(OPERATORS)}")

    def expression(self, must: str | None = None) -> str:
        """One expression holding at least one variable, and the function `must` if named."""
        for _ in range(100):
            text = self._top(must)
            if any(_mentions(text, v) for v in self.variables):
                return text
        raise RuntimeError("could not generate an expression with a variable")

    def corpus(self, count: int) -> list[str]:
        """`count` expressions; the k-th holds function k (cyclically), so every function of
        the table appears once `count` reaches the number of functions."""
        names = list(self.functions)
        return [self.expression(must=names[k % len(names)]) for k in range(count)]

    # -- the tree -----------------------------------------------------------------------------

    def _top(self, must: str | None) -> str:
        if must is None:
            return self._tree(self.depth)
        inner = self._call(must, self.depth - 1)
        shape = self.rng.random()
        if shape < 0.3:
            return inner
        joins = tuple(op for op in ("+", "-", "*", "/") if op in self.operators)
        if shape < 0.7 and joins:
            other = self._tree(self.depth - 2)
            op = self.rng.choice(joins)
            left, right = (inner, other) if self.rng.random() < 0.5 else (other, inner)
            return f"({left}) {op} ({right})"
        if shape < 0.7:
            return inner
        return self._call(self.rng.choice(list(self.functions)), self.depth - 2, first=inner)

    def _tree(self, depth: int) -> str:
        roll = self.rng.random()
        if depth <= 0 or roll < 0.15:
            return self._leaf()
        if self.functions and (roll < 0.55 or not self.operators):
            return self._call(self.rng.choice(list(self.functions)), depth - 1)
        return self._binary(depth - 1)

    def _leaf(self) -> str:
        if self.rng.random() < 0.75:
            return self.rng.choice(self.variables)
        return self.rng.choice(NUMBERS)

    def _binary(self, depth: int) -> str:
        op = self.rng.choice(self.operators)
        if op == "**":
            return self._power(depth)
        left, right = self._tree(depth), self._tree(depth)
        for _ in range(100):  # x - x and x / x only waste a node
            if op not in "-/" or left != right:
                break
            right = self._tree(depth)
        return f"({left} {op} {right})"

    def _power(self, depth: int) -> str:
        base = self._tree(depth)
        if self.rng.random() < 0.8:
            return f"({base})**{self.rng.choice(INTEGER_EXPONENTS)}"
        # A fractional exponent only over a positive base, as in (1+x**2)**0.5.
        exponent = self.rng.choice(FRACTIONAL_EXPONENTS)
        return f"({self._positive(base)})**{exponent}"

    def _call(self, name: str, depth: int, first: str | None = None) -> str:
        """`name` applied to random arguments (the first one given as `first`, if any)."""
        row = self.functions[name]
        if row.stacked:
            return self._reduction(row, depth, first)
        low, high = row.arity
        count = low if high == low else self.rng.randint(low, low + 1 if high is None else high)
        args = [self._argument(row, depth, first if i == 0 else None) for i in range(count)]
        if name == "log" and count == 2:  # the second argument of log is a numeric base
            args[1] = self.rng.choice(("2", "10", "0.5"))
        return f"{name}({', '.join(args)})"

    def _reduction(self, row: Op, depth: int, first: str | None) -> str:
        """The reduction `row` over list literals of one random length (the first element
        given as `first`, if any)."""
        length = self.rng.randint(2, 3)
        lists = []
        for k in range(row.reduces):
            items = [self._tree(depth) for _ in range(length)]
            if k == 0 and first is not None:
                items[0] = first
            lists.append(f"[{', '.join(items)}]")
        return f"{row.name}({', '.join(lists)})"

    def _argument(self, row: Op, depth: int, sub: str | None = None) -> str:
        """`sub` (default: a random subtree), usually moved into the row's domain (never
        always: the sampler must still find the in-domain points of an unmoved argument)."""
        sub = self._tree(depth) if sub is None else sub
        low, high = row.domain
        if (low, high) == (-math.inf, math.inf) or self.rng.random() < 0.3:
            return sub
        if not set(OPERATORS) <= set(self.operators):
            return sub  # moving it into the domain takes every operator
        if high == math.inf:
            return self._shift(self._positive(sub), low)
        if low == -math.inf:
            return f"{_number(high)} - {self._positive(sub)}"
        # s/(1+s**2) lies in [-1/2, 1/2]: scale it to 90% of the interval around its middle.
        middle, half = (low + high) / 2, 0.9 * (high - low)
        return self._shift(f"{_number(half)}*({sub})/(1 + ({sub})**2)", middle)

    def _positive(self, sub: str) -> str:
        return self.rng.choice(
            (f"1 + ({sub})**2", f"exp({sub})" if "exp" in self.functions else f"2 + ({sub})**2")
        )

    @staticmethod
    def _shift(text: str, by: float) -> str:
        return text if by == 0 else f"{_number(by)} + {text}"


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def _mentions(text: str, name: str) -> bool:
    """Whether `name` occurs as a whole word in `text` (so `exp` does not count as `x`)."""
    return re.search(rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])", text) is not None


def corpus(count: int, seed: int = 0, **options: Any) -> list[str]:
    """The seeded corpus of `count` expression texts (`options` as for ExpressionGenerator)."""
    return ExpressionGenerator(seed, **options).corpus(count)
