"""The corpus beyond gradients: random vector-valued expressions (Jacobians), Hessians, second
and third derivatives, and vector-Jacobian and Jacobian-vector products of random scalar
expressions, at sampled points, with not one `disagree`.

The expressions come from the same generator as the gradient corpus (diffcompare/
oracle/generate.py), so every function of the op table appears. As there, an expression
is replaced only when it cannot be compared at all (the language refuses it, or the
sampler finds too few in-domain points); a disagreement is never a reason to replace one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import diffcompare
from diffcompare.errors import LimitError, ParseError, UsageError
from diffcompare.oracle.generate import ExpressionGenerator

SAMPLES = 6
PER_KIND = 24
DRAWS = 8
SIMPLIFY_SECONDS = 0.25


def _jacobian(generator: ExpressionGenerator, must: str) -> tuple[str, dict[str, Any]]:
    rows = [generator.expression(must=must), generator.expression()]
    return "[" + ", ".join(rows) + "]", {}


def _hessian(generator: ExpressionGenerator, must: str) -> tuple[str, dict[str, Any]]:
    return generator.expression(must=must), {"hessian": True}


def _second(generator: ExpressionGenerator, must: str) -> tuple[str, dict[str, Any]]:
    text = generator.expression(must=must)
    order = 2 + generator.rng.randrange(2)
    return text, {"order": order, "wrt": generator.rng.choice(["x", "y"])}


def _products(generator: ExpressionGenerator, must: str) -> tuple[str, dict[str, Any]]:
    rows = [generator.expression(must=must), generator.expression()]
    vector = [generator.rng.choice([-2.0, -1.0, 0.5, 1.0, 3.0]) for _ in range(2)]
    kind = generator.rng.choice(["vjp", "jvp"])
    return "[" + ", ".join(rows) + "]", {kind: vector, "wrt": "x,y"}


KINDS: dict[str, Callable[[ExpressionGenerator, str], tuple[str, dict[str, Any]]]] = {
    "jacobian": _jacobian,
    "hessian": _hessian,
    "higher": _second,
    "vjp-jvp": _products,
}


def _describe(text: str, options: dict[str, Any], report: diffcompare.Report) -> list[str]:
    bad = [p for p in report.points if p.verdict == "disagree"]
    if not bad:
        return []
    point = bad[0]
    at = dict(zip(report.variables, point.at, strict=True))
    lines = [
        f"{text!r} {options}: {len(bad)} of {len(report.points)} points disagree",
        f"  reproduce: diffcompare.compare({text!r}, at={at!r}, **{options!r})",
        f"  {point.reason}",
        f"  reference {dict(zip(report.labels, point.reference, strict=True))}",
    ]
    for name, method in point.methods.items():
        lines.append(
            f"  {name:>17}: value={method.value} abs_error={method.abs_error} "
            f"bound={method.bound} {'ok' if method.ok else 'FAILS'}"
        )
    return ["\n".join(lines)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_no_disagreement_beyond_gradients(kind: str, dtype: str) -> None:
    generator = ExpressionGenerator(seed=1000 + list(KINDS).index(kind))
    names = list(generator.functions)
    compared, replaced, failures = 0, 0, []
    for slot in range(PER_KIND):
        must = names[slot % len(names)]
        for draw in range(DRAWS):
            text, options = KINDS[kind](generator, must)
            try:
                report = diffcompare.compare(
                    text,
                    samples=SAMPLES,
                    seed=slot * DRAWS + draw,
                    timing_budget=0,
                    dtype=dtype,
                    simplify_seconds=SIMPLIFY_SECONDS,
                    **options,
                )
            except (ParseError, LimitError, UsageError):
                replaced += 1
                continue
            except Exception as error:  # a crash is a failure, never a replacement
                failures.append(f"{text!r} {options} crashed: {error!r}")
                break
            if len(report.points) < SAMPLES:
                replaced += 1
                continue
            compared += 1
            failures.extend(_describe(text, options, report))
            break
    assert not failures, f"{len(failures)} of {compared} {kind} comparisons fail ({dtype}):\n\n" + (
        "\n\n".join(failures)
    )
    assert compared >= PER_KIND * 0.9, (
        f"only {compared} of {PER_KIND} compared ({replaced} replaced)"
    )
