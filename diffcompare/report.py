"""The results of a comparison: small frozen dataclasses that renderers read and never compute."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from diffcompare.render.arrays import nested, worst
from diffcompare.render.json_values import json_ready
from diffcompare.verdict import (
    VERDICTS,
    overall,
)


class Shown(Sequence[str]):
    """Strings made on first use and kept: a report's derivative formulas, whose display
    form is tidied only when something reads them. Equal to any sequence of the same
    strings; pickles and copies as a plain tuple."""

    def __init__(self, make: Callable[[], tuple[str, ...]]) -> None:
        self._make: Callable[[], tuple[str, ...]] | None = make
        self._made: tuple[str, ...] = ()

    def _strings(self) -> tuple[str, ...]:
        make = self._make
        if make is not None:
            self._made, self._make = make(), None
        return self._made

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return self._strings()[index]

    def __len__(self) -> int:
        return len(self._strings())

    def __iter__(self) -> Iterator[str]:
        return iter(self._strings())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return self._strings() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._strings())

    def __repr__(self) -> str:
        return repr(self._strings())

    def __reduce__(self) -> tuple[Any, ...]:
        return (tuple, (self._strings(),))


class Flag:
    """A yes or no made on first use and kept (whether the shown formulas were simplified);
    equal to the bool, pickles and copies as one."""

    def __init__(self, make: Callable[[], bool]) -> None:
        self._make: Callable[[], bool] | None = make
        self._made = False

    def __bool__(self) -> bool:
        make = self._make
        if make is not None:
            self._made, self._make = bool(make()), None
        return self._made

    def __eq__(self, other: object) -> bool:
        return bool(self) == other

    def __hash__(self) -> int:
        return hash(bool(self))

    def __repr__(self) -> str:
        return repr(bool(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (bool, (bool(self),))


@dataclass(frozen=True)
class MethodPoint:
    """One method at one point: a value per entry (per wrt variable, for a gradient), its
    error against the reference (absolute, relative, in units in the last place of the
    dtype, and as significant digits kept) and the bound its error model allowed.
    Non-finite numbers, and errors where there is no reference, are None."""

    value: tuple[float | None, ...]
    abs_error: tuple[float | None, ...]
    rel_error: tuple[float | None, ...]
    ulps: tuple[float | None, ...]
    digits: tuple[float | None, ...]
    bound: tuple[float | None, ...]
    ok: bool
    status: str  # "ok", or why not, or why it was not judged
    note: str = ""  # how the method computed it (the finite-difference scheme and step)


@dataclass(frozen=True)
class OneSided:
    """At a point that may not be differentiable, along one variable: the one-sided
    derivatives from the reference (None where that side is outside the domain, ±inf where
    the derivative grows without bound) and the one-sided difference quotients in the
    working dtype."""

    left: float | None
    right: float | None
    left_quotient: float | None
    right_quotient: float | None


@dataclass(frozen=True)
class PointResult:
    at: tuple[float, ...]  # one value per variable of the problem, as the methods saw it
    value: float | None  # the expression's own value (reference), None outside the domain
    reference: tuple[float | None, ...]
    methods: dict[str, MethodPoint]
    differences: dict[str, tuple[float | None, ...]]  # "autograd - symbolic" -> per wrt
    verdict: str
    reason: str
    closest: tuple[str | None, ...] = ()  # per entry: the method nearest the reference
    one_sided: tuple[OneSided | None, ...] = ()  # per entry, where the point sits on an edge
    outputs: tuple[float | None, ...] = ()  # every output component's value (reference)


@dataclass(frozen=True)
class Cost:
    """What one method's work grows with, in words and numbers: symbolic differentiation
    takes one formula per entry, of `sizes` operations each (the expression swell), reverse
    mode one backward pass per seed, forward mode one pass per direction, finite differences
    their evaluations of the expression per point."""

    method: str
    passes: int  # formulas, backward passes, forward passes or evaluations per point
    what: str  # what `passes` counts, e.g. "backward passes"
    sizes: tuple[int, ...] = ()  # symbolic: operations in each formula


@dataclass(frozen=True)
class Timing:
    """Seconds one method spent: preparing (derive or compile) and evaluating all points
    once, the best of `runs` timed evaluations."""

    prepare: float
    evaluate: float
    runs: int


@dataclass(frozen=True)
class Report:
    expr: str
    text: str
    variables: tuple[str, ...]
    wrt: tuple[str, ...]
    derivative: Sequence[str]  # SymPy's str of each partial, as shown (made when first read)
    simplified: bool | Flag  # whether every shown formula was tidied (made when first read)
    points: tuple[PointResult, ...]
    timing: dict[str, Timing]
    method_labels: dict[str, str]
    dtype: str
    reference_digits: int
    fd_scheme: str = "central"
    kind: str = "gradient"  # gradient, jacobian, hessian, derivative, vjp, jvp
    labels: tuple[str, ...] = ()  # one per entry; a gradient's are the wrt names
    shape: tuple[int, ...] = ()  # the shape the entries fill, row-major
    output_shape: tuple[int, ...] = ()  # the expression's shape
    order: int = 1
    vector: tuple[float, ...] = ()  # the v of a vjp or jvp
    costs: tuple[Cost, ...] = ()

    @property
    def verdict(self) -> str:
        return overall({p.verdict for p in self.points})

    def _repr_markdown_(self) -> str:
        from diffcompare.render.text import to_markdown

        return to_markdown(self)

    def counts(self) -> dict[str, int]:
        """How many points got each verdict."""
        return {v: sum(p.verdict == v for p in self.points) for v in VERDICTS}

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data: the shape `--json` prints (no NaN or inf;
        an infinite one-sided derivative is the string "+inf" or "-inf")."""

        labels = self.labels or self.wrt
        data: dict[str, Any] = {
            "expression": self.text,
            "parsed": self.expr,
            "verdict": self.verdict,
            "counts": self.counts(),
            "variables": list(self.variables),
            "wrt": list(self.wrt),
            "kind": self.kind,
            "order": self.order,
            "shape": list(self.shape),
            "output_shape": list(self.output_shape),
            "entries": list(labels),
            "derivative": dict(zip(labels, self.derivative, strict=True)),
            "simplified": bool(self.simplified),
            "dtype": self.dtype,
            "fd_scheme": self.fd_scheme,
            "reference_digits": self.reference_digits,
            "points": [
                point_dict(p, self.variables, labels, self.shape, self.output_shape)
                for p in self.points
            ],
            "timing": {
                name: {"prepare": t.prepare, "evaluate": t.evaluate, "runs": t.runs}
                for name, t in self.timing.items()
            },
            "costs": {
                c.method: {"passes": c.passes, "what": c.what, "sizes": list(c.sizes)}
                for c in self.costs
            },
        }
        if self.vector:
            data["vector"] = list(self.vector)
        return json_ready(data)  # type: ignore[no-any-return]


def point_dict(
    point: PointResult,
    variables: tuple[str, ...],
    labels: tuple[str, ...],
    shape: tuple[int, ...] | None = None,
    output_shape: tuple[int, ...] = (),
) -> dict[str, Any]:
    """One point as plain JSON-ready data: each entry by its label, and (given the shape)
    each method's values and the reference as nested lists of that shape, with the worst
    entry's index and errors."""

    def by_label(values: tuple[Any, ...]) -> dict[str, Any]:
        return dict(zip(labels, values, strict=True))

    data: dict[str, Any] = {
        "at": dict(zip(variables, point.at, strict=True)),
        "value": nested(point.outputs, output_shape) if point.outputs else point.value,
        "reference": by_label(point.reference),
        "verdict": point.verdict,
        "reason": point.reason,
        "closest": by_label(point.closest) if point.closest else None,
        "methods": {
            name: {
                "value": by_label(m.value),
                "abs_error": by_label(m.abs_error),
                "rel_error": by_label(m.rel_error),
                "ulps": by_label(m.ulps),
                "digits": by_label(m.digits),
                "bound": by_label(m.bound),
                "ok": m.ok,
                "status": m.status,
                "note": m.note,
            }
            for name, m in point.methods.items()
        },
        "differences": {pair: by_label(d) for pair, d in point.differences.items()},
        "one_sided": (
            by_label(tuple(_one_sided(s) for s in point.one_sided)) if point.one_sided else None
        ),
    }
    if shape is not None:
        data["reference_array"] = nested(point.reference, shape)
        for name, m in point.methods.items():
            data["methods"][name]["array"] = nested(m.value, shape)
            data["methods"][name]["worst"] = worst(m, shape)
    return data


def _one_sided(sides: OneSided | None) -> dict[str, float | str | None] | None:
    if sides is None:
        return None
    return {
        "left": _json_number(sides.left),
        "right": _json_number(sides.right),
        "left_quotient": _json_number(sides.left_quotient),
        "right_quotient": _json_number(sides.right_quotient),
    }


def _json_number(value: float | None) -> float | str | None:
    if value is None or math.isnan(value):
        return None
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return value


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
