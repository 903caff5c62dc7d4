"""The results of a comparison: small frozen dataclasses that renderers read and never compute."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

AGREE, DISAGREE, UNDEFINED, NONDIFFERENTIABLE = (
    "agree",
    "disagree",
    "undefined",
    "nondifferentiable",
)
VERDICTS = (AGREE, DISAGREE, UNDEFINED, NONDIFFERENTIABLE)


@dataclass(frozen=True)
class MethodPoint:
    """One method at one point: a value per wrt variable, its error against the reference
    (absolute, relative, in units in the last place of the dtype, and as significant digits
    kept) and the bound its error model allowed. Non-finite numbers, and errors where there
    is no reference, are None."""

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
    closest: tuple[str | None, ...] = ()  # per wrt: the method nearest the reference
    one_sided: tuple[OneSided | None, ...] = ()  # per wrt, where the point sits on an edge


@dataclass(frozen=True)
class Timing:
    """Seconds one method spent: preparing (derive or compile) and evaluating all points
    once, the best of `runs` timed evaluations."""

    prepare: float
    evaluate: float
    runs: int


def overall(verdicts: set[str]) -> str:
    """One verdict for many points: disagree if any point disagrees, else agree if any
    agrees, else nondifferentiable if any point is, else undefined."""
    for verdict in (DISAGREE, AGREE, NONDIFFERENTIABLE):
        if verdict in verdicts:
            return verdict
    return UNDEFINED


@dataclass(frozen=True)
class Report:
    expr: str
    text: str
    variables: tuple[str, ...]
    wrt: tuple[str, ...]
    derivative: tuple[str, ...]  # SymPy's str of each partial, as shown
    simplified: bool
    points: tuple[PointResult, ...]
    timing: dict[str, Timing]
    method_labels: dict[str, str]
    dtype: str
    reference_digits: int
    fd_scheme: str = "central"

    @property
    def verdict(self) -> str:
        return overall({p.verdict for p in self.points})

    def _repr_markdown_(self) -> str:
        from .render import to_markdown  # the renderer reads this module

        return to_markdown(self)

    def counts(self) -> dict[str, int]:
        """How many points got each verdict."""
        return {v: sum(p.verdict == v for p in self.points) for v in VERDICTS}

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data: the shape `--json` prints (no NaN or inf;
        an infinite one-sided derivative is the string "+inf" or "-inf")."""

        def by_wrt(values: tuple[Any, ...]) -> dict[str, Any]:
            return dict(zip(self.wrt, values, strict=True))

        return {
            "expression": self.text,
            "parsed": self.expr,
            "verdict": self.verdict,
            "counts": self.counts(),
            "variables": list(self.variables),
            "wrt": list(self.wrt),
            "derivative": dict(zip(self.wrt, self.derivative, strict=True)),
            "simplified": self.simplified,
            "dtype": self.dtype,
            "fd_scheme": self.fd_scheme,
            "reference_digits": self.reference_digits,
            "points": [point_dict(p, self.variables, self.wrt) for p in self.points],
            "timing": {
                name: {"prepare": t.prepare, "evaluate": t.evaluate, "runs": t.runs}
                for name, t in self.timing.items()
            },
        }


def point_dict(
    point: PointResult, variables: tuple[str, ...], wrt: tuple[str, ...]
) -> dict[str, Any]:
    """One point as plain JSON-ready data."""

    def by_wrt(values: tuple[Any, ...]) -> dict[str, Any]:
        return dict(zip(wrt, values, strict=True))

    return {
        "at": dict(zip(variables, point.at, strict=True)),
        "value": point.value,
        "reference": by_wrt(point.reference),
        "verdict": point.verdict,
        "reason": point.reason,
        "closest": by_wrt(point.closest) if point.closest else None,
        "methods": {
            name: {
                "value": by_wrt(m.value),
                "abs_error": by_wrt(m.abs_error),
                "rel_error": by_wrt(m.rel_error),
                "ulps": by_wrt(m.ulps),
                "digits": by_wrt(m.digits),
                "bound": by_wrt(m.bound),
                "ok": m.ok,
                "status": m.status,
                "note": m.note,
            }
            for name, m in point.methods.items()
        },
        "differences": {pair: by_wrt(d) for pair, d in point.differences.items()},
        "one_sided": (
            by_wrt(tuple(_one_sided(s) for s in point.one_sided)) if point.one_sided else None
        ),
    }


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
