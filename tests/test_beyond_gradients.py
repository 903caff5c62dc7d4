"""Issue 5 from the user's side: higher orders, Hessians, Jacobians, VJP and JVP, forward mode,
vector and matrix variables, through the CLI and the Python API, with the seeds' examples."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

import diffcompare
from diffcompare.cli.main import cli

EVERY_METHOD = ("symbolic", "autograd", "forward", "finite_difference")


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _arrays(data: dict, point: int = 0) -> dict[str, object]:
    methods = data["points"][point]["methods"]
    return {name: methods[name]["array"] for name in EVERY_METHOD}


def _close(got: object, want: object, tolerance: float) -> bool:
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(_close(g, w, tolerance) for g, w in zip(got, want, strict=True))
        )
    return isinstance(got, float | int) and abs(got - want) <= tolerance * max(1.0, abs(want))


# -- the "done when" ----------------------------------------------------------------


def test_seed_004_second_derivative_of_x_cubed_is_12_from_every_method() -> None:
    code, out = _run("x**3", "--order", "2", "--at", "x=2", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert (data["kind"], data["order"], data["verdict"]) == ("derivative", 2, "agree")
    values = {name: array for name, array in _arrays(data).items()}
    assert all(_close(v, 12.0, 1e-8) for v in values.values()), values
    assert data["points"][0]["reference"] == {"x,x": 12.0}


def test_seed_000_jacobian_from_symbolic_reverse_forward_and_fd() -> None:
    code, out = _run("[x0**2+4*x1, x1**3+2*x0]", "--at", "x0=1,x1=2", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert (data["kind"], data["shape"], data["verdict"]) == ("jacobian", [2, 2], "agree")
    want = [[2.0, 4.0], [2.0, 12.0]]
    arrays = _arrays(data)
    assert all(_close(a, want, 1e-9) for a in arrays.values()), arrays
    assert data["points"][0]["reference_array"] == want
    assert data["points"][0]["value"] == [9.0, 10.0]


def test_seed_004_norm_gradient_is_the_true_one() -> None:
    code, out = _run("norm(x)", "--shape", "x=2", "--at", "x=[1,2]", "--json")
    assert code == 0, out
    data = json.loads(out)
    want = [1 / math.sqrt(5), 2 / math.sqrt(5)]  # 0.4472, 0.8944
    arrays = _arrays(data)
    assert all(_close(a, want, 1e-9) for a in arrays.values()), arrays
    code, text = _run("norm(x)", "--shape", "x=2", "--at", "x=[1,2]")
    assert code == 0 and "0.4472135955" in text and "0.894427191" in text, text


def test_seed_003_mean_of_squares_plus_20() -> None:
    report = diffcompare.compare(
        "mean(x**2+20)", at={"x": [10, 20, 30, 40]}, shapes={"x": (4,)}, timing_budget=0
    )
    assert report.verdict == "agree"
    assert report.points[0].reference == (5.0, 10.0, 15.0, 20.0)
    for name in EVERY_METHOD:
        assert _close(list(report.points[0].methods[name].value), [5, 10, 15, 20], 1e-9), name


def test_seed_002_linear_layer_jacobian_by_its_weights() -> None:
    report = diffcompare.compare(
        "W@x + b",
        at={"W": [[1, 2, 3], [4, 5, 6]], "x": [0.5, -1, 2], "b": [0.1, 0.2]},
        wrt="W",
        shapes={"W": (2, 3), "x": (3,), "b": (2,)},
        timing_budget=0,
    )
    assert report.verdict == "agree"
    assert report.shape == (2, 2, 3)  # d(output i)/d W[j, k]
    # d(Wx + b)_i / dW[j, k] = [i == j] x_k
    reference = report.points[0].reference
    assert reference[:6] == (0.5, -1.0, 2.0, 0.0, 0.0, 0.0)
    assert reference[6:] == (0.0, 0.0, 0.0, 0.5, -1.0, 2.0)


# -- higher orders and mixed partials --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "at", "options", "want"),
    [
        ("x**3*y**2", {"x": 2, "y": 3}, {"wrt": "x,y", "order": 2}, {"x,y": 72.0}),
        ("x**3*y**2", {"x": 2, "y": 3}, {"wrt": "x,x,y"}, {"x,x,y": 72.0}),
        ("sin(x)", {"x": 0.5}, {"order": 4}, {"x,x,x,x": math.sin(0.5)}),
        ("exp(2*x)", {"x": 0.25}, {"order": 3}, {"x,x,x": 8 * math.exp(0.5)}),
    ],
)
def test_higher_and_mixed_partials(text: str, at: dict, options: dict, want: dict) -> None:
    report = diffcompare.compare(text, at=at, timing_budget=0, **options)
    assert report.verdict == "agree", report.points[0].reason
    got = dict(zip(report.labels, report.points[0].reference, strict=True))
    assert got == pytest.approx(want, rel=1e-15)


def test_hessian_of_a_two_variable_function() -> None:
    report = diffcompare.compare("x**2*y + sin(y)", at={"x": 1, "y": 2}, hessian=True)
    assert (report.kind, report.shape, report.verdict) == ("hessian", (2, 2), "agree")
    h = report.points[0].reference
    assert h == pytest.approx((4.0, 2.0, 2.0, -math.sin(2.0)), rel=1e-15)
    costs = {c.method: c for c in report.costs}
    assert costs["autograd"].passes == 3  # one backward, then one per variable
    assert costs["symbolic"].passes == 4


def test_second_derivative_at_a_kink_of_the_first_is_nondifferentiable() -> None:
    report = diffcompare.compare("x*abs(x)", at={"x": 0}, order=2, timing_budget=0)
    assert report.verdict == "nondifferentiable", report.points[0].reason
    assert "from the left -2, from the right 2" in report.points[0].reason


# -- VJP and JVP -----------------------------------------------------------------------------


def test_vjp_is_what_backward_with_a_gradient_computes() -> None:
    # y.backward(gradient=v) for y = [x0**2+4*x1, x1**3+2*x0] at (1, 2), v = (1, 0): row 0.
    code, out = _run("[x0**2+4*x1, x1**3+2*x0]", "--at", "x0=1,x1=2", "--vjp", "1,0", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["kind"] == "vjp" and data["vector"] == [1.0, 0.0]
    assert all(_close(a, [2.0, 4.0], 1e-9) for a in _arrays(data).values())
    costs = data["costs"]
    assert costs["autograd"]["passes"] == 1  # one backward pass for any v


def test_jvp_is_one_forward_pass() -> None:
    code, out = _run("[x0**2+4*x1, x1**3+2*x0]", "--at", "x0=1,x1=2", "--jvp", "0,1", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["kind"] == "jvp"
    assert all(_close(a, [4.0, 12.0], 1e-9) for a in _arrays(data).values())
    assert data["costs"]["forward"]["passes"] == 1


# -- bad options get one line and exit 2 ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["x*y", "--order", "2"], "name one variable with --wrt"),
        (["x*y", "--order", "9"], "--order"),
        (["x*y", "--hessian", "--vjp", "1"], "give one"),
        (["[x, y]", "--vjp", "1,2,3"], "give 2 numbers"),
        (["x*y", "--jvp", "1"], "give 2 numbers"),
        (["x*y", "--vjp", "0"], "not all zero"),
        (["norm(x)", "--shape", "x=2", "--at", "x=[1,2,3]"], "shape 2"),
        (["norm(x)", "--shape", "x=2", "--at", "x=[1,2"], "--at"),
        (["norm(x)", "--shape", "x=2", "--order", "2", "--wrt", "x"], "scalar variables"),
        (["x**2", "--order", "2", "--fd", "complex-step"], "first derivatives only"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(args: list[str], says: str) -> None:
    code, out = _run(*args)
    assert code == 2, out
    assert out.count("\n") == 1 and "Traceback" not in out, out
    assert says in out, out


# -- the Python API takes the same options ----------------------------------------------------


def test_api_options_match_the_cli() -> None:
    api = diffcompare.compare(
        "[x0**2+4*x1, x1**3+2*x0]", at={"x0": 1, "x1": 2}, vjp=[1, 0], timing_budget=0
    ).to_dict()
    code, out = _run("[x0**2+4*x1, x1**3+2*x0]", "--at", "x0=1,x1=2", "--vjp", "1,0", "--json")
    cli_data = json.loads(out)
    assert api["points"][0]["reference"] == cli_data["points"][0]["reference"]
    assert api["kind"] == cli_data["kind"] == "vjp"
