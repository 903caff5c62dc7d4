"""The same input gets the same answer wherever it runs: on the main thread, in a worker
thread, inside a running asyncio loop, and in forked and spawned worker processes; and the
library leaves a caller's own SIGALRM handler and interval timer alone."""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from corpus import HOSTILE, VALID

import diffcompare
from diffcompare.errors import DiffCompareError

PACKAGE = Path(diffcompare.__file__).resolve().parent

# Each hostile text, each valid one, and a few whose constants need evaluating.
TEXTS = [
    *(case.text for case in HOSTILE),
    *(text for text, _, _ in VALID),
    "sin(1)*x",
    "sqrt(-1)*x",
    "acos(2) + x",
    "exp(700)*x + exp(-700)",
    "pi**cosh(9**9)*x",
    "sigmoid(-2000)*x",
]

# Compared end to end (derivative, verdicts, values): no timing, so no clock in the answer.
COMPARED = [("sin(1)*x + 2**x", {"x": 0.5}), ("log(x)*exp(x)", {"x": 1.5})]


def answer(text: str) -> tuple[str, str]:
    """What parse says of `text`: the expression, or the error's class and message."""
    try:
        return ("parsed", str(diffcompare.parse(text).expr))
    except DiffCompareError as error:
        return (type(error).__name__, str(error))


def answers(texts: list[str]) -> list[tuple[str, str]]:
    return [answer(text) for text in texts]


def comparison(case: tuple[str, dict[str, float]]) -> tuple[object, ...]:
    text, point = case
    report = diffcompare.compare(text, at=point, timing_budget=0)
    (result,) = report.points
    values = {name: m.value for name, m in result.methods.items()}
    return (report.derivative, result.verdict, result.reference, sorted(values.items()))


def comparisons(cases: list[tuple[str, dict[str, float]]]) -> list[tuple[object, ...]]:
    return [comparison(case) for case in cases]


@pytest.fixture(scope="module")
def on_main_thread() -> tuple[list[tuple[str, str]], list[tuple[object, ...]]]:
    return answers(TEXTS), comparisons(COMPARED)


def test_a_worker_thread_gets_the_main_threads_answers(on_main_thread) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        got = pool.submit(answers, TEXTS).result(), pool.submit(comparisons, COMPARED).result()
    assert got == on_main_thread


def test_a_running_asyncio_loop_gets_the_main_threads_answers(on_main_thread) -> None:
    async def inside_the_loop() -> tuple[list[tuple[str, str]], list[tuple[object, ...]]]:
        assert asyncio.get_running_loop().is_running()
        return answers(TEXTS), comparisons(COMPARED)

    assert asyncio.run(inside_the_loop()) == on_main_thread


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_worker_process_gets_the_main_threads_answers(method: str, on_main_thread) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} on {sys.platform}")
    with multiprocessing.get_context(method).Pool(1) as pool:
        got = pool.apply(answers, (TEXTS,)), pool.apply(comparisons, (COMPARED,))
    assert got == on_main_thread


def test_the_answers_are_not_all_alike(on_main_thread) -> None:
    # The comparison above means something only if it compares refusals and parses.
    parsed, _ = on_main_thread
    kinds = {kind for kind, _ in parsed}
    assert {"parsed", "ParseError", "LimitError"} <= kinds
    assert answer("sqrt(-1)*x")[0] == "ParseError"
    assert answer("pi**cosh(9**9)*x")[0] == "LimitError"


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="needs SIGALRM")
def test_a_callers_alarm_handler_and_timer_are_left_alone() -> None:
    fired: list[int] = []

    def handler(signum: int, frame: object) -> None:
        fired.append(signum)

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 600, 300)
    try:
        answers(["sin(1)*x", "acos(2)", "pi**cosh(9**9)*x", "exp(exp(exp(20)))*x"])
        comparisons(COMPARED[:1])
        assert signal.getsignal(signal.SIGALRM) is handler
        remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert 500 < remaining <= 600
    assert interval == 300
    assert fired == []


# The worker pools start and own their worker processes: a worker's main ignores Ctrl-C (its
# parent stops it) and the service's answers SIGUSR1 with where it is, and a pool kills an
# overdue worker. No code a caller runs in its own process sets a handler or a timer.
OWN_PROCESSES = {"batch/pool.py", "service/pool.py", "service/worker.py"}


def test_the_package_uses_no_signals() -> None:
    users = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "import signal" in path.read_text(encoding="utf-8")
        or "from signal" in path.read_text(encoding="utf-8")
    ]
    assert sorted(set(users) - OWN_PROCESSES) == []
