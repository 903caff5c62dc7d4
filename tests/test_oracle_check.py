"""diffcompare.check: correct gradients pass, planted bugs fail with a minimal point, claimed
formulas are proved or refuted, and bad calls are refused with one clear line."""

from __future__ import annotations

import json

import numpy as np
import pytest

import diffcompare
from diffcompare.errors import UsageError
from diffcompare.testing import GradientMismatch, assert_gradient

EXPR = "sin(x)*exp(-y**2)"


def gradient_correct(x, y):
    return {"x": np.cos(x) * np.exp(-(y**2)), "y": -2 * y * np.sin(x) * np.exp(-(y**2))}


def gradient_lost_minus(x, y):
    return {"x": np.cos(x) * np.exp(-(y**2)), "y": 2 * y * np.sin(x) * np.exp(-(y**2))}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_correct_numpy_gradient_passes(dtype: str) -> None:
    report = diffcompare.check(EXPR, gradient=gradient_correct, dtype=dtype)
    assert report.ok, str(report)
    assert report.points_checked >= 100
    assert report.failures == () and report.minimal is None
    assert "ok at" in str(report)


def test_lost_minus_sign_fails_with_a_minimal_point() -> None:
    report = diffcompare.check(EXPR, gradient=gradient_lost_minus, samples=30)
    assert not report.ok
    assert {f.entry for f in report.failures} == {"y"}
    # Shrunk to small integers: y must be nonzero for the sign to matter, x off 0 and pi.
    assert report.minimal is not None
    assert all(float(v).is_integer() for v in report.minimal.values()), report.minimal
    failure = report.minimal_failure
    assert failure is not None and failure.candidate == pytest.approx(-failure.truth)
    assert failure.abs_error > failure.bound
    text = str(report)
    assert "FAILED at" in text and "d/dy" in text and "minimal failing point" in text
    assert f"of {report.points_checked} points" in text


def test_report_to_dict_is_strict_json() -> None:
    report = diffcompare.check(EXPR, gradient=gradient_lost_minus, samples=5, shrink=False)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["ok"] is False and data["failures"][0]["entry"] == "y"
    assert set(data["failures"][0]) >= {"point", "candidate", "truth", "abs_error", "bound", "ulps"}


def test_a_slip_of_1e_minus_5_relative_is_caught() -> None:
    def pi_slip(x):
        return 3.1416 * np.cos(3.1416 * x) if np.ndim(x) else 3.1416 * np.cos(np.pi * x)

    report = diffcompare.check("sin(pi*x)", gradient=pi_slip, samples=20)
    assert not report.ok


def test_a_wrong_gradient_below_any_atol_is_caught() -> None:
    # d/dx of 1e-9*x**3 is 3e-9*x**2; 2e-9*x**2 is under gradcheck's atol=1e-5 everywhere.
    report = diffcompare.check("1e-9*x**3", gradient=lambda x: 2e-9 * x**2, samples=10)
    assert not report.ok


def test_explicit_points_and_domain() -> None:
    report = diffcompare.check(
        EXPR, gradient=gradient_correct, at=[{"x": 1, "y": 2}, {"x": 0.5, "y": -1}]
    )
    assert report.ok and report.points_checked == 2
    report = diffcompare.check("log(x)", gradient=lambda x: 1 / x, domain="x=0.1:5", samples=20)
    assert report.ok and report.points_checked >= 20


def test_a_point_at_a_kink_is_skipped_and_said() -> None:
    report = diffcompare.check("abs(x)", gradient=lambda x: np.sign(x), at=[{"x": 0}, {"x": 2}])
    assert report.ok and report.points_checked == 1 and report.points_skipped == 1
    assert "skipped" in str(report)


def test_rtol_and_ulps_widen_the_bound_only_as_asked() -> None:
    sloppy = lambda x: 2 * x * (1 + 1e-9)  # noqa: E731
    assert not diffcompare.check("x**2", gradient=sloppy, samples=10, shrink=False).ok
    assert diffcompare.check("x**2", gradient=sloppy, samples=10, rtol=1e-8).ok


def test_formula_proved_and_refuted() -> None:
    report = diffcompare.check("x**2+3*x", formula="2*x+3")
    assert report.ok and report.proof == "proved"
    report = diffcompare.check("x**2+3*x", formula="2*x")
    assert not report.ok and report.proof == "refuted"
    failure = report.minimal_failure
    assert failure is not None and report.minimal == {"x": 0.0}
    assert (failure.candidate, failure.truth) == (0.0, 3.0)
    assert "candidate 0.0" in str(report) and "truth     3.0" in str(report)


def test_formula_mapping_and_trigonometric_identity() -> None:
    assert diffcompare.check("sin(x)**2", formula="sin(2*x)").proof == "proved"
    report = diffcompare.check("x*y", formula={"x": "y", "y": "x"}, samples=10)
    assert report.ok
    with pytest.raises(UsageError, match="mapping"):
        diffcompare.check("x*y", formula="y")


def test_formula_is_parsed_never_evaluated() -> None:
    with pytest.raises(diffcompare.DiffCompareError):
        diffcompare.check("x**2", formula="__import__('os').getcwd()")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "exactly one of"),
        ({"gradient": abs, "formula": "1"}, "exactly one of"),
        ({"gradient": abs, "dtype": "float16"}, "dtype"),
        ({"gradient": abs, "samples": 0}, "samples"),
        ({"gradient": abs, "domain": "z=0:1"}, "not a variable"),
        ({"gradient": abs, "rtol": -1}, "rtol"),
    ],
)
def test_bad_calls_are_refused_with_one_line(options: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        diffcompare.check("x**2", **options)
    assert "\n" not in str(caught.value)


def test_assert_gradient_raises_an_assertion_error_with_the_report() -> None:
    assert_gradient(EXPR, gradient=gradient_correct, samples=5)
    with pytest.raises(GradientMismatch) as caught:
        assert_gradient(EXPR, gradient=gradient_lost_minus, samples=5, shrink=False)
    assert isinstance(caught.value, AssertionError)
    assert "d/dy" in str(caught.value) and not caught.value.report.ok


def test_a_per_point_gradient_is_asked_point_by_point() -> None:
    calls = []

    def scalar_only(x):
        calls.append(x)
        if x > 0:  # a truth-value test fails on an array: the oracle asks per point
            return 2 * x
        return 2 * x

    assert diffcompare.check("x**2", gradient=scalar_only, samples=5).ok
    assert all(np.ndim(c) == 0 for c in calls[1:])


def test_gradcheck_is_reexported_from_the_oracle_when_present() -> None:
    try:
        from diffcompare.oracle import gradcheck as module
    except ImportError:
        with pytest.raises(ImportError):
            from diffcompare.testing import gradcheck  # noqa: F401
        return
    from diffcompare.testing import gradcheck

    assert gradcheck is module.gradcheck


def test_no_defined_point_in_the_default_domain_says_what_to_give() -> None:
    with pytest.raises(UsageError, match="give a domain=") as caught:
        diffcompare.check("log(x-5)", gradient=lambda x: 1 / (x - 5), samples=5)
    assert "\n" not in str(caught.value)
    assert diffcompare.check("log(x-5)", gradient=lambda x: 1 / (x - 5), domain="x=6:9", samples=5)
