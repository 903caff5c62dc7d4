"""The verdict corpus: random expressions from the op table, 20 sampled points each, and not
one `disagree` in float64 or in float32.

Every method is held to a bound from its own error model, so correct mathematics must never
be reported as a disagreement. The corpus is split into batches (one test each, so a
failure names its batch and pytest-xdist can spread them); a batch reports every
disagreement and crash it meets, with each method's value, error and bound.

An expression is replaced only when it cannot be compared at all: the input language
refuses it (a constant outside a function's domain, as in asin(pi)) or the sampler finds
fewer than 20 in-domain points. A disagreement is never a reason to replace one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

import diffcompare
from diffcompare.errors import LimitError, ParseError, UsageError
from diffcompare.language.ops import FUNCTIONS
from diffcompare.oracle.generate import ExpressionGenerator, corpus

CORPUS = 300
"""Expressions compared per dtype, at least."""

SAMPLES = 20
"""Points per expression."""

BATCHES = 10
PER_BATCH = CORPUS // BATCHES

DRAWS = 8
"""Expressions one corpus slot may draw before it gives up replacing."""

SIMPLIFY_SECONDS = 0.5
"""Time for simplifying each derivative: less than the default, to keep the corpus quick; an
expression whose simplification runs out of time is compared with SymPy's plain derivative."""

MAX_REPLACED = CORPUS // 2
"""Replacements allowed per dtype over the whole corpus: more means the sampler or the
generator has stopped finding in-domain points."""


@dataclass
class Batch:
    compared: list[str] = field(default_factory=list)
    replaced: list[tuple[str, str]] = field(default_factory=list)  # (text, why)
    failures: list[str] = field(default_factory=list)
    unfilled: list[int] = field(default_factory=list)  # slots that ran out of draws


SHOWN_POINTS = 3
"""Disagreeing points shown per expression (all are counted)."""


def _describe(text: str, seed: int, dtype: str, report: diffcompare.Report) -> list[str]:
    """The disagreeing points of `report` (none: an empty list), with what each method
    computed there and a call that reproduces the first."""
    bad = [point for point in report.points if point.verdict == "disagree"]
    if not bad:
        return []
    option = "" if dtype == "float64" else f", dtype={dtype!r}"
    lines = [
        f"{text!r} ({dtype}, seed={seed}): {len(bad)} of {len(report.points)} points disagree",
        f"  reproduce: diffcompare.compare({text!r}, at={{{_at_dict(report, bad[0].at)}}}{option})",
    ]
    for point in bad[:SHOWN_POINTS]:
        lines.append(f"  at {_at_dict(report, point.at)}: {point.reason}")
        lines.append(f"    reference d/d({', '.join(report.wrt)}) = {point.reference}")
        for name, method in point.methods.items():
            lines.append(
                f"    {name:>17}: value={method.value} abs_error={method.abs_error} "
                f"bound={method.bound} {'ok' if method.ok else 'FAILS: ' + method.status}"
            )
    return ["\n".join(lines)]


def _at_dict(report: diffcompare.Report, at: tuple[float, ...]) -> str:
    return ", ".join(f"{v!r}: {x!r}" for v, x in zip(report.variables, at, strict=True))


def _run_batch(batch: int, dtype: str) -> Batch:
    generator = ExpressionGenerator(seed=batch)
    names = list(generator.functions)
    result = Batch()
    for slot in range(batch * PER_BATCH, (batch + 1) * PER_BATCH):
        must = names[slot % len(names)]  # every function of the table, over the corpus
        for draw in range(DRAWS):
            text = generator.expression(must=must)
            seed = slot * DRAWS + draw
            try:
                report = diffcompare.compare(
                    text,
                    samples=SAMPLES,
                    seed=seed,
                    timing_budget=0,
                    dtype=dtype,
                    simplify_seconds=SIMPLIFY_SECONDS,
                )
            except (ParseError, LimitError) as error:  # the language refuses it
                result.replaced.append((text, f"refused: {error}"))
                continue
            except UsageError as error:  # the sampler found no point at all
                result.replaced.append((text, f"no points: {error}"))
                continue
            except Exception as error:  # a crash is a failure, never a replacement
                result.failures.append(f"{text!r} ({dtype}, seed={seed}) crashed: {error!r}")
                break
            if len(report.points) < SAMPLES:
                result.replaced.append((text, f"only {len(report.points)} points"))
                continue
            result.compared.append(text)
            result.failures.extend(_describe(text, seed, dtype, report))
            break
        else:
            result.unfilled.append(slot)
    return result


@pytest.mark.parametrize("batch", range(BATCHES))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_no_disagreement_on_the_corpus(batch: int, dtype: str) -> None:
    result = _run_batch(batch, dtype)
    assert not result.failures, (
        f"{len(result.failures)} of {len(result.compared)} expressions disagree or crash "
        f"in batch {batch} ({dtype}):\n\n" + "\n\n".join(result.failures)
    )
    assert not result.unfilled, (
        f"slots {result.unfilled} found no comparable expression in {DRAWS} draws; "
        f"replaced: {result.replaced[-DRAWS:]}"
    )
    assert len(result.compared) == PER_BATCH
    # Over BATCHES batches of PER_BATCH: at least CORPUS compared, with a bounded share of
    # replacements in each.
    assert len(result.replaced) <= MAX_REPLACED // BATCHES, (
        f"{len(result.replaced)} expressions replaced in batch {batch}:\n"
        + "\n".join(f"{text!r}: {why}" for text, why in result.replaced)
    )


# -- the generator itself ------------------------------------------------------------------


def _calls(text: str) -> set[str]:
    return set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\(", text))


def test_corpus_covers_every_user_function() -> None:
    used = set().union(*(_calls(text) for text in corpus(CORPUS)))
    assert set(FUNCTIONS) <= used, f"never generated: {sorted(set(FUNCTIONS) - used)}"


def test_corpus_is_seeded() -> None:
    assert corpus(20, seed=3) == corpus(20, seed=3)
    assert corpus(20, seed=3) != corpus(20, seed=4)


def test_generated_expressions_parse_or_are_refused_cleanly() -> None:
    # The parser must turn every generated text into a Problem or an InputError: a
    # RecursionError or any other crash reaches the user as a traceback.
    crashes = []
    for batch in range(BATCHES):
        generator = ExpressionGenerator(seed=batch)
        for _ in range(PER_BATCH * 2):
            text = generator.expression()
            try:
                diffcompare.parse(text)
            except (ParseError, LimitError):
                pass
            except Exception as error:
                crashes.append(f"{text!r}: {error!r}")
    assert not crashes, "\n".join(crashes)
