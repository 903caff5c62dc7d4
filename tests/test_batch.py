"""Batch runs over a small corpus: on the local process pool and on a 2-worker Dask
LocalCluster of processes, with identical results, a hanging item that does not stall the
run, and malformed lines as error lines."""

from __future__ import annotations

import contextlib
import json
import socket
import time

from diffcompare.batch import result_fields, run
from diffcompare.batch.corpus import corpus

DEADLINE = 20.0
"""Long enough for any ordinary item on a loaded 2-core machine, far below the slow one."""

SLOW = {
    # A sweep of ten million points of a 2-variable expression: about ten minutes of
    # batched torch passes on this machine (one million take about a minute), O(n) however
    # fast the engine gets, so it is far past the deadline.
    "id": "slow",
    "expr": "norm([x, y, sin(x*y)])*exp(-x**2)",
    "domain": "x=-3:3,y=-3:3",
    "samples": 10_000_000,
}

HAND = [
    {"id": "sweep", "expr": "sin(x)/x", "domain": {"x": [0.1, 10]}, "samples": 2000},
    {"id": "hessian", "expr": "x**2*y+sin(y)", "hessian": True, "at": {"x": 1, "y": 2}},
    {"id": "vjp", "expr": "[x0**2+4*x1, x1**3+2*x0]", "at": {"x0": 1, "x1": 2}, "vjp": [1, 0]},
    {"id": "f32", "expr": "sin(x)*exp(x)", "dtype": "float32", "samples": 3, "seed": 4},
    {"id": "array", "expr": "norm(x)", "shapes": {"x": [2]}, "at": {"x": [1, 2]}},
    {"id": "log", "expr": "log(x)", "at": [{"x": -1}, {"x": 2}]},
    {"id": "kink", "expr": "abs(x)", "at": {"x": 0}},
    {"id": "order", "expr": "x**3", "order": 2, "wrt": "x", "at": {"x": 2}},
]
BAD = {
    "not-json": "{expr: x}",
    "unknown-function": {"id": "unknown-function", "expr": "foo(x)"},
    "unknown-field": {"id": "unknown-field", "expr": "x", "step": 1},
    "bad-order": {"id": "bad-order", "expr": "x**3", "order": 0},
    "wrong-variable": {"id": "wrong-variable", "expr": "x**2", "at": {"z": 1}},
}


def _lines() -> list[str]:
    items = [*corpus(10, seed=5), *HAND, SLOW]
    lines = [json.dumps(item) for item in items]
    lines.append(BAD["not-json"])  # its id is its line number
    lines += [json.dumps(item) for key, item in BAD.items() if key != "not-json"]
    return lines


NOT_JSON = len(HAND) + 12  # the line number of the malformed line: 10 corpus items, HAND, SLOW


def test_local_pool_and_dask_cluster() -> None:
    """One test, so the local run is made once (xdist may split a module's tests over
    workers, and a module fixture with them) and compared with the Dask run."""
    lines = _lines()
    start = time.perf_counter()
    summary = run(lines, workers=2, deadline=DEADLINE)
    seconds = time.perf_counter() - start
    by_id = {line["id"]: line for line in summary.lines}
    _every_item_has_one_line_and_corpus_items_are_judged(by_id)
    _malformed_lines_are_error_lines(by_id)
    _a_hanging_item_is_reported_and_the_run_goes_on(by_id, seconds)
    _a_dask_local_cluster_gives_identical_results(by_id, lines)


def _every_item_has_one_line_and_corpus_items_are_judged(by_id: dict[object, dict]) -> None:
    assert sorted(map(str, by_id)) == sorted(
        [str(NOT_JSON), *(str(k) for k in range(1, 11)), *(h["id"] for h in HAND), "slow"]
        + [k for k in BAD if k != "not-json"]
    )
    for k in range(1, 11):
        line = by_id[k]
        assert line["kind"] == "report", line
        assert line["verdict"] in ("agree", "disagree", "undefined", "nondifferentiable")
        assert line["result"]["expression"] == line["expression"]
        assert len(line["result"]["points"]) == 3
        assert "timing" not in line["result"] and "methods" in line["timing"]
    assert by_id["sweep"]["kind"] == "sweep" and by_id["sweep"]["result"]["points"] == 2000
    assert by_id["hessian"]["result"]["kind"] == "hessian"
    assert by_id["order"]["result"]["points"][0]["reference"] == {"x,x": 12.0}
    assert by_id["log"]["result"]["counts"]["undefined"] == 1
    assert by_id["kink"]["verdict"] == "nondifferentiable"


def _malformed_lines_are_error_lines(by_id: dict[object, dict]) -> None:
    assert by_id[NOT_JSON]["verdict"] == "error" and by_id[NOT_JSON]["line"] == NOT_JSON
    assert by_id[NOT_JSON]["error"].startswith("not a JSON object")
    assert "unknown function 'foo'" in by_id["unknown-function"]["error"]
    assert "unknown field 'step'" in by_id["unknown-field"]["error"]
    assert "order: expected a whole number from 1 to 6" in by_id["bad-order"]["error"]
    assert "z" in by_id["wrong-variable"]["error"]
    for key in BAD:
        line = by_id[NOT_JSON if key == "not-json" else key]
        assert "\n" not in line["error"] and "Traceback" not in line["error"]


def _a_hanging_item_is_reported_and_the_run_goes_on(
    by_id: dict[object, dict], seconds: float
) -> None:
    assert by_id["slow"]["verdict"] == "error"
    assert by_id["slow"]["error"] == f"deadline exceeded after {DEADLINE:g} s"
    # The items after it in the input finished, and the run did not wait for the sweep,
    # which alone takes minutes.
    assert all(by_id[key]["verdict"] == "error" for key in BAD if key != "not-json")
    assert seconds < DEADLINE + 100


def _a_dask_local_cluster_gives_identical_results(
    by_id: dict[object, dict], lines: list[str]
) -> None:
    # Dask's scheduler serves HTTP on 8787 unless told otherwise, and warns (an error here)
    # where another program holds it: hold it, as another program might.
    with socket.socket() as taken:
        with contextlib.suppress(OSError):  # already held by something else: the same test
            taken.bind(("0.0.0.0", 8787))
            taken.listen()
        summary = run(lines, workers=2, dask="local", deadline=DEADLINE)
    on_dask = {line["id"]: line for line in summary.lines}
    assert on_dask.keys() == by_id.keys()
    for key, line in by_id.items():
        assert result_fields(on_dask[key]) == result_fields(line), key
    assert summary.where == "a Dask LocalCluster of 2 workers"
