"""Whole-engine conformance: random expressions over the ops an AD engine supports, run
through that engine, its gradients held to the 50-digit truth, failures shrunk.

    from diffcompare.oracle.conformance import conform
    report = conform(adapter, count=100, seed=0)
    assert report.ok, str(report)

The expressions come from the op table's generator (diffcompare.oracle.generate), over the
functions and operators the adapter maps, every function appearing once `count` reaches
their number. Each is parsed once, compiled into the engine's calls (into_engine: no text
is evaluated), and judged at a few seeded points (judge_engine). Each failure is shrunk to
a minimal expression and a simple point (shrink_expr); failures explained by a finding
already made (their ops include its ops) are counted against it rather than shrunk again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from diffcompare.oracle._engine import FUNCTIONS, DiffCompareError, UsageError, parse
from diffcompare.oracle.adapter import OPERATORS, Adapter
from diffcompare.oracle.generate import ExpressionGenerator
from diffcompare.oracle.into_engine import Unsupported, compile_into
from diffcompare.oracle.judge_engine import Miss, judge
from diffcompare.oracle.shrink_expr import shrink

MAX_FINDINGS = 6
"""Distinct failures shrunk per run; the rest are counted."""


@dataclass(frozen=True)
class Finding:
    """A minimal failing expression and point (`minimal`), the ops it uses, how many
    generated expressions failed in a way it explains, and the first of them (`example`)."""

    minimal: Miss
    ops: tuple[str, ...]
    failing: int
    example: Miss

    def to_dict(self) -> dict[str, Any]:
        return {
            "minimal": self.minimal.to_dict(),
            "ops": list(self.ops),
            "failing_expressions": self.failing,
            "example": self.example.to_dict(),
        }


@dataclass(frozen=True)
class OpResult:
    """One op: how many expressions used it, how many of those failed, and whether a
    minimal failing expression uses it (`suspect`)."""

    op: str
    tried: int
    failed: int
    suspect: bool


@dataclass(frozen=True)
class ConformReport:
    adapter: str
    dtype: str
    count: int
    seed: int
    expressions: int  # judged (at one point at least)
    skipped: int  # generated but not judged: no defined point, or an op the adapter lacks
    points: int
    failing: int  # expressions with a miss
    findings: tuple[Finding, ...]
    ops: tuple[OpResult, ...]

    @property
    def ok(self) -> bool:
        return self.failing == 0

    @property
    def failing_ops(self) -> tuple[str, ...]:
        """The ops of the minimal failing expressions, the likely culprits."""
        return tuple(dict.fromkeys(op for f in self.findings for op in f.ops))

    def to_dict(self) -> dict[str, Any]:
        return {
            "adapter": self.adapter,
            "dtype": self.dtype,
            "count": self.count,
            "seed": self.seed,
            "ok": self.ok,
            "expressions": self.expressions,
            "skipped": self.skipped,
            "points": self.points,
            "failing": self.failing,
            "failing_ops": list(self.failing_ops),
            "findings": [f.to_dict() for f in self.findings],
            "ops": {
                r.op: {"tried": r.tried, "failed": r.failed, "suspect": r.suspect} for r in self.ops
            },
        }

    def __str__(self) -> str:
        head = (
            f"conform {self.adapter} ({self.dtype}, seed {self.seed}): {self.expressions} "
            f"expressions at {self.points} points, {self.skipped} skipped"
        )
        if self.ok:
            lines = [head + ": every gradient within its bound"]
        else:
            lines = [
                head
                + f": {self.failing} failing, at "
                + ", ".join(f"`{op}`" for op in self.failing_ops)
            ]
            for f in self.findings:
                lines.append(f"  {' '.join(f.ops)}: {f.minimal.describe()}")
                lines.append(
                    f"    from {f.failing} failing expressions, e.g. {f.example.describe()}"
                )
        lines.append(
            "bound: per point and entry, the first-order rounding bound of the same graph in "
            f"{self.dtype} (what torch's autograd is held to)"
        )
        lines.append("per op (expressions using it: failing / tried):")
        cells = [f"{r.op} {r.failed}/{r.tried}{' <-' if r.suspect else ''}" for r in self.ops]
        for i in range(0, len(cells), 6):
            lines.append("  " + "   ".join(cells[i : i + 6]))
        return "\n".join(lines)


def conform(
    adapter: Adapter,
    *,
    count: int = 50,
    seed: int = 0,
    points: int = 3,
    depth: int = 3,
    variables: tuple[str, ...] = ("x", "y"),
) -> ConformReport:
    """Generate `count` expressions over the ops `adapter` maps (nested at most `depth`
    deep, over `variables`), judge the engine's gradient of each at `points` seeded points,
    and shrink the failures. Returns a ConformReport; raises UsageError for bad options or
    an adapter that maps no op of the table."""
    if not isinstance(count, int) or count < 1:
        raise UsageError(f"conform: count={count!r}: need a positive integer")
    if not isinstance(points, int) or points < 1:
        raise UsageError(f"conform: points={points!r}: need a positive integer")
    functions = {name: row for name, row in FUNCTIONS.items() if adapter.supports(name)}
    operators = tuple(op for op in OPERATORS if adapter.supports(op))
    if not functions and not operators:
        raise UsageError(
            f"conform: adapter {adapter.name} maps none of the op table's names "
            f"({', '.join(OPERATORS)}, {', '.join(sorted(FUNCTIONS))})"
        )
    generator = ExpressionGenerator(
        seed, functions, variables=variables, operators=operators, depth=depth
    )
    texts = generator.corpus(count) if functions else [generator.expression() for _ in range(count)]
    tried: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    failures: list[tuple[Any, Any, Miss]] = []
    judged = skipped = total_points = 0
    for k, text in enumerate(texts):
        try:
            problem = parse(text)
            plan = compile_into(problem.graph, adapter)
        except (DiffCompareError, Unsupported):
            skipped += 1
            continue
        found = judge(adapter, problem, plan, samples=points, seed=seed + k)
        if found.points == 0:
            skipped += 1
            continue
        judged += 1
        total_points += found.points
        tried.update(plan.ops)
        if found.misses:
            failed.update(plan.ops)
            failures.append((problem, plan, found.misses[0]))
    findings = _findings(adapter, failures, tried, failed)
    suspects = {op for f in findings for op in f.ops}
    results = tuple(
        OpResult(op, tried[op], failed[op], op in suspects)
        for op in sorted(tried, key=lambda o: (o not in OPERATORS, o))
    )
    return ConformReport(
        adapter.name,
        adapter.dtype,
        count,
        seed,
        judged,
        skipped,
        total_points,
        len(failures),
        findings,
        results,
    )


def _findings(
    adapter: Adapter,
    failures: list[tuple[Any, Any, Miss]],
    tried: Counter[str],
    failed: Counter[str],
) -> tuple[Finding, ...]:
    """Shrink each failure that no finding so far explains (MAX_FINDINGS at most)."""

    # The most suspect op first: the one whose expressions fail most often.
    def suspicion(op: str) -> tuple[float, str]:
        return (-failed[op] / max(tried[op], 1), op)

    made: list[tuple[Miss, tuple[str, ...], int, Miss]] = []
    for problem, plan, miss in failures:
        for i, (minimal, ops, n, example) in enumerate(made):
            if set(ops) <= plan.ops:
                made[i] = (minimal, ops, n + 1, example)
                break
        else:
            if len(made) == MAX_FINDINGS:
                continue
            minimal = shrink(adapter, problem, miss, sorted(plan.ops, key=suspicion))
            ops = _ops_of(adapter, minimal.expr) or tuple(sorted(plan.ops))
            made.append((minimal, ops, 1, miss))
    return tuple(Finding(m, ops, n, e) for m, ops, n, e in made)


def _ops_of(adapter: Adapter, text: str) -> tuple[str, ...]:
    try:
        return tuple(sorted(compile_into(parse(text).graph, adapter).ops))
    except (DiffCompareError, Unsupported):
        return ()
