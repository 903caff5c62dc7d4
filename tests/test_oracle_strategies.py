"""The hypothesis strategies: expressions from the op table that parse, restricted as asked, and
points where the expression is smooth; used as a user would, to property-test an AD engine
(here torch itself) against the truth."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings

import diffcompare
from diffcompare.oracle.generate import ExpressionGenerator
from diffcompare.strategies import expressions, points

FAST = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@FAST
@given(expressions(depth=3, variables=("a", "b"), ops=["sin", "exp", "+", "*"]))
def test_expressions_use_only_the_ops_asked_for(text: str) -> None:
    problem = diffcompare.parse(text)
    assert {v.name for v in problem.variables} <= {"a", "b"}
    for word in ("cos", "log", "sqrt", "/", "-", "**"):
        assert word not in text


@FAST
@given(expressions())
def test_default_expressions_parse(text: str) -> None:
    assert diffcompare.parse(text).variables


@FAST
@given(points("log(x) + sqrt(y - x)", domain="x=0.1:4,y=0:5"))
def test_points_are_in_the_domain_and_smooth(point: dict) -> None:
    assert 0.1 <= point["x"] <= 4 and point["y"] > point["x"]
    assert round(point["x"], 2) == point["x"]


@settings(max_examples=4, deadline=None, derandomize=True)
@given(expressions(depth=2, variables=("x",), ops=["sin", "exp", "tanh", "+", "*", "-"]))
def test_property_an_engine_against_the_truth(text: str) -> None:
    """As a user tests their engine: here the engine is diffcompare's own torch compiler."""
    from diffcompare.paths.compiler import compile_problem

    problem = diffcompare.parse(text)
    tape = compile_problem(problem)

    def function(x: torch.Tensor) -> torch.Tensor:
        return tape.run([x.reshape(1)]).outputs[0].reshape(())

    report = diffcompare.check(problem, function=function, samples=4)
    assert report.ok, str(report)


def test_generator_refuses_unknown_operators() -> None:
    with pytest.raises(ValueError, match="unknown operators"):
        ExpressionGenerator(0, operators=("%",))
    with pytest.raises(ValueError, match="not in the op table"):
        expressions(ops=["frobnicate"])
