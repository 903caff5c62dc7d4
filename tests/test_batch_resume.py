"""Resuming a batch run: the ids already in the output are skipped, a line cut short by an
interruption is dropped and recomputed, and the final output is the full run's."""

from __future__ import annotations

import json
from pathlib import Path

from diffcompare.batch import read_items, result_fields, run
from diffcompare.batch.work import run_item

ITEMS = [
    {"expr": "sin(x)*exp(x)", "at": {"x": 0.5}},
    {"expr": "x**2*y+sin(y)", "at": {"x": 1, "y": 2}},
    {"id": "third", "expr": "tanh(x)/(1+x**2)", "samples": 2},
    {"expr": "sqrt(x)", "at": [{"x": 0}, {"x": 4}]},
    {"expr": "max(x, y)", "at": {"x": 1, "y": 1}},
    {"expr": "[x0**2+4*x1, x1**3+2*x0]", "at": {"x0": 1, "x1": 2}, "jvp": [0, 1]},
]


def test_resume_computes_only_the_missing_ids(tmp_path: Path) -> None:
    lines = [json.dumps(item) for item in ITEMS]
    # The full run's lines, computed here one by one: what any backend must produce.
    full = {item.id: run_item(item.task()) for item in read_items(lines)}
    assert set(full) == {1, 2, "third", 4, 5, 6}

    # An interrupted run: three items written, a fourth cut off mid-line.
    out = tmp_path / "out.jsonl"
    done = [full[1], full["third"], full[5]]
    cut = json.dumps(full[2])[:57]
    out.write_text("".join(json.dumps(line) + "\n" for line in done) + cut, encoding="utf-8")

    summary = run(lines, workers=1, output=out)

    assert sorted(map(str, (line["id"] for line in summary.lines))) == ["2", "4", "6"]
    assert summary.resumed == 3
    written = [json.loads(text) for text in out.read_text(encoding="utf-8").splitlines()]
    assert len(written) == len(ITEMS)
    assert {line["id"]: result_fields(line) for line in written} == {
        key: result_fields(line) for key, line in full.items()
    }
    assert sum(summary.counts.values()) == len(ITEMS)

    again = run(lines, workers=1, output=out)  # nothing left to do: no worker starts
    assert again.lines == () and again.resumed == len(ITEMS)
    assert out.read_text(encoding="utf-8").count("\n") == len(ITEMS)


def test_no_resume_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps({"id": 1, "verdict": "agree"}) + "\n", encoding="utf-8")
    summary = run(['{"expr": "x", "bad": 1}'], output=out, resume=False)
    written = [json.loads(text) for text in out.read_text(encoding="utf-8").splitlines()]
    assert [line["verdict"] for line in written] == ["error"]
    assert summary.resumed == 0 and summary.counts["error"] == 1 and summary.exit_code == 0
