"""The prepared-problem cache: the same answers cached and uncached, a bounded size, options
that never share an entry, identical reports from many threads, prepare().compare() equal to
compare(), and a comparison that never loads torch._dynamo."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import diffcompare
from diffcompare import engine
from diffcompare.paths.memo import Memo

MIXED = "sin(x)*exp(-x**2/2)/(1+x**2)+log(1+x**2)*tanh(x)"
THREE = "sin(x*y)+x/y+exp(x-y)*log(z)"


def _numbers(report: diffcompare.Report) -> dict:
    """Everything the report says except the timing (which differs run to run)."""
    data = report.to_dict()
    data.pop("timing")
    return data


def _uncached(expr: str, at: dict, **options: object) -> diffcompare.Report:
    dtype = str(options.pop("dtype", "float64"))
    fd = str(options.pop("fd", "auto"))
    problem = diffcompare.parse(expr)
    target = engine.make_target(problem, **options)  # type: ignore[arg-type]
    return engine.run(engine.prepare_setup(problem, target, dtype, fd), at)


@pytest.mark.parametrize(
    "expr, at, options",
    [
        (MIXED, {"x": 0.7}, {}),
        (THREE, {"x": 0.5, "y": 1.5, "z": 2.0}, {"wrt": "y,z"}),
        ("x**3*y", {"x": 1.5, "y": -2.0}, {"hessian": True}),
        ("exp(sin(x))", {"x": 0.3}, {"order": 3, "wrt": "x"}),
        ("abs(x)+x", {"x": 0.25}, {"dtype": "float32"}),
    ],
)
def test_cached_and_uncached_give_the_same_report(expr: str, at: dict, options: dict) -> None:
    first = diffcompare.compare(expr, at=at, **options)
    again = diffcompare.compare(expr, at=at, **options)  # from the cache
    fresh = _uncached(expr, at, **options)
    assert _numbers(first) == _numbers(again) == _numbers(fresh)


def test_prepare_then_compare_equals_compare() -> None:
    prepared = diffcompare.prepare(THREE, wrt="x,z", fd="richardson")
    assert isinstance(prepared, diffcompare.Prepared)
    points = [{"x": 0.5, "y": 1.5, "z": 2.0}, {"x": -1.0, "y": 0.5, "z": 0.25}]
    direct = diffcompare.compare(THREE, at=points, wrt="x,z", fd="richardson")
    assert _numbers(prepared.compare(points)) == _numbers(direct)
    sampled = prepared.compare(samples=3, seed=4)
    assert _numbers(sampled) == _numbers(
        diffcompare.compare(THREE, wrt="x,z", fd="richardson", samples=3, seed=4)
    )


def test_distinct_options_never_share_an_entry() -> None:
    options = [
        {},
        {"wrt": "x"},
        {"order": 2, "wrt": "x"},
        {"hessian": True},
        {"vjp": [2.0]},
        {"jvp": [1.0, -1.0]},
        {"dtype": "float32"},
        {"fd": "central"},
        {"simplify_seconds": 0},
    ]
    setups = [engine.prepared_setup("x**2*y+sin(y)", **o) for o in options]  # type: ignore[arg-type]
    assert len({id(s) for s in setups}) == len(options)
    assert engine.prepared_setup("x**2*y+sin(y)", wrt="x") is setups[1]
    kinds = [s.target.kind for s in setups]
    assert kinds[:6] == ["gradient", "gradient", "derivative", "hessian", "vjp", "jvp"]
    shaped = engine.prepared_setup("sum(x)", shapes={"x": (3,)})
    other = engine.prepared_setup("sum(x)", shapes={"x": (4,)})
    assert len(shaped.problem.variables) == 3 and len(other.problem.variables) == 4


def test_the_cache_is_bounded_and_least_recently_used_goes_first() -> None:
    memo: Memo[int] = Memo(3)
    made: list[str] = []

    def make(key: str) -> int:
        made.append(key)
        return len(made)

    for key in ["a", "b", "c", "a", "d", "b"]:
        memo.get(key, lambda key=key: make(key))
    # "a" was used again before "d" came, so "b" went first; asking for "b" made it anew.
    assert made == ["a", "b", "c", "d", "b"]
    assert len(memo) == 3
    for text in (f"x**2+{k}*x" for k in range(engine.CACHE_SIZE + 5)):
        engine.prepared_setup(text)
    assert len(engine._SETUPS) == engine.CACHE_SIZE


def test_clear_cache_forgets_every_prepared_problem() -> None:
    engine.prepared_setup("x**5")
    assert len(engine._SETUPS) > 0
    engine.clear_cache()
    assert len(engine._SETUPS) == 0


def test_threads_get_identical_reports() -> None:
    cases = [
        (MIXED, {"x": 0.7}),
        (THREE, {"x": 0.5, "y": 1.5, "z": 2.0}),
        ("(x**2+3*x+1)**3+4*(x**2+3*x+1)+2", {"x": 2.0}),
        ("max(x, y)*abs(x-1)", {"x": 0.5, "y": 0.25}),
    ]
    engine._SETUPS.cache_clear()  # the threads race to prepare them
    expected = [_numbers(_uncached(expr, at)) for expr, at in cases]
    jobs = [cases[i % len(cases)] for i in range(24)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        reports = list(pool.map(lambda job: diffcompare.compare(job[0], at=job[1]), jobs))
    for i, report in enumerate(reports):
        assert _numbers(report) == expected[i % len(cases)]


def test_timing_is_of_the_run_that_made_the_values_unless_asked() -> None:
    report = diffcompare.compare("x**2+3*x", at={"x": 2})
    assert {t.runs for t in report.timing.values()} == {1}
    repeated = diffcompare.compare("x**2+3*x", at={"x": 2}, repeat=4)
    assert {t.runs for t in repeated.timing.values()} == {5}


def test_the_shown_formula_is_made_only_when_read() -> None:
    report = diffcompare.compare("x*exp(x)", at={"x": 1.0})
    setup = engine.prepared_setup("x*exp(x)")
    assert "_display" not in vars(setup.derivatives)  # nothing tidied yet
    assert report.derivative == ("(x + 1)*exp(x)",)
    assert report.simplified
    assert report.to_dict()["derivative"] == {"x": "(x + 1)*exp(x)"}
    raw = diffcompare.compare("x*exp(x)", at={"x": 1.0}, simplify_seconds=0)
    assert raw.derivative == ("x*exp(x) + exp(x)",) and not raw.simplified


def test_a_comparison_never_imports_torch_dynamo() -> None:
    # First derivatives: forward mode and the bounds' forward passes see only duals. (A
    # higher derivative's nested torch.func.jvp imports it inside torch, whatever the ops.)
    code = (
        "import sys, diffcompare\n"
        f"diffcompare.compare({MIXED!r}, at={{'x': 0.7}})\n"
        f"diffcompare.compare({THREE!r}, samples=2, order=1, wrt='x')\n"
        "diffcompare.compare('max(x, 2)*3+x', at={'x': 0.3})\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.strip() == "False", out.stderr


def test_explain_prepares_a_text_once_for_many_points() -> None:
    from diffcompare.explanation import build, prepared

    engine.clear_cache()
    first = build.explain("sin(x*y)+x/y", {"x": 1.0, "y": 2.0})
    misses = prepared._PREPARED.misses
    again = build.explain("sin(x*y)+x/y", {"x": 0.5, "y": -3.0})
    assert prepared._PREPARED.misses == misses  # the second point derived and compiled nothing
    assert again.point == (0.5, -3.0) and first.point == (1.0, 2.0)
    # The cached explanation is the one an uncached run gives at that point.
    engine.clear_cache()
    assert len(prepared._PREPARED) == 0
    assert build.explain("sin(x*y)+x/y", {"x": 0.5, "y": -3.0}) == again


def test_no_autograd_graph_outlives_a_call() -> None:
    """The cache keeps compiled tapes, never a tensor that holds an autograd graph (a kept
    graph would pin its inputs' memory for as long as the entry lives)."""
    import gc

    import torch

    def graphs() -> int:
        gc.collect()
        return sum(
            1
            for o in gc.get_objects()
            if issubclass(type(o), torch.Tensor) and o.grad_fn is not None
        )

    before = graphs()  # other tests in this process may hold graphs of their own
    for k in range(1, 8):
        diffcompare.compare(f"sin({k}*x)*exp(-y)+x**2/y", at={"x": 0.3, "y": 1.7})
        diffcompare.explain(f"sin({k}*x)*exp(-y)+x**2/y", {"x": 0.3, "y": 1.7})
    assert graphs() <= before
