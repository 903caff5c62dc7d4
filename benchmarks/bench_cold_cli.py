"""The cold command line against the floor of importing torch and SymPy, side by side.

Not a test: it prints the median of several runs of each, interleaved so the machine's
load falls on both alike:
- floor: `python -c "import torch, sympy"`;
- cold CLI: `python -m diffcompare "x**2+3*x"` (the default run: 5 sampled points, every
  method, the reference, the table).
Target: the cold CLI <= 1.3x the floor.

Run from the repository root:  .venv/bin/python benchmarks/bench_cold_cli.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def _seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    floor_command = [sys.executable, "-c", "import torch, sympy"]
    cli_command = [sys.executable, "-m", "diffcompare", "x**2+3*x"]
    _seconds(floor_command)  # the file cache warm for both
    _seconds(cli_command)
    floor, cli = [], []
    for _ in range(args.runs):
        floor.append(_seconds(floor_command))
        cli.append(_seconds(cli_command))
    f, c = statistics.median(floor), statistics.median(cli)
    print(f"median of {args.runs} runs each, interleaved")
    print(f"floor  python -c 'import torch, sympy'     {f:6.2f} s  {[round(t, 2) for t in floor]}")
    print(f"cold   python -m diffcompare 'x**2+3*x'    {c:6.2f} s  {[round(t, 2) for t in cli]}")
    met = "met" if c <= 1.3 * f else "NOT met"
    print(f"ratio  {c / f:.2f}x  (target <= 1.3x: {met})")


if __name__ == "__main__":
    main()
