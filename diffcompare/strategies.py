"""Hypothesis strategies for property-testing an AD engine against the truth: `expressions` (valid
texts built from the op table) and `points` (in-domain points away from kinks). The only module
of diffcompare that imports hypothesis (install the `oracle` extra)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from hypothesis import assume
from hypothesis import strategies as st

from diffcompare.oracle.generate import MAX_DEPTH, OPERATORS, VARIABLES, ExpressionGenerator

T = TypeVar("T")

__all__ = ["expressions", "points"]


class _Draws:
    """The generator's random choices as hypothesis draws, so failures shrink: a roll shrinks
    to 0 (a leaf), a choice to the first option, an integer to its least value."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw

    def random(self) -> float:
        return float(self.draw(st.floats(0.0, 1.0, exclude_max=True)))

    def choice(self, seq: Sequence[T]) -> T:
        return self.draw(st.sampled_from(list(seq)))  # type: ignore[no-any-return]

    def randint(self, a: int, b: int) -> int:
        return int(self.draw(st.integers(a, b)))

    def randrange(self, stop: int) -> int:
        return int(self.draw(st.integers(0, stop - 1)))


def _split_ops(ops: Iterable[str] | None) -> tuple[dict[str, Any], tuple[str, ...]]:
    from diffcompare.oracle._engine import FUNCTIONS

    if ops is None:
        return dict(FUNCTIONS), OPERATORS
    names = list(ops)
    unknown = [n for n in names if n not in FUNCTIONS and n not in OPERATORS]
    if unknown:
        raise ValueError(
            f"ops: {', '.join(unknown)} not in the op table (functions: "
            f"{', '.join(sorted(FUNCTIONS))}; operators: {' '.join(OPERATORS)})"
        )
    functions = {n: FUNCTIONS[n] for n in names if n in FUNCTIONS}
    return functions, tuple(op for op in OPERATORS if op in names)


def expressions(
    depth: int = MAX_DEPTH,
    variables: Sequence[str] = VARIABLES,
    ops: Iterable[str] | None = None,
) -> st.SearchStrategy[str]:
    """Expression texts that diffcompare.parse accepts, nested at most `depth` deep over the
    `variables`, using the functions and operators named in `ops` (default: the whole op
    table and + - * / **); each mentions at least one variable. Examples shrink towards a
    single variable."""
    functions, operators = _split_ops(ops)
    ExpressionGenerator(0, functions, variables=variables, operators=operators, depth=depth)

    @st.composite
    def build(draw: Any) -> str:
        generator = ExpressionGenerator(
            functions=functions,
            variables=variables,
            operators=operators,
            depth=depth,
            rng=_Draws(draw),
        )
        text = generator.expression()
        assume(_parses(text))
        return text

    return build()


def _parses(text: str) -> bool:
    from diffcompare.errors import DiffCompareError
    from diffcompare.language.parser import parse

    try:
        parse(text)
    except DiffCompareError:
        return False
    return True


def points(
    expr: str,
    *,
    domain: str | Mapping[str, Sequence[float]] | None = None,
    shapes: Mapping[str, Sequence[int]] | None = None,
    wrt: str | Sequence[str] | None = None,
    dtype: str = "float64",
    decimals: int = 2,
) -> st.SearchStrategy[dict[str, Any]]:
    """Points (variable -> number, or nested list for an array variable) in `domain` (text
    "x=-3:3,y=0.1:5" or a mapping; default -3:3), rounded to `decimals` places, where `expr`
    and its derivative are real and finite and no kink or domain edge is near."""
    import torch

    from diffcompare.oracle._engine import parse, prepare
    from diffcompare.oracle.points import ranges, usable_rows, user_point

    problem = parse(expr, shapes=shapes) if shapes else parse(expr)
    spans = ranges(problem, domain)
    prepared: list[Any] = []  # the engine's setup, made on the first draw (not at import)
    tdtype = torch.float32 if dtype == "float32" else torch.float64

    def coordinate(low: float, high: float) -> st.SearchStrategy[float]:
        return st.floats(low, high).map(lambda v: min(max(round(v, decimals), low), high))

    @st.composite
    def build(draw: Any) -> dict[str, Any]:
        row = tuple(draw(coordinate(lo, hi)) for lo, hi in spans)
        if not prepared:
            prepared.append(prepare(problem, wrt, dtype=dtype, simplify_seconds=0))
        kept = usable_rows(prepared[0], [row], tdtype)
        assume(bool(kept))
        return user_point(problem, kept[0])

    return build()
