"""The comparison engine through the Python API: seeds, domains, error bounds, fault injection."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

import diffcompare
from diffcompare import engine as comparison
from diffcompare.paths.compiler import compile_exprs
from diffcompare.paths.methods import METHODS
from diffcompare.paths.symbolic import gradient

SEED001 = "(x**2+3*x+1)**3+4*(x**2+3*x+1)+2"


def _values(report: diffcompare.Report, method: str, point: int = 0) -> tuple:
    return report.points[point].methods[method].value


def test_seed001_chain_rule_gives_2569_from_every_method() -> None:
    report = diffcompare.compare(SEED001, at={"x": 2})
    assert report.verdict == "agree", report.points[0].reason
    assert report.points[0].value == 1377.0
    assert report.points[0].reference == (2569.0,)
    for name in METHODS:
        (value,) = _values(report, name)
        bound = report.points[0].methods[name].bound[0]
        assert abs(value - 2569) <= bound, f"{name}: {value} vs 2569 (bound {bound})"


def test_seed003_two_variables_gives_40_and_50() -> None:
    report = diffcompare.compare("x1**2+x2**2+x1*x2", at={"x1": 10, "x2": 20})
    assert report.verdict == "agree"
    assert report.wrt == ("x1", "x2")
    assert report.derivative == ("2*x1 + x2", "x1 + 2*x2")
    assert report.points[0].reference == (40.0, 50.0)
    assert _values(report, "autograd") == (40.0, 50.0)


def test_wrt_selects_variables_and_keeps_their_order() -> None:
    report = diffcompare.compare("x*y**2", at={"x": 3, "y": 2}, wrt="y")
    assert report.wrt == ("y",)
    assert report.points[0].reference == (12.0,)


@pytest.mark.parametrize(
    "expr", ["log(x)", "sqrt(x-1)", "asin(x)", "1/(x**2-1)", "log(x*y) + acos(y/3)"]
)
def test_sampled_points_lie_inside_the_real_domain(expr: str) -> None:
    report = diffcompare.compare(expr, samples=6)
    assert len(report.points) == 6
    assert report.verdict == "agree", [p.reason for p in report.points]
    assert all(p.verdict == "agree" for p in report.points)


def test_sampling_is_seeded() -> None:
    first = diffcompare.compare("sin(x)*y", seed=7)
    again = diffcompare.compare("sin(x)*y", seed=7)
    other = diffcompare.compare("sin(x)*y", seed=8)
    assert [p.at for p in first.points] == [p.at for p in again.points]
    assert [p.at for p in first.points] != [p.at for p in other.points]


def test_outside_the_domain_is_undefined_not_disagree() -> None:
    report = diffcompare.compare("log(x)", at={"x": -1})
    assert report.points[0].verdict == "undefined"
    assert report.verdict == "undefined"
    assert report.points[0].reason == (
        "log(x) has no real value here: the natural logarithm's argument x is -1, "
        "outside its domain (0, inf)"
    )


@pytest.mark.parametrize(
    "expr, x",
    [
        ("(1-cos(x))/x**2", 1e-4),
        ("(exp(x)-1-x)/x**2", 1e-5),
        ("log(1+x)-x", 1e-6),
        ("x*exp(x)", 30.0),
    ],
)
def test_cancellation_stays_within_each_methods_own_bound(expr: str, x: float) -> None:
    # Every method may lose digits here; the verdict must not blame that on disagreement.
    report = diffcompare.compare(expr, at={"x": x})
    assert report.verdict == "agree", report.points[0].reason


def test_a_corrupted_method_is_caught_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    autograd = METHODS["autograd"]
    skewed = dataclasses.replace(
        autograd, evaluate=lambda prepared, points: autograd.evaluate(prepared, points) * 1.001
    )
    monkeypatch.setattr(comparison, "METHODS", {**METHODS, "autograd": skewed})
    report = diffcompare.compare("sin(x)*exp(x)", at=[{"x": 0.5}, {"x": 1.5}])
    assert report.verdict == "disagree"
    for point in report.points:
        assert point.verdict == "disagree"
        assert point.reason.startswith("autograd: error"), point.reason
        assert point.methods["symbolic"].ok and point.methods["finite_difference"].ok


def test_to_dict_is_strict_json_with_the_documented_shape() -> None:
    data = diffcompare.compare("log(x)+y", at=[{"x": 2, "y": 1}, {"x": -1, "y": 1}]).to_dict()

    def refuse(token: str) -> None:
        raise AssertionError(f"non-standard JSON token {token}")

    text = json.dumps(data, allow_nan=False)
    assert json.loads(text, parse_constant=refuse) == data
    assert data["verdict"] == "agree"
    assert data["variables"] == ["x", "y"]
    assert data["derivative"] == {"x": "1/x", "y": "1"}
    first, second = data["points"]
    assert first["at"] == {"x": 2.0, "y": 1.0}
    assert set(first["methods"]) == {"symbolic", "autograd", "forward", "finite_difference"}
    assert first["methods"]["autograd"]["value"] == {"x": 0.5, "y": 1.0}
    assert second["verdict"] == "undefined"
    assert second["methods"]["finite_difference"]["value"]["x"] is None
    assert set(data["timing"]) == {"symbolic", "autograd", "forward", "finite_difference"}
    assert set(data["timing"]["autograd"]) >= {"prepare", "evaluate"}


def test_the_compiled_tape_computes_a_shared_subexpression_once() -> None:
    problem = diffcompare.parse(SEED001)
    tape = compile_exprs([problem.expr], problem.variables)
    (x,) = problem.variables
    inner = x**2 + 3 * x + 1
    assert sum(node.expr == inner for node in tape.nodes) == 1


def test_one_batched_pass_equals_point_by_point() -> None:
    problem = diffcompare.parse("sin(x)*exp(-y**2/2)/(1+x**2) + max(x, y)")
    tape = compile_exprs([problem.expr], problem.variables)
    points = torch.linspace(-3, 3, 101, dtype=torch.float64)
    xs, ys = points, points.flip(0) * 0.7
    (batched,) = tape.run([xs, ys]).outputs
    single = [
        tape.run([x.reshape(1), y.reshape(1)]).outputs[0].item()
        for x, y in zip(xs, ys, strict=False)
    ]
    assert batched.tolist() == single


def test_simplification_can_be_turned_off() -> None:
    problem = diffcompare.parse("sin(x)**2*cos(x)**3/(1+tan(x)**2)")
    fallback = gradient(problem, problem.variables, simplify_seconds=0)
    assert not fallback.simplified
    assert fallback.shown == fallback.raw


def test_constant_expression_is_refused_with_a_clear_error() -> None:
    with pytest.raises(diffcompare.DiffCompareError, match="no variables"):
        diffcompare.compare("2+pi")


@pytest.mark.parametrize("at, message", [({"z": 1}, "not a variable"), ({}, "no value for x")])
def test_bad_points_are_usage_errors(at: dict, message: str) -> None:
    with pytest.raises(diffcompare.DiffCompareError, match=message):
        diffcompare.compare("x+1", at=at)
