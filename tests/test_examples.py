"""The examples and the quick benchmark run: each script exits 0 and prints its numbers."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# What each example must print, beyond exiting 0: the tutorial's numbers.
EXPECTED = {
    "explain_seed001.py": [r"367 · 7 = 2569", r"Checked: every gradient", r"PowBackward0"],
    "seed001_chain_rule.py": [
        r"fx\.grad:367\.0",
        r"x\.grad:2569\.0",
        r"reference \(50 digits\)\s+2569\.0$",
        r"autograd \(torch\)\s+2569\.0 ",
        r"verdict: agree",
    ],
    "seed003_two_variables.py": [
        r"x1\.grad:40\.0",
        r"x2\.grad:50\.0",
        r"reference \(50 digits\)\s+40\.0\s+50\.0$",
        r"autograd \(torch\)\s+40\.0 \(bound [^)]+\)\s+50\.0 ",
        r"verdict: agree",
    ],
    "gradient_oracle.py": [r"gradient_correct: pass", r"gradient_buggy: FAIL"],
    "oracle_relu.py": [r"^CustomReLU: pass", r"^BuggyReLU: FAIL", r"minimal failing point: x="],
    "oracle_linear.py": [
        r"^CustomLinear \(float64\): pass",
        r"^BuggyLinear \(float64\): FAIL",
        r"^CustomLinear \(float32\): pass",
        r"^BuggyLinear \(float32\): FAIL",
        r"FAILED at \d+ of \d+ points \(entries b\[0\]\)",
    ],
    "scaling.py": [r"^== sum of products: ", r"^== deep composition: ", r"\bbackward\b"],
}

# Arguments for an example whose default run is too long for a test.
ARGS = {"scaling.py": ("--quick",)}


def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_example_has_expectations() -> None:
    assert sorted(EXPECTED) == [p.name for p in EXAMPLES]


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script: Path) -> None:
    result = run(script, *ARGS.get(script.name, ()))
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    for pattern in EXPECTED[script.name]:
        assert re.search(pattern, result.stdout, re.MULTILINE), (
            f"{pattern!r} not in:\n{result.stdout}"
        )


def test_benchmark_quick_prints_a_ratio_table() -> None:
    result = run(ROOT / "benchmarks" / "bench_methods.py", "--quick")
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert re.search(
        r"^\s+task\s+points\s+diffcompare\s+time\s+baseline\s+time\s+ratio$",
        result.stdout,
        re.MULTILINE,
    ), result.stdout
    ratios = re.findall(
        r"^\s+(?:forward|gradient|derivative|full check)\s.*\s(\d+\.\d\d)$",
        result.stdout,
        re.MULTILINE,
    )
    # 4 expressions x (4 comparisons x 3 batch sizes + 1 full check), plus the 13-row summary.
    assert len(ratios) == 4 * 13 + 13, result.stdout
    assert all(float(r) > 0 for r in ratios)


def test_scaling_quick_shows_one_backward_pass_and_n_forward_passes() -> None:
    result = run(ROOT / "examples" / "scaling.py", "--quick")
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    families = re.split(r"^== ", result.stdout, flags=re.MULTILINE)[1:]
    names = [family.split(":", 1)[0] for family in families]
    assert names == ["sum of products", "deep composition"], result.stdout
    for family in families:
        lines = family.splitlines()
        # The counts table: its column line is the first with a "backward" column.
        top = next(i for i, line in enumerate(lines) if "backward" in line.split())
        columns = lines[top].split()
        rows = [line.split() for line in itertools.takewhile(str.strip, lines[top + 1 :])]
        counts = {int(row[0]): row for row in rows}
        assert sorted(counts) == [1, 3, 10, 30], family
        for n, row in counts.items():
            assert row[columns.index("formulas")] == str(n), family
            assert row[columns.index("backward")] == "1", family
            assert row[columns.index("passes")] == str(n), family
        per_variable = {int(row[columns.index("evaluations")]) / n for n, row in counts.items()}
        assert len(per_variable) == 1, family  # finite differences: a fixed number per variable
        # The seconds table: reverse mode timed at every n (a slow machine may skip others).
        top = next(i for i, line in enumerate(lines) if "fwd/rev" in line.split())
        columns = lines[top].split()
        rows = [line.split() for line in itertools.takewhile(str.strip, lines[top + 1 :])]
        assert [int(row[0]) for row in rows] == [1, 3, 10, 30], family
        assert all(float(row[columns.index("reverse")]) > 0 for row in rows), family
