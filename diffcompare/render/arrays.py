"""The entries of a derivative for people: each entry's name (d/dx, ∂²/∂x∂y, ∂y[0]/∂x1, J·v)
and a point's arrays as matrices in the target's shape, the corners only when large. Both
renderers (terminal and Markdown) read these; they format what the report holds, nothing more.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from diffcompare.language.problem import split_names

if TYPE_CHECKING:
    from diffcompare.report import MethodPoint, PointResult, Report

FOLD = 6
"""An axis of a matrix longer than this shows its first and last KEEP entries only."""
KEEP = 3
FOLD_VECTOR = 36
"""A one-axis array longer than this shows its first and last KEEP_VECTOR entries only."""
KEEP_VECTOR = 6
SLICES = 4
"""More matrices than this (a Hessian per output component) show the first two and the last."""
LISTED = 8
"""Entries listed, of a method's not within its bound, where the array is too large to show."""
WITHIN = "·"  # a method's entry within its bound of the reference

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def number(value: float | None, digits: int = 12) -> str:
    return "—" if value is None else f"{value:.{digits}g}"


def vector_text(values: Sequence[float], limit: int = 8) -> str:
    """A vector as [1, 0, 2.5], the middle left out beyond `limit` numbers."""
    shown = [number(v, 6) for v in values]
    if len(shown) > limit:
        shown = [*shown[: limit - 2], "…", shown[-1]]
    return "[" + ", ".join(shown) + "]"


def elide(items: Sequence[str], limit: int = 6) -> str:
    """x1, x2, x3 — the middle left out beyond `limit` names."""
    if len(items) > limit:
        items = [*items[: limit - 2], "…", items[-1]]
    return ", ".join(items)


def parts(label: str) -> tuple[str, list[str]]:
    """An entry's label as targets.py writes it, "y[0]/x,W[0,1]", as its output component
    ("" for a scalar expression) and the variables it is differentiated by, in order."""
    output, _, by = label.rpartition("/")
    return output, split_names(by)


def leibniz(report: Report, gradient: bool = True) -> bool:
    """Whether entries are written d/dx (a scalar function's gradient, where `gradient`, or a
    function of one variable) rather than ∂/∂x."""
    scalar = not report.output_shape
    return scalar and ((report.kind == "gradient" and gradient) or len(report.variables) == 1)


def head(label: str, kind: str, d: bool) -> str:
    """An entry's name: d/dx, d²/dx², ∂²/∂x∂y, ∂y[0]/∂x1, ∂(vᵀy)/∂x, J·v, (J·v)[0]."""
    output, by = parts(label)
    if kind == "jvp":
        return f"(J·v){output.removeprefix('y')}" if output else "J·v"
    if kind == "vjp":
        return f"∂(vᵀy)/∂{by[0]}"
    symbol = "d" if d else "∂"
    order = str(len(by)).translate(_SUPERSCRIPT) if len(by) > 1 else ""
    runs = "".join(
        symbol + name + (str(count).translate(_SUPERSCRIPT) if count > 1 else "")
        for name, count in ((n, len(list(g))) for n, g in itertools.groupby(by))
    )
    return f"{symbol}{order}{output}/{runs}"


def heads(report: Report, gradient: bool = True) -> list[str]:
    d = leibniz(report, gradient)
    return [head(label, report.kind, d) for label in entry_labels(report)]


def entry_labels(report: Report) -> tuple[str, ...]:
    """The entries' labels (a report built before targets had them: the wrt names)."""
    return report.labels or report.wrt


def entry_shape(report: Report) -> tuple[int, ...]:
    return report.shape if report.labels else (len(report.wrt),)


def columns(report: Report) -> bool:
    """Whether the report's table has a column per entry (few entries, in at most one axis:
    every scalar gradient), rather than a row per method with its worst entry and matrices."""
    return len(entry_labels(report)) <= 4 and len(entry_shape(report)) <= 1


def worst_entry(method: MethodPoint, shape: tuple[int, ...]) -> int | None:
    """The position of the entry worst relative to its bound (report.worst's choice)."""
    found = worst(method, shape)
    if found is None:
        return None
    position = 0
    for index, size in zip(found["index"], shape, strict=True):
        position = position * size + index
    return position


# -- a point's arrays ----------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One array to show: a title and rows of cells, the first row the column names and the
    first column the row names."""

    title: str
    rows: list[list[str]]


@dataclass(frozen=True)
class Arrays:
    """A point's arrays: the blocks to show, the methods within their bounds at every entry
    (nothing to show for them), and whether entries were left out (the corners only)."""

    blocks: list[Block]
    within: list[str]
    folded: bool


def within(method: MethodPoint, reference: Sequence[float | None], k: int) -> bool:
    error, bound = method.abs_error[k], method.bound[k]
    if error is not None and bound is not None:
        return error <= bound
    return method.value[k] == reference[k]


def point_arrays(report: Report, point: PointResult) -> Arrays:
    """The reference in the target's shape, and each method where it is not within its
    bound of it: in the same shape with a dot for the other entries, or where the array is
    too large to show whole, as a list of those entries."""
    labels, shape = entry_labels(report), entry_shape(report) or (1,)
    axes = axis_names(labels, shape, report.kind)
    reference = [number(v) for v in point.reference]
    outside: dict[str, list[str]] = {}
    agreeing: list[str] = []
    for name, method in point.methods.items():
        cells = [
            WITHIN if within(method, point.reference, k) else number(v)
            for k, v in enumerate(method.value)
        ]
        if all(c == WITHIN for c in cells):
            agreeing.append(report.method_labels[name])
        else:
            outside[report.method_labels[name]] = cells
    folded = _folded(shape)
    if len(shape) == 1 and not folded:
        title = f"reference, and each method where not within its bound ({WITHIN} within)"
        rows = _vector({"reference": reference, **outside}, axes[0])
        return Arrays([Block(title if outside else "reference", rows)], agreeing, folded)
    blocks = _shaped("reference", reference, shape, axes)
    for label, cells in outside.items():
        count = sum(c != WITHIN for c in cells)
        title = f"{label}, {count} {'entry' if count == 1 else 'entries'} not within its bound"
        if folded:
            blocks.append(Block(title, _listed(cells, reference, labels)))
        else:
            blocks += _shaped(f"{title} ({WITHIN} within)", cells, shape, axes)
    return Arrays(blocks, agreeing, folded)


def axis_names(labels: Sequence[str], shape: tuple[int, ...], kind: str) -> list[list[str]]:
    """A name for each index of each axis, read from the labels where each axis has its own
    part of them (y[0] / x / y for a vector's Hessian), else the index itself."""
    tokens = []
    for label in labels:
        output, by = parts(label)
        tokens.append(([output] if output else []) + ([] if kind in ("jvp", "derivative") else by))
    if not tokens or any(len(t) != len(shape) for t in tokens):
        return [[str(i) for i in range(size)] for size in shape]
    stride = [math.prod(shape[a + 1 :]) for a in range(len(shape))]
    return [[tokens[i * stride[a]][a] for i in range(size)] for a, size in enumerate(shape)]


def _folded(shape: tuple[int, ...]) -> bool:
    if len(shape) == 1:
        return shape[0] > FOLD_VECTOR
    return math.prod(shape[:-2]) > SLICES or max(shape[-2:]) > FOLD


def _kept(size: int, limit: int, keep: int) -> list[int | None]:
    """The indices shown of an axis of `size`: all, or the first and last `keep` around a
    None that stands for the rest."""
    if size <= limit:
        return list(range(size))
    return [*range(keep), None, *range(size - keep, size)]


def _shaped(
    title: str, cells: list[str], shape: tuple[int, ...], axes: list[list[str]]
) -> list[Block]:
    if len(shape) == 1:
        return [Block(title, _vector({title: cells}, axes[0]))]
    return _matrices(title, cells, shape, axes)


def _vector(cells: dict[str, list[str]], axis: list[str]) -> list[list[str]]:
    """A one-axis array as a column per name (reference first), a row per entry."""
    rows = [["", *cells]]
    for i in _kept(len(axis), FOLD_VECTOR, KEEP_VECTOR):
        if i is None:
            rows.append(["⋮"] * (len(cells) + 1))
        else:
            rows.append([axis[i], *(column[i] for column in cells.values())])
    return rows


def _matrices(
    title: str, cells: list[str], shape: tuple[int, ...], axes: list[list[str]]
) -> list[Block]:
    """An array of two or more axes as one matrix per index of the leading axes."""
    rows, cols = shape[-2:]
    indices = list(itertools.product(*(range(n) for n in shape[:-2])))
    kept: list[int | None] = list(range(len(indices)))
    if len(indices) > SLICES:
        kept = [0, 1, None, len(indices) - 1]
    blocks = []
    for s in kept:
        if s is None:
            blocks.append(Block(f"… {len(indices) - 3} more matrices", []))
            continue
        where = ", ".join(axes[a][i] for a, i in enumerate(indices[s]))
        offset = s * rows * cols
        grid = _matrix(cells[offset : offset + rows * cols], cols, axes[-2], axes[-1])
        blocks.append(Block(f"{title}, {where}" if where else title, grid))
    return blocks


def _matrix(
    cells: list[str], cols: int, row_names: list[str], col_names: list[str]
) -> list[list[str]]:
    kept_rows = _kept(len(row_names), FOLD, KEEP)
    kept_cols = _kept(cols, FOLD, KEEP)
    grid = [["", *("…" if j is None else col_names[j] for j in kept_cols)]]
    for i in kept_rows:
        if i is None:
            grid.append(["⋮", *("⋱" if j is None else "⋮" for j in kept_cols)])
            continue
        grid.append([row_names[i], *("…" if j is None else cells[i * cols + j] for j in kept_cols)])
    return grid


def _listed(cells: list[str], reference: list[str], labels: Sequence[str]) -> list[list[str]]:
    """A method's entries not within their bounds, by label, the first LISTED of them."""
    entries = [k for k, c in enumerate(cells) if c != WITHIN]
    rows = [["entry", "value", "reference"]]
    rows += [[labels[k], cells[k], reference[k]] for k in entries[:LISTED]]
    if len(entries) > LISTED:
        rows.append(["⋮", "", ""])
    return rows


def nested(flat: tuple[Any, ...], shape: tuple[int, ...]) -> Any:
    """Row-major `flat` as nested lists of `shape` (the one item for shape ())."""
    if not shape:
        return flat[0]
    size = len(flat) // shape[0]
    return [nested(flat[i * size : (i + 1) * size], shape[1:]) for i in range(shape[0])]


def worst(point: MethodPoint, shape: tuple[int, ...]) -> dict[str, Any] | None:
    """The entry with the largest error relative to its bound: its index in the shape and
    its errors (None when no entry has an error)."""
    scored = [
        (error / bound if bound else (0.0 if error == 0 else math.inf), k)
        for k, (error, bound) in enumerate(zip(point.abs_error, point.bound, strict=True))
        if error is not None and bound is not None
    ]
    if not scored:
        return None
    _, k = max(scored, key=lambda s: s[0])  # the first of equals
    index, rest = [], k
    for size in reversed(shape or (1,)):
        index.append(rest % size)
        rest //= size
    return {
        "index": list(reversed(index)) if shape else [],
        "abs_error": point.abs_error[k],
        "rel_error": point.rel_error[k],
        "ulps": point.ulps[k],
        "bound": point.bound[k],
    }
