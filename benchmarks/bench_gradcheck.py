"""diffcompare's gradcheck drop-in against torch.autograd.gradcheck on the oracle benchmark's
cases (benchmarks/bench_oracle.py: planted gradient bugs and delicate correct
implementations, as torch autograd.Functions), side by side per dtype.

Not a test: it prints per dtype and checker the planted bugs caught, the correct
implementations flagged (false alarms) and the time per case, then every case diffcompare's
gradcheck got wrong. Both checkers run at the same seeded points; torch's with its defaults.

Run from the repository root:
    .venv/bin/python benchmarks/bench_gradcheck.py            # every case, float64 and float32
    .venv/bin/python benchmarks/bench_gradcheck.py --quick    # a few cases, float64
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import bench_oracle as cases_from  # noqa: E402

from diffcompare.oracle.gradcheck import gradcheck  # noqa: E402


def run_ours(case: cases_from.Case, dtype: str) -> bool:
    """Whether diffcompare's gradcheck fails at any of the points."""
    fn = cases_from._as_function(case)
    tdtype = torch.float32 if dtype == "float32" else torch.float64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for inputs in cases_from._points(case, tdtype):
            if not gradcheck(fn, inputs, raise_exception=False):
                return True
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few cases, float64 only")
    args = parser.parse_args()
    cases = cases_from.torch_cases() + cases_from.numpy_cases() + cases_from.engine_cases()
    dtypes = ("float64", "float32")
    if args.quick:
        cases, dtypes = cases[:6], ("float64",)
    checkers: dict[str, Callable[[cases_from.Case, str], bool]] = {
        "diffcompare gradcheck": run_ours,
        "torch gradcheck": cases_from.run_gradcheck,
    }
    bugs = sum(c.bug for c in cases)
    correct = len(cases) - bugs
    print(f"{len(cases)} cases: {bugs} planted bugs, {correct} correct implementations")
    print(f"{'dtype':<8} {'checker':<22} {'bugs caught':>12} {'false alarms':>13} {'s/case':>8}")
    wrong: list[str] = []
    for dtype in dtypes:
        for label, checker in checkers.items():
            caught = alarms = 0
            start = time.perf_counter()
            for case in cases:
                flagged = checker(case, dtype)
                caught += case.bug and flagged
                alarms += (not case.bug) and flagged
                if flagged != case.bug and checker is run_ours:
                    what = "missed bug" if case.bug else "false alarm"
                    wrong.append(f"{dtype}: {what}: {case.origin} {case.name!r}")
            seconds = (time.perf_counter() - start) / len(cases)
            caught_pct = 100 * caught / max(bugs, 1)
            alarm_pct = 100 * alarms / max(correct, 1)
            print(
                f"{dtype:<8} {label:<22} {caught:>5}/{bugs:<3} {caught_pct:>3.0f}% "
                f"{alarms:>5}/{correct:<3} {alarm_pct:>3.0f}% {seconds:>8.2f}"
            )
    print()
    print("\n".join(wrong) if wrong else "diffcompare gradcheck: every bug caught, no false alarm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
