"""The results of a comparison: small frozen dataclasses that renderers read and never compute."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

AGREE, DISAGREE, UNDEFINED = "agree", "disagree", "undefined"


@dataclass(frozen=True)
class MethodPoint:
    """One method at one point: a value per wrt variable, its error against the reference
    and the bound its error model allowed. Non-finite numbers are None."""

    value: tuple[float | None, ...]
    abs_error: tuple[float | None, ...]
    rel_error: tuple[float | None, ...]
    bound: tuple[float | None, ...]
    ok: bool
    status: str  # "ok", or why not: "outside its error bound", "non-finite value", ...


@dataclass(frozen=True)
class PointResult:
    at: tuple[float, ...]  # one value per variable of the problem
    value: float | None  # the expression's own value (reference), None outside the domain
    reference: tuple[float | None, ...]
    methods: dict[str, MethodPoint]
    differences: dict[str, tuple[float | None, ...]]  # "autograd - symbolic" -> per wrt
    verdict: str
    reason: str


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
    derivative: tuple[str, ...]  # SymPy's str of each partial, as shown
    simplified: bool
    points: tuple[PointResult, ...]
    timing: dict[str, Timing]
    method_labels: dict[str, str]
    dtype: str
    reference_digits: int

    @property
    def verdict(self) -> str:
        """`disagree` if any point disagrees; `undefined` if no point was defined; else `agree`."""
        verdicts = {p.verdict for p in self.points}
        if DISAGREE in verdicts:
            return DISAGREE
        if verdicts and verdicts <= {UNDEFINED}:
            return UNDEFINED
        return AGREE

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data: the shape `--json` prints (no NaN or inf)."""

        def by_wrt(values: tuple[float | None, ...]) -> dict[str, float | None]:
            return dict(zip(self.wrt, values, strict=True))

        return {
            "expression": self.text,
            "parsed": self.expr,
            "verdict": self.verdict,
            "variables": list(self.variables),
            "wrt": list(self.wrt),
            "derivative": dict(zip(self.wrt, self.derivative, strict=True)),
            "simplified": self.simplified,
            "dtype": self.dtype,
            "reference_digits": self.reference_digits,
            "points": [
                {
                    "at": dict(zip(self.variables, point.at, strict=True)),
                    "value": point.value,
                    "reference": by_wrt(point.reference),
                    "verdict": point.verdict,
                    "reason": point.reason,
                    "methods": {
                        name: {
                            "value": by_wrt(m.value),
                            "abs_error": by_wrt(m.abs_error),
                            "rel_error": by_wrt(m.rel_error),
                            "bound": by_wrt(m.bound),
                            "ok": m.ok,
                            "status": m.status,
                        }
                        for name, m in point.methods.items()
                    },
                    "differences": {pair: by_wrt(d) for pair, d in point.differences.items()},
                }
                for point in self.points
            ],
            "timing": {
                name: {"prepare": t.prepare, "evaluate": t.evaluate, "runs": t.runs}
                for name, t in self.timing.items()
            },
        }


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
