"""Issue 4's verdicts: undefined and non-differentiable points, real failures named, digits
and ulps, the finite-difference schemes, float32."""

from __future__ import annotations

import math

import pytest

import diffcompare
from diffcompare.errors import UsageError
from diffcompare.report import MethodPoint


def only_point(expr: str, **at: float) -> diffcompare.Report:
    return diffcompare.compare(expr, at=at, timing_budget=0)


@pytest.mark.parametrize(
    "expr, x, reason",
    [
        (
            "log(x)",
            -1.0,
            "log(x) has no real value here: the natural logarithm's argument x is -1, "
            "outside its domain (0, inf)",
        ),
        (
            "sqrt(x)",
            -2.0,
            "sqrt(x) has no real value here: the square root's argument x is -2, "
            "outside its domain (0, inf)",
        ),
        ("1/x", 0.0, "1/x divides by zero here: x = 0"),
        (
            "asin(x)",
            2.0,
            "asin(x) has no real value here: the arcsine's argument x is 2, "
            "outside its domain (-1, 1)",
        ),
    ],
)
def test_outside_the_domain_is_undefined_naming_the_op(expr: str, x: float, reason: str) -> None:
    report = only_point(expr, x=x)
    point = report.points[0]
    assert (point.verdict, point.reason) == ("undefined", reason)
    assert report.verdict == "undefined"
    assert all(m.ok for m in point.methods.values())


def test_abs_at_zero_is_nondifferentiable_and_shows_every_method() -> None:
    point = only_point("abs(x)", x=0.0).points[0]
    assert point.verdict == "nondifferentiable"
    assert "the kink of abs where x = 0" in point.reason
    # torch's subgradient convention and SymPy's sign(0) are both 0.
    assert point.methods["autograd"].value == (0.0,)
    assert point.methods["symbolic"].value == (0.0,)
    (sides,) = point.one_sided
    assert (sides.left, sides.right) == (-1.0, 1.0)
    assert (sides.left_quotient, sides.right_quotient) == (-1.0, 1.0)


@pytest.mark.parametrize(
    "expr, at, left, right",
    [
        ("relu(x)", {"x": 0.0}, 0.0, 1.0),
        ("max(x, y)", {"x": 1.5, "y": 1.5}, 0.0, 1.0),
        ("sqrt(x)", {"x": 0.0}, None, math.inf),
        ("asin(x)", {"x": 1.0}, math.inf, None),
        # 0.1 in binary is just above 1/10, but within rounding of the kink: at float64
        # resolution the point is on it.
        ("abs(x - 0.1)", {"x": 0.1}, -1.0, 1.0),
    ],
)
def test_kinks_and_domain_edges_are_nondifferentiable(
    expr: str, at: dict[str, float], left: float | None, right: float | None
) -> None:
    point = diffcompare.compare(expr, at=at, timing_budget=0).points[0]
    assert point.verdict == "nondifferentiable", point.reason
    sides = point.one_sided[0]
    assert sides is not None
    assert (sides.left, sides.right) == (left, right)


def test_a_kink_that_cancels_is_differentiable() -> None:
    # |x**2| = x**2: the kink of abs is where its argument is 0, but both sides agree.
    assert only_point("abs(x**2)", x=0.0).points[0].verdict == "agree"


def test_next_to_a_kink_finite_differences_shorten_the_step() -> None:
    point = only_point("abs(x)", x=1e-12).points[0]
    assert point.verdict == "agree"
    fd = point.methods["finite_difference"]
    assert fd.value == (1.0,)
    assert "shortened to stay clear of a kink or domain edge" in fd.note


def test_nan_from_the_branch_not_taken_is_named() -> None:
    # max(2, sqrt(x)) is 2 near 0, so its derivative is 0; torch's maximum sends 0 to the
    # sqrt branch and sqrt's backward multiplies it by 1/(2 sqrt(0)) = inf.
    point = only_point("max(2, sqrt(x))", x=0.0).points[0]
    assert point.verdict == "disagree"
    autograd = point.methods["autograd"]
    assert not autograd.ok
    assert "0·∞ inside the backward of sqrt (SqrtBackward0)" in autograd.status
    assert point.methods["finite_difference"].ok
    assert point.reference == (0.0,)


def test_away_from_the_edge_the_branch_not_taken_leaks_nothing() -> None:
    for expr in ("max(2, sqrt(x))", "min(-2, -sqrt(x))", "relu(-x) + relu(x)"):
        point = only_point(expr, x=1.0).points[0]
        assert point.verdict == "agree", (expr, point.reason)


def test_x_sqrt_x_at_zero_blames_autograd() -> None:
    point = only_point("x*sqrt(x)", x=0.0).points[0]
    autograd = point.methods["autograd"]
    assert point.reference == (0.0,)
    assert point.verdict == "disagree", point.reason
    assert not autograd.ok and "0·∞ inside the backward of sqrt" in autograd.status
    assert point.methods["symbolic"].ok and point.methods["finite_difference"].ok


@pytest.mark.parametrize(
    "expr, x",
    [
        ("(1-cos(x))/x**2", 1e-5),
        ("(exp(x)-1-x)/x**2", 1e-4),
        ("log(1+x)-x", 1e-7),
        ("x*exp(x)", 700.0),
    ],
)
def test_cancellation_reports_digits_kept_and_the_closest(expr: str, x: float) -> None:
    point = only_point(expr, x=x).points[0]
    assert point.verdict == "agree", point.reason
    errors = {n: m.abs_error[0] for n, m in point.methods.items()}
    assert point.closest[0] == min(errors, key=lambda n: errors[n])  # type: ignore[arg-type,return-value]
    for method in point.methods.values():
        assert method.digits[0] is not None and 0 <= method.digits[0] <= 16
        assert method.abs_error[0] is not None and method.abs_error[0] <= method.bound[0]  # type: ignore[operator]


def test_ulps_and_digits_are_measured_in_the_methods_dtype() -> None:
    for dtype, eps in (("float64", 2.0**-52), ("float32", 2.0**-23)):
        point = diffcompare.compare("exp(x)", at={"x": 0.5}, timing_budget=0, dtype=dtype).points[0]
        method: MethodPoint = point.methods["autograd"]
        error, reference = method.abs_error[0], point.reference[0]
        assert error is not None and reference is not None
        ulp = eps * 2.0 ** math.floor(math.log2(reference))
        assert method.ulps[0] == pytest.approx(error / ulp)
        assert method.digits[0] is not None and method.digits[0] <= -math.log10(eps / 2)


@pytest.mark.parametrize("scheme", ["central", "richardson", "complex-step"])
def test_every_finite_difference_scheme_is_held_to_its_own_estimate(scheme: str) -> None:
    report = diffcompare.compare(
        "sin(x)*exp(-y**2/2)/(1+x**2)", samples=8, timing_budget=0, fd=scheme
    )
    assert report.fd_scheme == scheme
    assert report.verdict == "agree"
    for point in report.points:
        fd = point.methods["finite_difference"]
        assert fd.note.startswith(scheme)
        assert all(b is not None and b > 0 for b in fd.bound)


def test_richardson_beats_central_differences() -> None:
    def error(scheme: str) -> float:
        point = diffcompare.compare("exp(sin(x))", at={"x": 0.7}, timing_budget=0, fd=scheme)
        value = point.points[0].methods["finite_difference"].abs_error[0]
        assert value is not None
        return value

    assert error("richardson") < error("central") / 10
    assert error("complex-step") <= error("richardson")


def test_auto_takes_complex_step_only_where_every_op_is_analytic() -> None:
    assert diffcompare.compare("sin(x)**2", samples=1, timing_budget=0).fd_scheme == "complex-step"
    assert diffcompare.compare("abs(x)+x", samples=1, timing_budget=0).fd_scheme == "richardson"
    with pytest.raises(UsageError, match="--fd complex-step: abs cannot take complex numbers"):
        diffcompare.compare("abs(x)", samples=1, fd="complex-step")


def test_float32_is_held_to_float32_bounds() -> None:
    report64 = diffcompare.compare("sin(x)*exp(x)", samples=10, timing_budget=0)
    report32 = diffcompare.compare("sin(x)*exp(x)", samples=10, timing_budget=0, dtype="float32")
    assert report32.dtype == "float32" and report32.verdict == "agree"
    for p64, p32 in zip(report64.points, report32.points, strict=True):
        b64, b32 = p64.methods["autograd"].bound[0], p32.methods["autograd"].bound[0]
        assert b64 is not None and b32 is not None
        # The same model, with float32's epsilon: about 2**29 times looser.
        assert 2.0**26 < b32 / b64 < 2.0**32
        # And not loose: float32 autograd keeps at least 5 digits on this expression.
        digits = p32.methods["autograd"].digits[0]
        assert digits is not None and digits > 5


def test_float32_points_are_the_values_float32_holds() -> None:
    point = diffcompare.compare("x**2", at={"x": 0.1}, timing_budget=0, dtype="float32").points[0]
    assert point.at == (0.10000000149011612,)
    assert point.reference == (0.20000000298023224,)
    assert point.verdict == "agree"


def test_json_carries_every_field_per_point_and_method() -> None:
    data = diffcompare.compare("abs(x)", at=[{"x": 0.0}, {"x": 2.0}], timing_budget=0).to_dict()
    assert data["verdict"] == "agree"
    assert data["counts"] == {"agree": 1, "disagree": 0, "undefined": 0, "nondifferentiable": 1}
    kink, smooth = data["points"]
    assert kink["verdict"] == "nondifferentiable"
    assert kink["one_sided"]["x"] == {
        "left": -1.0,
        "right": 1.0,
        "left_quotient": -1.0,
        "right_quotient": 1.0,
    }
    assert smooth["reference"] == {"x": 1.0}
    for method in smooth["methods"].values():
        assert set(method) >= {"value", "abs_error", "rel_error", "ulps", "digits", "bound"}
