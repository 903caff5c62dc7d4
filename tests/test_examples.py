"""The examples and the quick benchmark run: each script exits 0 and prints its numbers."""

from __future__ import annotations

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
}


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
    result = run(script)
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
