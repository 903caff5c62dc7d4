"""Renderers: a Report as a terminal table, Markdown or strict JSON. They format, never compute."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from diffcompare.render.arrays import (
    Block,
    columns,
    elide,
    entry_labels,
    entry_shape,
    head,
    heads,
    point_arrays,
    vector_text,
    worst_entry,
)
from diffcompare.render.arrays import number as _number
from diffcompare.verdict import AGREE, DISAGREE

if TYPE_CHECKING:
    from diffcompare.report import Cost, MethodPoint, PointResult, Report
    from diffcompare.sweep import SweepReport

FORMULAS = 8
"""Formula lines shown; the JSON has every one."""
ONE_SIDED = 8
"""Entries whose one-sided derivatives are shown per point; the JSON has every one."""


def to_json(report: Report) -> str:
    """Strict JSON: a non-finite number is null (with a status saying why), never NaN."""
    return json.dumps(report.to_dict(), indent=2, allow_nan=False)


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


def _grid(rows: Sequence[Sequence[str]], indent: str) -> list[str]:
    """A matrix: row names to the left, numbers to the right of their columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent
        + "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def to_text(report: Report) -> str:
    """The human report: the target and its formulas; a table of each method at each point
    (each entry's value when there are at most four, else its worst entry, with the arrays
    as matrices below); why a point is not a plain agreement; timings; costs; verdict."""
    names = heads(report)
    lines = [f"expression   {report.expr}"]
    target = _target(report)
    if target:
        lines.append(f"{report.kind:<13}{target}")
    lines += _formula_lines(names, report.derivative, "--json")
    if not report.simplified:
        lines.append("             (not simplified: too large to tidy, or tidying was turned off)")
    lines.append(
        f"dtype        {report.dtype}; finite differences: {report.fd_scheme}; "
        f"reference: {report.reference_digits} digits"
    )
    lines.append("")
    lines += _table(_rows(report, names, marks=True), indent="")
    if any(point.closest for point in report.points):
        lines.append("  * closest to the reference")
    lines.append("")
    if not columns(report):
        lines += _array_lines(report)
    notes = _notes(report)
    lines += notes + ([""] if notes else [])
    lines += _work_lines(report)
    lines.append(_verdict_line(report))
    return "\n".join(lines)


def _work_lines(report: Report) -> list[str]:
    """The seconds each method took, then what its work grows with."""
    timing = [["timing", "prepare", f"evaluate ({len(report.points)} points)", "runs"]]
    for name, t in report.timing.items():
        label = report.method_labels[name]
        timing.append([label, _seconds(t.prepare), _seconds(t.evaluate), str(t.runs)])
    lines = _table(timing, indent="") + [""]
    if report.costs:
        costs = [["cost", "what the work grows with"]]
        costs += [[report.method_labels.get(c.method, c.method), _cost(c)] for c in report.costs]
        lines += _table(costs, indent="") + [""]
    return lines


def _target(report: Report) -> str:
    """What is differentiated, beside a gradient: the array's shape and the variables, or
    the vector of a vjp or jvp."""
    by = elide(report.wrt)
    dims = "×".join(map(str, entry_shape(report)))
    if report.kind == "jvp":
        return f"J·v with v = {vector_text(report.vector)} along {by}"
    if report.kind == "vjp":
        return f"vᵀJ with v = {vector_text(report.vector)} over the output components, by {by}"
    if report.kind == "derivative":
        return f"order {report.order}" + (f", {dims} (one per output)" if dims else "")
    return "" if report.kind == "gradient" else f"{dims} by {by}"


def _formula_lines(names: Sequence[str], formulas: Sequence[str], full: str) -> list[str]:
    shown = list(zip(names, formulas, strict=True))[:FORMULAS]
    width = max(12, *(len(name) + 3 for name, _ in shown))
    lines = [f"{name:<{width}}{formula}" for name, formula in shown]
    if len(formulas) > FORMULAS:
        more = len(formulas) - FORMULAS
        lines.append(f"{'':<{width}}… and {more} more (every formula is in {full})")
    return lines


def _at(report: Report, point: PointResult, limit: int | None = None) -> str:
    """The point as x=2, y=1; beyond `limit` variables the middle left out."""
    at = [f"{n}={_number(v, 6)}" for n, v in zip(report.variables, point.at, strict=True)]
    return elide(at, limit) if limit else ", ".join(at)


def _rows(report: Report, names: Sequence[str], marks: bool) -> list[list[str]]:
    """Each point's reference row, a row per method and the one-sided derivatives: with a
    cell per entry when there are few, else the worst entry's label and errors."""
    few = columns(report)
    header = ["point", "method", *(names if few else ["worst"])]
    header += ["|error|", "ulps", "digits", "bound", "check"]
    rows: list[list[str]] = [header]
    for point in report.points:
        entries = [_number(r) for r in point.reference] if few else [""]
        at = _at(report, point, None if few else 4)  # the arrays below give it in full
        rows.append([at, "reference", *entries, "", "", "", "", point.verdict])
        for name, method in point.methods.items():
            closest = marks and name in point.closest and len(point.methods) > 1
            cells = _entry_cells(method) if few else _worst_cells(report, method)
            label = report.method_labels[name] + (" *" if closest else "")
            rows.append(["", label, *cells, _mark(method.ok, method.status)])
        rows += _one_sided_rows(names, point)
    return [row + [""] * (len(header) - len(row)) for row in rows]


def _entry_cells(method: MethodPoint) -> list[str]:
    return [
        *(_number(v) for v in method.value),
        _worst(method.abs_error),
        _worst(method.ulps, 3),
        _least(method.digits),
        _worst(method.bound),
    ]


def _worst_cells(report: Report, method: MethodPoint) -> list[str]:
    k = worst_entry(method, entry_shape(report))
    if k is None:
        return ["—"] * 5
    digits = method.digits[k]
    return [
        entry_labels(report)[k] if method.abs_error[k] else "—",  # "—": every entry exact
        _number(method.abs_error[k], 2),
        _number(method.ulps[k], 3),
        "—" if digits is None else f"{digits:.1f}",
        _number(method.bound[k], 2),
    ]


def _one_sided_rows(names: Sequence[str], point: PointResult) -> list[list[str]]:
    edges = [(n, s) for n, s in zip(names, point.one_sided, strict=False) if s is not None]
    rows = []
    for name, sides in edges[:ONE_SIDED]:
        rows.append(
            ["", f"one-sided {name}", f"left {_limit(sides.left)}", f"right {_limit(sides.right)}"]
        )
        rows.append(
            [
                "",
                "  difference quotients",
                f"left {_limit(sides.left_quotient)}",
                f"right {_limit(sides.right_quotient)}",
            ]
        )
    if len(edges) > ONE_SIDED:
        rows.append(["", f"… and {len(edges) - ONE_SIDED} more one-sided entries (in the JSON)"])
    return rows


def _notes(report: Report) -> list[str]:
    notes = []
    for point in report.points:
        at = _at(report, point)
        if point.verdict != AGREE:
            notes.append(f"at {at}: {point.verdict} — {point.reason}")
        for name, method in point.methods.items():
            if method.note and not method.note.startswith(report.fd_scheme + ","):
                notes.append(f"at {at}: {report.method_labels[name]}: {method.note}")
    return notes


def _array_lines(report: Report) -> list[str]:
    """Each point's reference array in the target's shape and, for each method, where it is
    not within its bound of it."""
    dims = "×".join(map(str, entry_shape(report)))
    lines = []
    for point in report.points:
        arrays = point_arrays(report, point)
        lines.append(f"at {_at(report, point)}: the {report.kind} ({dims})")
        for block in arrays.blocks:
            lines.append(f"  {block.title}")
            lines += _grid(block.rows, indent="    ") if block.rows else []
        if arrays.within:
            lines.append(f"  within its bound at every entry: {', '.join(arrays.within)}")
        if arrays.folded:
            lines.append("  (the corners only: the full array is in --json)")
        lines.append("")
    return lines


def _cost(cost: Cost) -> str:
    what = cost.what if cost.passes != 1 else _singular(cost.what)
    text = f"{cost.passes} {what}"
    if cost.sizes:
        low, high = min(cost.sizes), max(cost.sizes)
        size = str(low) if low == high else f"{low}–{high}"
        each = " each" if cost.passes > 1 else ""
        operations = "operation" if size == "1" else "operations"
        text += f", {size} {operations}{each} (expression swell)"
    return text


def _singular(what: str) -> str:
    """ "backward passes" as "backward pass", "formulas" as "formula"."""
    words = what.split(" ")
    for i, word in enumerate(words):
        if word.endswith("s"):
            words[i] = word[:-2] if word.endswith("sses") else word[:-1]
            break
    return " ".join(words)


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
    """The report as Markdown (what Jupyter shows for a Report): the target and formulas, a
    table row per method and point (a cell per entry when there are few, else the worst
    entry, with the arrays as tables below), the verdict's reasons, the costs."""
    names = heads(report, gradient=False)
    lines = [f"**{report.text}** — verdict: **{report.verdict}**", ""]
    target = _target(report)
    if target:
        lines.append(f"- {report.kind}: {target}")
    lines += [
        f"- {name} = `{formula}`"
        for name, formula in list(zip(names, report.derivative, strict=True))[:FORMULAS]
    ]
    if len(report.derivative) > FORMULAS:
        lines.append(f"- … and {len(report.derivative) - FORMULAS} more (in `report.to_dict()`)")
    lines += [
        f"- dtype {report.dtype}; finite differences: {report.fd_scheme}; reference: "
        f"{report.reference_digits} digits",
        "",
    ]
    rows = _rows(report, names, marks=False)
    rows[0] = [c.replace("|", "\\|") for c in rows[0]]
    for row in rows[1:]:
        if row[1] == "reference":
            row[-1] = f"**{row[-1]}**"
    lines += _markdown_table(rows)
    if not columns(report):
        lines += _markdown_arrays(report)
    reasons = [p for p in report.points if p.verdict != AGREE]
    if reasons:
        lines.append("")
        lines += [f"- {p.verdict}: {p.reason}" for p in reasons]
    if report.costs:
        lines.append("")
        lines += [
            f"- cost, {report.method_labels.get(c.method, c.method)}: {_cost(c)}"
            for c in report.costs
        ]
    return "\n".join(lines) + "\n"


def _markdown_table(rows: Sequence[Sequence[str]], numeric: bool = False) -> list[str]:
    rule = "---:|" if numeric else "---|"
    return [
        "| " + " | ".join(rows[0]) + " |",
        "|" + "---|" + rule * (len(rows[0]) - 1),
        *("| " + " | ".join(row) + " |" for row in rows[1:]),
    ]


def _markdown_arrays(report: Report) -> list[str]:
    lines = []
    for point in report.points:
        arrays = point_arrays(report, point)
        lines += ["", f"**at {_at(report, point)}**"]
        for block in arrays.blocks:
            lines += _markdown_block(block)
        if arrays.within:
            lines += ["", f"within its bound at every entry: {', '.join(arrays.within)}"]
        if arrays.folded:
            lines += ["", "(the corners only: the full array is in `report.to_dict()`)"]
    return lines


def _markdown_block(block: Block) -> list[str]:
    lines = ["", f"*{block.title}*"]
    return lines + (["", *_markdown_table(block.rows, numeric=True)] if block.rows else [])


def sweep_to_json(report: SweepReport) -> str:
    return json.dumps(report.to_dict(), indent=2, allow_nan=False)


def sweep_to_text(report: SweepReport) -> str:
    """A sweep's summary: where it looked, how each method fared, the worst points."""
    kind = "grid" if report.grid else "seeded random"
    ranges = ", ".join(f"{n}={lo:g}:{hi:g}" for n, (lo, hi) in report.domain.items())
    # A sweep's entries are a gradient's (labelled x) or a Jacobian's (labelled y[0]/x).
    jacobian = any("/" in label for label in report.wrt)
    names = [head(label, "jacobian", d=not jacobian) for label in report.wrt]
    lines = [f"expression   {report.expr}"]
    lines += _formula_lines(names, report.derivative, "--json")
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
