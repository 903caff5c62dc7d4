"""Renderers: a Report as a terminal table or as strict JSON. They format; they never compute."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from .report import AGREE, DISAGREE, Report
from .sweep import SweepReport


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
    """The human report: formulas, a table of each method at each point (value, error,
    ulps, digits kept, bound), why a point is not a plain agreement, timings, verdict."""
    lines = [f"expression   {report.expr}"]
    for name, formula in zip(report.wrt, report.derivative, strict=True):
        lines.append(f"d/d{name:<9}{formula}")
    if not report.simplified:
        lines.append("             (not simplified: simplification ran out of time)")
    lines.append(
        f"dtype        {report.dtype}; finite differences: {report.fd_scheme}; "
        f"reference: {report.reference_digits} digits"
    )
    lines.append("")

    header = ["point", "method", *(f"d/d{n}" for n in report.wrt)]
    header += ["|error|", "ulps", "digits", "bound", "check"]
    rows: list[list[str]] = [header]
    notes: list[str] = []
    for point in report.points:
        at = ", ".join(
            f"{n}={_number(v, 6)}" for n, v in zip(report.variables, point.at, strict=True)
        )
        rows.append(
            [at, "reference", *(_number(r) for r in point.reference), "", "", "", "", point.verdict]
        )
        for name, method in point.methods.items():
            closest = any(c == name for c in point.closest) and len(point.methods) > 1
            rows.append(
                [
                    "",
                    report.method_labels[name] + (" *" if closest else ""),
                    *(_number(v) for v in method.value),
                    _worst(method.abs_error),
                    _worst(method.ulps, 3),
                    _least(method.digits),
                    _worst(method.bound),
                    _mark(method.ok, method.status),
                ]
            )
        for name, sides in zip(report.wrt, point.one_sided, strict=False):
            if sides is not None:
                rows.append(
                    [
                        "",
                        f"one-sided d/d{name}",
                        f"left {_limit(sides.left)}",
                        f"right {_limit(sides.right)}",
                        "",
                        "",
                        "",
                        "",
                    ][: len(header)]
                )
                rows.append(
                    [
                        "",
                        "  difference quotients",
                        f"left {_limit(sides.left_quotient)}",
                        f"right {_limit(sides.right_quotient)}",
                        "",
                        "",
                        "",
                        "",
                    ][: len(header)]
                )
        if point.verdict != AGREE:
            notes.append(f"at {at}: {point.verdict} — {point.reason}")
        for name, method in point.methods.items():
            if method.note and not method.note.startswith(report.fd_scheme + ","):
                notes.append(f"at {at}: {report.method_labels[name]}: {method.note}")
    lines += _table(rows, indent="")
    if any(point.closest for point in report.points):
        lines.append("  * closest to the reference")
    lines += [""] + notes + ([""] if notes else [])

    timing = [["timing", "prepare", f"evaluate ({len(report.points)} points)", "runs"]]
    for name, t in report.timing.items():
        timing.append(
            [report.method_labels[name], _seconds(t.prepare), _seconds(t.evaluate), str(t.runs)]
        )
    lines += _table(timing, indent="")
    lines.append("")
    lines.append(_verdict_line(report))
    return "\n".join(lines)


def _worst(values: Sequence[float | None], digits: int = 2) -> str:
    present = [v for v in values if v is not None]
    return _number(max(present), digits) if present else "—"


def _least(values: Sequence[float | None]) -> str:
    present = [v for v in values if v is not None]
    return f"{min(present):.1f}" if present else "—"


def _limit(value: float | None) -> str:
    if value is None:
        return "undefined"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return _number(value, 8)


def _mark(ok: bool, status: str) -> str:
    if not ok:
        return "FAIL"
    return "ok" if status == "ok" else status.split(":")[0]


def _verdict_line(report: Report) -> str:
    count = len(report.points)
    counts = ", ".join(f"{n} {v}" for v, n in report.counts().items() if n)
    if report.verdict == AGREE:
        return (
            f"verdict: agree — every judged method is within its error bound of the "
            f"{report.reference_digits}-digit reference ({counts} of {count} point(s))"
        )
    if report.verdict == DISAGREE:
        bad = [p for p in report.points if p.verdict == DISAGREE]
        return f"verdict: disagree at {len(bad)} of {count} point(s) — {bad[0].reason}"
    return f"verdict: {report.verdict} — {report.points[0].reason}"


def to_markdown(report: Report) -> str:
    """The report as Markdown: the formulas, one table row per method and point, the verdict
    (what Jupyter shows for a Report)."""
    lines = [f"**{report.text}** — verdict: **{report.verdict}**", ""]
    for name, formula in zip(report.wrt, report.derivative, strict=True):
        lines.append(f"- ∂/∂{name} = `{formula}`")
    lines += [
        f"- dtype {report.dtype}; finite differences: {report.fd_scheme}; reference: "
        f"{report.reference_digits} digits",
        "",
        "| point | method | "
        + " | ".join(f"∂/∂{n}" for n in report.wrt)
        + " | \\|error\\| | ulps | digits | bound | check |",
        "|---|---|" + "---|" * len(report.wrt) + "---|---|---|---|---|",
    ]
    for point in report.points:
        at = ", ".join(
            f"{n}={_number(v, 6)}" for n, v in zip(report.variables, point.at, strict=True)
        )
        cells = [at, "reference", *(_number(r) for r in point.reference), "", "", "", ""]
        lines.append("| " + " | ".join(cells + [f"**{point.verdict}**"]) + " |")
        for name, method in point.methods.items():
            cells = [
                "",
                report.method_labels[name],
                *(_number(v) for v in method.value),
                _worst(method.abs_error),
                _worst(method.ulps, 3),
                _least(method.digits),
                _worst(method.bound),
                _mark(method.ok, method.status),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    reasons = [p for p in report.points if p.verdict != AGREE]
    if reasons:
        lines.append("")
        lines += [f"- {p.verdict}: {p.reason}" for p in reasons]
    return "\n".join(lines) + "\n"


def sweep_to_json(report: SweepReport) -> str:
    return json.dumps(report.to_dict(), indent=2, allow_nan=False)


def sweep_to_text(report: SweepReport) -> str:
    """A sweep's summary: where it looked, how each method fared, the worst points."""
    kind = "grid" if report.grid else "seeded random"
    ranges = ", ".join(f"{n}={lo:g}:{hi:g}" for n, (lo, hi) in report.domain.items())
    lines = [f"expression   {report.expr}"]
    for name, formula in zip(report.wrt, report.derivative, strict=True):
        lines.append(f"d/d{name:<9}{formula}")
    lines += [
        f"sweep        {report.count:,} {kind} points in {ranges}; dtype {report.dtype}; "
        f"finite differences: {report.fd_scheme}; {report.seconds:.2f} s",
        f"points       {report.undefined:,} undefined, {report.on_edge:,} on a kink or domain "
        f"edge, {report.flagged:,} where two methods differ beyond their bounds",
        f"reference    at {report.referenced:,} points: a seeded subsample of {report.sampled:,} "
        f"plus every flagged, non-finite, on-edge and most discrepant point "
        f"({report.reference_seconds:.2f} s)",
        "",
    ]
    rows = [
        ["method", "ulps p50", "p90", "p99", "max", "rel. error max", "outside bound", "worst at"]
    ]
    for name, m in report.methods.items():
        ulps, rel = m.percentiles["ulps"], m.percentiles["rel_error"]
        worst = "—"
        if m.worst is not None:
            worst = ", ".join(
                f"{n}={_number(v, 8)}" for n, v in zip(report.variables, m.worst.at, strict=True)
            )
        rows.append(
            [
                report.method_labels[name],
                *(_number(ulps[q], 3) for q in ("p50", "p90", "p99", "max")),
                _number(rel["max"], 2),
                str(m.failures),
                worst,
            ]
        )
    lines += _table(rows, indent="")
    lines.append("")
    counts = ", ".join(f"{n} {v}" for v, n in report.counts.items() if n)
    lines.append(f"referenced points: {counts}")
    for point in report.disagreements[:5]:
        at = ", ".join(
            f"{n}={_number(v, 8)}" for n, v in zip(report.variables, point.at, strict=True)
        )
        lines.append(f"  disagree at {at}: {point.reason}")
    lines.append(f"verdict: {report.verdict}")
    return "\n".join(lines)
