"""Memory over many calls on distinct expressions: the caches are bounded and no torch graph
outlives its call.

Not a test: it prints a table. It calls `diffcompare.compare` (one point) and
`diffcompare.explain` on `--calls` distinct expressions drawn from a few seeded families
(so every call prepares anew: parse, SymPy's derivative, compile), and prints, every tenth
of the way, the process's resident memory (VmRSS from /proc), the live tensors that carry a
grad_fn (a kept autograd graph) and the sizes of the engine's caches. Bounded means the RSS
levels off after the first few hundred calls (SymPy's and the engine's caches fill to their
limits) and the tensor count stays at 0.

Run from the repository root:  .venv/bin/python benchmarks/bench_memory.py [--calls 10000]
"""

from __future__ import annotations

import argparse
import gc
import random
import time

import torch

import diffcompare
from diffcompare import engine
from diffcompare.explanation import prepared as build

FAMILIES = (
    "sin({a}*x)+x**2/{b}",
    "exp(-x**2/{b})*cos({a}*x+y)",
    "log(1+x**2)*tanh({a}*x)-{b}*x*y",
    "sqrt(x**2+{a})/({b}+y**2)",
    "sum(x**{b})/{a}",
)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _graphs() -> int:
    """Live tensors that hold an autograd graph (a grad_fn)."""
    gc.collect()
    count = 0
    for obj in gc.get_objects():
        # issubclass of the type, not isinstance: isinstance asks lazy modules for __class__.
        if issubclass(type(obj), torch.Tensor) and obj.grad_fn is not None:
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(0)
    print(f"{'calls':>7} {'RSS MB':>8} {'graphs':>7} {'setups':>7} {'explain':>8} {'s/call':>7}")
    start = time.perf_counter()
    step = max(args.calls // 10, 1)
    for k in range(1, args.calls + 1):
        family = FAMILIES[k % len(FAMILIES)]
        text = family.format(a=k // len(FAMILIES) + 1, b=rng.randint(2, 9))
        shapes = {"x": (3,)} if text.startswith("sum") else None
        point = {"x": [0.3, 0.5, 0.7]} if shapes else {"x": 0.4, "y": 0.9}
        at = {name: point[name] for name in ("x", "y") if name in text}
        diffcompare.compare(text, at=at, shapes=shapes, simplify_seconds=0)
        if k % 10 == 0:  # explanations are slower: every tenth expression
            diffcompare.explain(text, at, shapes=shapes, simplify_seconds=0)
        if k % step == 0 or k == 1:
            per = (time.perf_counter() - start) / k
            print(
                f"{k:>7} {_rss_mb():>8.1f} {_graphs():>7} {len(engine._SETUPS):>7} "
                f"{len(build._PREPARED):>8} {per:>7.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
