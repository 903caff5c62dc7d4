"""One expression run through another AD engine and held to the 50-digit truth: the misses.

The truth and its bound come from the engine (diffcompare.compare): the reference
derivative at each point, and the bound autograd is held to there, the first-order
rounding bound of the same graph in the adapter's dtype; a correct engine computes that
graph with the same operations, so it is held to the same bound (plus the adapter's
`ulps`, if it declares any). Points where the expression is undefined or not
differentiable are skipped, not judged.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffcompare.oracle._engine import DiffCompareError, Problem, compare
from diffcompare.oracle.adapter import Adapter
from diffcompare.oracle.into_engine import Plan


@dataclass(frozen=True)
class Miss:
    """One entry at one point where the engine's gradient is off the truth by more than the
    bound (or the engine raised: then `got` is None and `raised` says what)."""

    expr: str
    point: Mapping[str, float]
    entry: str
    got: float | None
    truth: float
    bound: float
    raised: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "expr": self.expr,
            "point": dict(self.point),
            "entry": self.entry,
            "got": self.got if self.got is None or math.isfinite(self.got) else str(self.got),
            "truth": self.truth,
            "bound": self.bound,
            "raised": self.raised,
        }

    def describe(self) -> str:
        at = ", ".join(f"{k} = {_number(v)}" for k, v in self.point.items())
        if self.raised:
            return f"{self.expr} at {at}: the engine raised {self.raised}"
        error = abs(self.got - self.truth) if self.got is not None else math.nan
        return (
            f"{self.expr} at {at}: d/d{self.entry} got {_number(self.got)}, truth "
            f"{_number(self.truth)} (error {error:.3g} > bound {self.bound:.3g})"
        )


def _number(value: float | None) -> str:
    if value is None:
        return "None"
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.10g}"


@dataclass(frozen=True)
class Judged:
    """What one expression's run found: the misses, and how many points were judged."""

    misses: tuple[Miss, ...]
    points: int


def judge(
    adapter: Adapter,
    problem: Problem,
    plan: Plan,
    *,
    at: Sequence[Mapping[str, float]] | None = None,
    samples: int = 3,
    seed: int = 0,
    text: str | None = None,
) -> Judged:
    """Run `plan` (the compiled `problem`) through the adapter at the points `at`, or at
    `samples` seeded points where the expression is real and smooth, and judge each
    gradient entry against the reference."""
    try:
        report = compare(
            problem,
            at=list(at) if at is not None else None,
            samples=samples,
            seed=seed,
            dtype=adapter.dtype,
            timing_budget=0,
            simplify_seconds=0,
        )
    except DiffCompareError:  # no point where the expression is defined, say
        return Judged((), 0)
    function = plan.function(adapter)
    dtype = np.dtype(adapter.dtype)
    misses: list[Miss] = []
    judged = 0
    for p in report.points:
        bound = p.methods["autograd"].bound
        if p.verdict in ("undefined", "nondifferentiable") or None in p.reference or None in bound:
            continue
        judged += 1
        point = dict(zip(problem.names, p.at, strict=True))
        shown = text if text is not None else problem.text
        try:
            # The engine's warnings (overflow in a probe, say) are not findings: its
            # numbers are judged.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = adapter.gradient(function, point)
                got = [float(found[name]) for name in report.wrt]
        except Exception as error:  # the engine's own failure is a finding, not a crash
            said = (str(error).splitlines() or [""])[0][:120]
            truth, b = float(p.reference[0] or 0.0), float(bound[0] or 0.0)
            misses.append(Miss(shown, point, "", None, truth, b, f"{type(error).__name__}: {said}"))
            continue
        for name, value, reference, limit in zip(report.wrt, got, p.reference, bound, strict=True):
            assert reference is not None and limit is not None
            allowed = limit + adapter.ulps * float(np.spacing(dtype.type(abs(reference))))
            if not abs(value - reference) <= allowed:
                misses.append(Miss(shown, point, name, value, reference, allowed))
    return Judged(tuple(misses), judged)
