"""Renderers: a Report as a terminal table or as strict JSON. They format; they never compute."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .report import AGREE, DISAGREE, Report

_MARK = {True: "ok", False: "FAIL"}


def to_json(report: Report) -> str:
    """Strict JSON: a non-finite number is null (with a status saying why), never NaN."""
    return json.dumps(report.to_dict(), indent=2, allow_nan=False)


def _number(value: float | None, digits: int = 12) -> str:
    return "—" if value is None else f"{value:.{digits}g}"


def _seconds(value: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def to_text(report: Report) -> str:
    """The human report: formulas, a table of each method at each point, timings, verdict."""
    lines = [f"expression   {report.expr}"]
    for name, formula in zip(report.wrt, report.derivative, strict=True):
        lines.append(f"d/d{name:<9}{formula}")
    if not report.simplified:
        lines.append("             (not simplified: simplification ran out of time)")
    lines.append("")

    header = ["point", "method", *(f"d/d{n}" for n in report.wrt), "max |error|", "bound", "check"]
    rows: list[list[str]] = [header]
    for point in report.points:
        at = ", ".join(
            f"{n}={_number(v, 6)}" for n, v in zip(report.variables, point.at, strict=True)
        )
        rows.append(
            [at, "reference", *(_number(r) for r in point.reference), "", "", point.verdict]
        )
        for name, method in point.methods.items():
            errors = [e for e in method.abs_error if e is not None]
            bounds = [b for b in method.bound if b is not None]
            rows.append(
                [
                    "",
                    report.method_labels[name],
                    *(_number(v) for v in method.value),
                    _number(max(errors), 2) if errors else "—",
                    _number(max(bounds), 2) if bounds else "—",
                    _MARK[method.ok],
                ]
            )
    lines += _table(rows, indent="")
    lines.append("")

    timing = [["timing", "prepare", f"evaluate ({len(report.points)} points)", "runs"]]
    for name, t in report.timing.items():
        timing.append(
            [report.method_labels[name], _seconds(t.prepare), _seconds(t.evaluate), str(t.runs)]
        )
    lines += _table(timing, indent="")
    lines.append("")
    lines.append(_verdict_line(report))
    return "\n".join(lines)


def _verdict_line(report: Report) -> str:
    count = len(report.points)
    if report.verdict == AGREE:
        return (
            f"verdict: agree — every method is within its error bound of the "
            f"{report.reference_digits}-digit reference at {count} point(s)"
        )
    if report.verdict == DISAGREE:
        bad = [p for p in report.points if p.verdict == DISAGREE]
        return f"verdict: disagree at {len(bad)} of {count} point(s) — {bad[0].reason}"
    return f"verdict: {report.verdict} — {report.points[0].reason}"
