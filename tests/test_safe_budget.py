"""Every input the parser accepts finishes within the budget or is refused up front in one
line: the known offenders each get a result or a one-line refusal naming the limit (these
are correctness tests with generous timeouts, not timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sympy

import diffcompare
from diffcompare.errors import LimitError, UsageError
from diffcompare.paths.budget import (
    MAX_FORMULA_NODES,
    MAX_UNBATCHED_WORK,
    MAX_WORK,
    FormulaBudget,
    distinct_nodes,
    point_work,
)
from diffcompare.paths.targets import MAX_ORDER, make_target

REPO = Path(__file__).resolve().parents[1]

# (arguments, whether the budget refuses them)
OFFENDERS = [
    (["sin(x)*exp(x)", "--wrt", "x,x,x,x,x,x,x,x"], True),
    (["norm(x)", "--shape", "x=3000"], True),
    (["prod(x)", "--shape", "x=100"], False),
    (["norm(x)", "--shape", "x=30", "--hessian"], True),
    (["exp(sin(x))**x", "--order", "6", "--wrt", "x", "--at", "x=0.7"], False),
    (["mean(x)", "--shape", "x=1000", "--wrt", "x[0]", "--at", "x=[" + ",".join("1" * 1000) + "]"],
     False),
]  # fmt: skip


@pytest.mark.parametrize("args, refused", OFFENDERS, ids=[" ".join(a[:4]) for a, _ in OFFENDERS])
def test_an_offender_gets_a_result_or_a_one_line_refusal(args: list[str], refused: bool) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "diffcompare", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert "Traceback" not in result.stderr
    if refused:
        assert result.returncode == 2
        (line,) = result.stderr.splitlines()
        assert "limit" in line or "highest order" in line
        assert "--wrt" in line  # how to ask for less
    else:
        assert result.returncode in (0, 1), result.stderr
        assert "verdict" in result.stdout


def test_a_long_mixed_partial_is_capped_like_the_order() -> None:
    problem = diffcompare.parse("sin(x)*exp(y)")
    assert make_target(problem, ["x"] * MAX_ORDER).order == MAX_ORDER
    with pytest.raises(UsageError, match=f"highest order is {MAX_ORDER}"):
        make_target(problem, ["x"] * (MAX_ORDER + 1))
    with pytest.raises(UsageError, match=f"at most {MAX_ORDER} variables"):
        make_target(problem, ["x", "y"] * 4)


def test_work_is_refused_before_anything_is_derived() -> None:
    # A gradient by 4,000 variables of prod: 32 million predicted units > MAX_WORK.
    with pytest.raises(LimitError, match="work per point") as caught:
        diffcompare.compare("prod(x)", shapes={"x": (4000,)}, at={"x": [1.0] * 4000})
    assert f"limit of {MAX_WORK}" in str(caught.value)
    said = "4000 entries x 4001 graph nodes (1 of them ops), complex-step differences"
    assert said in str(caught.value)
    # One entry of the same problem is small work.
    report = diffcompare.compare(
        "prod(x)", shapes={"x": (4000,)}, at={"x": [1.0] * 4000}, wrt="x[3]", timing_budget=0
    )
    assert report.verdict == "agree"


def test_the_prediction_follows_each_path() -> None:
    # Finite differences: entries x nodes x probes / 8; autodiff: entries x (nodes + 4 ops);
    # SymPy: 2,000 a node, once. norm cannot take complex steps: Richardson's 56 probes.
    problem = diffcompare.parse("norm(x)", shapes={"x": (1000,)})
    assert point_work(problem, 1000)[:2] == (1000 * 1001 * 7 + 1000 * (1001 + 4), 1001 * 2000)
    assert point_work(problem, 1000, "central")[0] == int(1000 * 1001 * 42 / 8) + 1000 * 1005
    problem = diffcompare.parse("sum(x**2)", shapes={"x": (1000,)})
    assert point_work(problem, 1000)[0] == 1000 * 2002 // 2 + 1000 * (2002 + 4 * 1001)


def test_higher_orders_keep_the_unbatched_limit() -> None:
    # A Hessian runs partial by partial: 30 x 30 entries of a 31-node graph, x 4.
    with pytest.raises(LimitError, match="for order 2") as caught:
        diffcompare.compare("norm(x)", shapes={"x": (30,)}, hessian=True)
    assert f"limit of {MAX_UNBATCHED_WORK}" in str(caught.value)


def test_formulas_are_counted_once_per_distinct_node() -> None:
    x, y = sympy.symbols("x y")
    shared = sympy.sin(x) * sympy.exp(y)
    assert distinct_nodes([shared, shared + 1, 2 * shared], 1000) == distinct_nodes(
        [shared + 1, 2 * shared], 1000
    )
    budget = FormulaBudget()
    symbols = sympy.symbols(f"s0:{MAX_FORMULA_NODES}")
    budget.add(sympy.Add(*symbols[: MAX_FORMULA_NODES // 2]))
    with pytest.raises(LimitError, match="derivative's formulas"):
        budget.add(sympy.Add(*symbols))


def test_an_explanation_has_the_same_budget() -> None:
    with pytest.raises(LimitError, match="work per point"):
        diffcompare.explain("norm(x)", {"x": [1.0] * 200}, shapes={"x": (200,)})
    one = diffcompare.explain(
        "norm(x)", {"x": [1.0] * 200}, wrt="x[0]", shapes={"x": (200,)}, simplify_seconds=0
    )
    assert one.wrt == ("x[0]",)
