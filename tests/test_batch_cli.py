"""`diffcompare corpus | diffcompare batch -` through the installed console script, the
commands' usage errors, and the input schema's checks (pure Python, no workers)."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from diffcompare.batch.corpus import corpus, functions, in_domain_points
from diffcompare.batch.items import parse_item, read_items
from diffcompare.errors import UsageError


def _script() -> str:
    found = shutil.which("diffcompare", path=str(Path(sys.executable).parent))
    assert found, "the diffcompare console script is not installed next to this Python"
    return found


def test_corpus_piped_into_batch(tmp_path: Path) -> None:
    script = shlex.quote(_script())
    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        f"{script} corpus --count 4 --seed 2 --ops sin,exp,log,sqrt,abs,max "
        f"| {script} batch - --output {shlex.quote(str(out))} --workers 2",
        shell=True,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [json.loads(text) for text in out.read_text(encoding="utf-8").splitlines()]
    disagree = any(line["verdict"] == "disagree" for line in lines)
    assert done.returncode == (1 if disagree else 0), done.stderr
    assert sorted(line["id"] for line in lines) == [1, 2, 3, 4]
    assert all(line["kind"] == "report" for line in lines), lines
    assert done.stderr.startswith("batch: 4 items (4 run now)"), done.stderr
    assert "Traceback" not in done.stderr


def test_corpus_is_seeded_and_its_points_are_in_domain() -> None:
    first = list(corpus(3, seed=11, ops=["log", "sqrt", "asin"]))
    assert first == list(corpus(3, seed=11, ops=["log", "sqrt", "asin"]))
    assert [item["id"] for item in first] == [1, 2, 3]
    for item in first:
        assert any(name in item["expr"] for name in ("log", "sqrt", "asin"))
        assert len(item["at"]) == 3
    assert in_domain_points("log(x)", 5, 0) and all(
        p["x"] > 0 for p in in_domain_points("log(x)", 5, 0)
    )
    assert in_domain_points("sqrt(-1 - x**2)", 3, 0) == []  # real nowhere
    with pytest.raises(UsageError, match="--ops sin,nope: 'nope' is not a function"):
        functions(["sin", "nope"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["batch", "missing.jsonl"], "missing.jsonl: cannot read it"),
        (["batch", "-", "--dask", "nowhere"], "--dask nowhere: give local or a scheduler"),
        (["batch", "-", "--workers", "0"], "--workers"),
        (["batch", "-", "--deadline", "0"], "--deadline"),
        (["batch", "-", "--no-resume"], "--no-resume goes with --output"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    done = subprocess.run(
        [_script(), *args], input="", capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("[1, 2]", "expected a JSON object"),
        ('{"expr": "x", "at": {"x": NaN}}', "NaN is not a JSON number"),
        ('{"expr": ""}', "expr: expected the expression as a non-empty string"),
        ('{"expr": "x", "id": 1.5}', "id: expected a string or an integer"),
        ('{"expr": "x", "at": {"x": 1}, "domain": "x=0:1"}', "use one or the other"),
        ('{"expr": "x", "domain": "x=0:1", "order": 2}', "order: a sweep"),
        ('{"expr": "x", "samples": 5000}', "samples: expected a whole number from 1 to 1000"),
        ('{"expr": "x", "grid": true}', "grid: goes with domain"),
        ('{"expr": "x", "at": {"x": "2"}}', "at x: expected a number"),
        ('{"expr": "x", "at": []}', "at: expected a point"),
        ('{"expr": "x", "hessian": 1}', "hessian: expected true or false"),
        ('{"expr": "x", "dtype": "float16"}', "dtype: choose from float64, float32"),
        ('{"expr": "x", "vjp": [1, "a"]}', "vjp: expected a number"),
        ('{"expr": "x", "shapes": {"x": [0]}}', "shapes x: expected a whole number"),
        ('{"expr": "x", "domain": {"x": [1, 0]}}', "domain x: need low < high"),
    ],
)
def test_malformed_items_name_their_fault(line: str, error: str) -> None:
    item = parse_item(line, 7)
    assert item.error is not None and error in item.error, item.error
    assert item.line == 7


def test_ids_default_to_line_numbers_and_repeats_are_errors() -> None:
    items = read_items(['{"expr": "x"}', "", '{"id": 1, "expr": "x**2"}', '{"expr": "y"}'])
    assert [(i.id, i.line, i.error is None) for i in items] == [
        (1, 1, True),
        (1, 3, False),
        (4, 4, True),
    ]
    assert items[1].error == "id 1 is given twice (first on line 1)"
    assert items[2].task() == {"id": 4, "line": 4, "expr": "y", "options": {}}
