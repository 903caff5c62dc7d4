"""The result of one oracle check: which entries at which points the candidate got wrong, and the
simplest failing point; a frozen dataclass with strict JSON and a message for a failing test."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SHOWN = 3
"""Failures spelled out in the message (all are counted, and kept in .failures)."""


@dataclass(frozen=True)
class Failure:
    """One entry at one point where the candidate is off the truth by more than its bound.

    `point` maps each variable to its value (a nested list for an array variable), as the
    candidate received it; `entry` names the entry (the variable for a gradient, `y[0]/x`
    for a Jacobian entry, `jvp y[0]` for a forward-mode product); `mode` is how the
    candidate was asked (gradient, vjp, jvp, formula); `cotangent` is the vector the
    candidate's backward (or forward, for jvp) was given. `candidate` is None when the
    candidate returned a non-finite number."""

    point: Mapping[str, Any]
    entry: str
    candidate: float | None
    truth: float
    abs_error: float | None
    rel_error: float | None
    ulps: float | None
    bound: float
    mode: str = "gradient"
    cotangent: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "point": dict(self.point),
            "entry": self.entry,
            "mode": self.mode,
            "candidate": _json(self.candidate),
            "truth": _json(self.truth),
            "abs_error": _json(self.abs_error),
            "rel_error": _json(self.rel_error),
            "ulps": _json(self.ulps),
            "bound": _json(self.bound),
            "cotangent": [_json(c) for c in self.cotangent],
        }


@dataclass(frozen=True)
class CheckReport:
    """What `diffcompare.check` found.

    `ok` is True when no entry at any checked point is off by more than its bound (and a
    claimed formula is not refuted). `failures` lists every failing entry (at most
    `MAX_KEPT` of them; `failing_points` counts the points); `minimal` is the simplest point
    found that still fails (small integers, few digits, zeros elsewhere), with
    `minimal_failure` the failing entry there. `proof` says how a claimed formula was
    settled: "proved" (SymPy showed the difference is 0), "refuted" (a point where the
    claim and the truth differ) or "numerical" (no counterexample, no proof); "" for
    the other candidates. `notes` say what was not checked and why.
    """

    expr: str
    candidate: str  # gradient, vjp, function or formula
    dtype: str
    wrt: tuple[str, ...]
    entries: tuple[str, ...]
    points_checked: int
    points_skipped: int = 0
    failing_points: int = 0
    failures: tuple[Failure, ...] = ()
    minimal: Mapping[str, Any] | None = None
    minimal_failure: Failure | None = None
    proof: str = ""
    notes: tuple[str, ...] = ()
    seed: int = 0
    tolerance: str = ""  # how the bound was made, in words
    skipped: tuple[str, ...] = field(default=(), repr=False)  # why points were skipped

    @property
    def ok(self) -> bool:
        return not self.failures and self.proof != "refuted"

    def __bool__(self) -> bool:
        return self.ok

    def to_dict(self) -> dict[str, Any]:
        """The report as strict-JSON-ready data (no NaN or inf: null instead)."""
        return {
            "ok": self.ok,
            "expression": self.expr,
            "candidate": self.candidate,
            "dtype": self.dtype,
            "wrt": list(self.wrt),
            "entries": list(self.entries),
            "points_checked": self.points_checked,
            "points_skipped": self.points_skipped,
            "failing_points": self.failing_points,
            "failures": [f.to_dict() for f in self.failures],
            "minimal": None if self.minimal is None else dict(self.minimal),
            "minimal_failure": None
            if self.minimal_failure is None
            else self.minimal_failure.to_dict(),
            "proof": self.proof,
            "notes": list(self.notes),
            "seed": self.seed,
            "tolerance": self.tolerance,
        }

    def __str__(self) -> str:
        head = f"diffcompare.check: {self.candidate} of {self.expr!r} ({self.dtype})"
        if self.ok:
            proof = {"proved": ", proved symbolically", "numerical": ", not proved"}.get(
                self.proof, ""
            )
            lines = [f"{head}: ok at {self.points_checked} points{proof}"]
            lines += [f"  note: {note}" for note in self.notes]
            return "\n".join(lines)
        failing = {f.entry for f in self.failures}
        entries = [e for e in self.entries if e in failing] + sorted(failing - set(self.entries))
        lines = [
            f"{head}: FAILED at {self.failing_points} of {self.points_checked} points "
            f"(entries {', '.join(entries)})"
            if self.failures
            else f"{head}: FAILED"
        ]
        shown = [f for f in self.failures[:SHOWN] if f != self.minimal_failure]
        if self.minimal_failure is not None:
            lines.append("  simplest failing point (shrunk):")
            lines += _describe(self.minimal_failure, self.dtype)
        for failure in shown:
            lines.append("  failure:")
            lines += _describe(failure, self.dtype)
        more = len(self.failures) - len(shown) - (self.minimal_failure is not None)
        if more > 0:
            lines.append(f"  ... and {more} more failing entries")
        if self.minimal is not None:
            lines.append(f"  minimal failing point: {format_point(self.minimal, self.dtype)}")
        if self.tolerance:
            lines.append(f"  bound: {self.tolerance}")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def _describe(failure: Failure, dtype: str) -> list[str]:
    what = {"gradient": "d/d", "vjp": "vjp d/d", "jvp": "", "formula": "d/d"}.get(failure.mode, "")
    lines = [f"    {what}{failure.entry} at {format_point(failure.point, dtype)}"]
    if failure.cotangent:
        name = "tangent" if failure.mode == "jvp" else "cotangent"
        lines.append(f"      {name} {', '.join(f'{c:.6g}' for c in failure.cotangent)}")
    lines.append(f"      candidate {_number(failure.candidate)}")
    lines.append(f"      truth     {_number(failure.truth)}")
    errors = f"error {_short(failure.abs_error)}"
    if failure.rel_error is not None:
        errors += f" (relative {_short(failure.rel_error)}"
        errors += f", {_short(failure.ulps)} ulps)" if failure.ulps is not None else ")"
    lines.append(f"      {errors} > bound {_short(failure.bound)}")
    return lines


def format_point(point: Mapping[str, Any], dtype: str = "float64") -> str:
    """`x=1.5, y=[1, 2]`, each number in the shortest form that reads back to the value the
    candidate received in `dtype`."""
    return ", ".join(f"{name}={_value(value, dtype)}" for name, value in point.items())


def _value(value: Any, dtype: str) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value(v, dtype) for v in value) + "]"
    if isinstance(value, float):
        text = str(np.float32(value)) if dtype == "float32" else repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def _number(value: float | None) -> str:
    return "non-finite" if value is None else repr(value)


def _short(value: float | None) -> str:
    return "inf" if value is None else f"{value:.3g}"


def _json(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
