"""The oracle benchmark's quick run: it prints its table and meets its targets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_oracle_quick_prints_the_table_and_meets_the_targets() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_oracle.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    rows = re.findall(
        r"^float64\s+(diffcompare\.check|gradcheck)\s+(\d+)/(\d+)\s+\d+%\s+(\d+)/(\d+)",
        result.stdout,
        re.MULTILINE,
    )
    assert [r[0] for r in rows] == ["diffcompare.check", "gradcheck"], result.stdout
    check = rows[0]
    assert check[1] == check[2] and check[3] == "0", result.stdout  # all caught, no alarms
    assert "targets met" in result.stdout and "NOT" not in result.stdout
