"""One item's work, the same in a local worker process and on a Dask worker: its report (or
sweep summary) as one output line, or its one-line error.

An output line holds the item's `id`, `line`, `expression`, `verdict` ("error" when it has
none), `kind` ("report", "sweep" or "error"), `worst` (the method whose error came nearest
its bound: that fraction, and the error in ulps), then `result` (Report.to_dict() or the
sweep's to_dict(), less their timings) or `error`, and last `seconds` (wall time of the
item) and `timing` (the report's own timings). Every field but those two is deterministic:
the same item gives the same line on any worker, local or remote.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

from diffcompare.errors import DiffCompareError

TIMING_FIELDS = ("seconds", "timing")
"""The fields of an output line that vary from run to run."""

WARM_UP = {"id": "warm-up", "line": 0, "expr": "sin(x)*exp(x)", "options": {"at": {"x": 0.5}}}
"""An item each worker runs before its first real one, so one-time start-up costs (lazy
imports, first torch and SymPy calls) do not count against an item's deadline."""


class BatchError(DiffCompareError):
    """The run itself cannot go on (a worker cannot start, a scheduler cannot be reached);
    an item's own fault is never one: it is that item's error line."""


def result_fields(line: dict[str, Any]) -> dict[str, Any]:
    """An output line without its timing fields: what must match across runs and backends."""
    return {k: v for k, v in line.items() if k not in TIMING_FIELDS}


def error_line(task: dict[str, Any], message: str, seconds: float = 0.0) -> dict[str, Any]:
    """The output line of an item that has no report: its one-line error."""
    return {
        "id": task["id"],
        "line": task["line"],
        "expression": task.get("expr", ""),
        "verdict": "error",
        "kind": "error",
        "error": " ".join(message.split()),
        "seconds": round(seconds, 6),
    }


def set_up_worker() -> None:
    """Make a worker process deterministic and fair: one torch thread (the pool gives one
    process per core; a result never depends on a thread count), then one warm-up item."""
    import torch

    torch.set_num_threads(1)
    run_item(WARM_UP)


def run_item(task: dict[str, Any]) -> dict[str, Any]:
    """The output line of one item (`Item.task()`); never raises for the item's own faults."""
    start = time.perf_counter()
    try:
        if "domain" in task["options"]:
            line = _sweep(task)
        else:
            line = _compare(task)
    except DiffCompareError as error:
        return error_line(task, error.format_message(), time.perf_counter() - start)
    except Exception as error:
        # A fault of the engine on this input, not of the run: that item's error line.
        message = f"internal error: {type(error).__name__}: {error}"
        return error_line(task, message, time.perf_counter() - start)
    line["seconds"] = round(time.perf_counter() - start, 6)
    return line


def _problem(task: dict[str, Any]) -> Any:
    from diffcompare.batch._engine import parse, parse_shapes

    shapes = task["options"].get("shapes")
    if isinstance(shapes, str):
        shapes = parse_shapes(shapes)
    return parse(task["expr"], shapes=shapes) if shapes else parse(task["expr"])


def _compare(task: dict[str, Any]) -> dict[str, Any]:
    from diffcompare import compare

    options = dict(task["options"])
    options.pop("shapes", None)
    # timing_budget=0: time each method only its minimum runs; simplify_seconds=0: the
    # derivative as SymPy gives it, since a time-bounded simplification could show a
    # different formula on a slower worker.
    report = compare(_problem(task), timing_budget=0, simplify_seconds=0, **options)
    result = report.to_dict()
    timing = result.pop("timing")
    worst = _worst(
        (name, method) for point in report.points for name, method in point.methods.items()
    )
    return _line(task, report.verdict, "report", worst, result, {"methods": timing})


def _sweep(task: dict[str, Any]) -> dict[str, Any]:
    from diffcompare.sweep import sweep

    options = dict(task["options"])
    options.pop("shapes", None)
    domain = options.pop("domain")
    samples = options.pop("samples", 10_000)
    report = sweep(_problem(task), domain, samples, simplify_seconds=0, **options)
    result = report.to_dict()
    timing = {k: result.pop(k) for k in ("seconds", "reference_seconds")}
    worst = _worst(
        (name, m.worst.methods[name])
        for name, m in report.methods.items()
        if m.worst is not None and name in m.worst.methods
    )
    return _line(task, report.verdict, "sweep", worst, result, timing)


def _worst(methods: Iterable[tuple[str, Any]]) -> dict[str, Any] | None:
    """Of (method name, MethodPoint) pairs: the value whose error is the largest fraction of
    its bound (how near the item came to a disagreement), with that error in ulps."""
    found = []
    for name, method in methods:
        for error, bound, ulps in zip(method.abs_error, method.bound, method.ulps, strict=True):
            if error is not None and bound and math.isfinite(error / bound):
                found.append((error / bound, ulps if ulps is not None else math.nan, name))
    if not found:
        return None
    share, ulps, name = max(found)
    return {"method": name, "of_bound": share, "ulps": None if math.isnan(ulps) else ulps}


def _line(
    task: dict[str, Any],
    verdict: str,
    kind: str,
    worst: dict[str, Any] | None,
    result: dict[str, Any],
    timing: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": task["id"],
        "line": task["line"],
        "expression": task["expr"],
        "verdict": verdict,
        "kind": kind,
        "worst": worst,
        "result": result,
        "seconds": 0.0,
        "timing": timing,
    }
