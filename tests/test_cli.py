"""The command line, through click's runner and through the installed console script."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from diffcompare.cli.main import cli

SEED001 = "(x**2+3*x+1)**3+4*(x**2+3*x+1)+2"
HOSTILE = [
    "__import__('os').system('id')",
    "().__class__.__bases__",
    "lambda: 0",
    "x.real",
    "[c for c in ()]",
    '"{0.__class__}".format(x)',
    "(y:=2)",
    "sin(x, evaluate=False)",
    "9**9**9**9",
    "1e1000000",
    "1" * 5000,
    "(" * 10_000 + "x" + ")" * 10_000,
    "sin(" * 150 + "x" + ")" * 150,
    "x" * 1_000_000,
]


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_default_run_shows_the_derivative_and_agreement(run) -> None:
    result = run("x**2+3*x")
    assert result.exit_code == 0, result.output
    assert "2*x + 3" in result.output
    assert "verdict: agree" in result.output
    for label in ("symbolic", "autograd", "finite difference", "reference"):
        assert label in result.output


def test_json_reports_2569_from_every_method(run) -> None:
    result = run(SEED001, "--at", "x=2", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["verdict"] == "agree"
    assert data["variables"] == ["x"]
    assert data["derivative"]["x"] == "8*x + (6*x + 9)*(x**2 + 3*x + 1)**2 + 12"
    (point,) = data["points"]
    assert point["at"] == {"x": 2.0}
    for method in ("symbolic", "autograd", "forward", "finite_difference"):
        value = point["methods"][method]["value"]["x"]
        assert abs(value - 2569) <= point["methods"][method]["bound"]["x"], (method, value)
    assert set(data["timing"]) == {"symbolic", "autograd", "forward", "finite_difference"}


def test_several_points_and_wrt(run) -> None:
    result = run(
        "x1**2+x2**2+x1*x2", "--at", "x1=10,x2=20", "--at", "x1=1,x2=2", "--wrt", "x2", "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [p["reference"] for p in data["points"]] == [{"x2": 50.0}, {"x2": 5.0}]


def test_bare_number_is_accepted_for_one_variable(run) -> None:
    result = run("x**3", "--at", "2", "--json")
    assert json.loads(result.output)["points"][0]["reference"] == {"x": 12.0}


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: t[:30])
def test_hostile_input_exits_2_with_one_line(run, text: str) -> None:
    result = run(text)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("diffcompare: error: "), result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["x", "--at", "y=1"], "not a variable"),
        (["x", "--at", "x=abc"], "not a decimal number"),
        (["x", "--at", "x=1e999"], "not finite"),
        (["x*y", "--at", "2"], "name each variable"),
        (["x", "--wrt", "z"], "not a variable"),
        (["x", "--bogus"], "No such option"),
        (["x", "--dtype", "float16"], "Invalid value for '--dtype'"),
        (["x", "--fd", "forward"], "Invalid value for '--fd'"),
        (["abs(x)", "--fd", "complex-step"], "abs cannot take complex numbers"),
        (["x", "--domain", "x=1:0"], "need finite low < high"),
        ([], "Missing argument"),
    ],
)
def test_usage_errors_exit_2_with_one_line(run, args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_undefined_point_is_not_a_disagreement(run) -> None:
    result = run("log(x)", "--at", "x=-1")
    assert result.exit_code == 0, result.output
    assert (
        "verdict: undefined — log(x) has no real value here: the natural logarithm's "
        "argument x is -1, outside its domain (0, inf)"
    ) in result.output


def test_a_kink_is_nondifferentiable_and_shows_each_method(run) -> None:
    result = run("abs(x)", "--at", "x=0")
    assert result.exit_code == 0, result.output
    assert "verdict: nondifferentiable — not differentiable here (the kink of abs where x = 0)" in (
        result.output
    )
    assert re.search(r"one-sided d/dx +left -1  right 1", result.output), result.output
    assert re.search(r"difference quotients +left -1  right 1", result.output), result.output
    data = json.loads(run("abs(x)", "--at", "x=0", "--json").output)
    methods = data["points"][0]["methods"]
    assert {n: m["value"]["x"] for n, m in methods.items()} == {
        "symbolic": 0.0,
        "autograd": 0.0,
        "forward": 0.0,
        "finite_difference": 1.0,  # the one-sided difference into x > 0
    }


def test_float32_and_the_fd_scheme_are_reported(run) -> None:
    result = run("sin(x)*exp(x)", "--dtype", "float32", "--fd", "richardson", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["dtype"], data["fd_scheme"], data["verdict"]) == ("float32", "richardson", "agree")


def test_a_disagreement_exits_1(run, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from diffcompare import engine as comparison
    from diffcompare.paths.methods import METHODS

    fd = METHODS["finite_difference"]
    broken = dataclasses.replace(fd, evaluate=lambda p, points: -fd.evaluate(p, points))
    monkeypatch.setattr(comparison, "METHODS", {**METHODS, "finite_difference": broken})
    result = run("x**2", "--at", "x=3")
    assert result.exit_code == 1, result.output
    assert "verdict: disagree" in result.output
    assert "finite_difference" in result.output


def _console_script() -> str:
    found = shutil.which("diffcompare", path=str(Path(sys.executable).parent))
    assert found, "the diffcompare console script is not installed next to this Python"
    return found


def test_installed_console_script_exit_codes_and_json() -> None:
    script = _console_script()
    ok = subprocess.run(
        [script, SEED001, "--at", "x=2", "--json"], capture_output=True, text=True, timeout=120
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["points"][0]["reference"] == {"x": 2569.0}
    bad = subprocess.run(
        [script, "__import__('os').system('echo PWNED')"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert "PWNED" not in bad.stdout + bad.stderr
    assert "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1


def test_help_and_version_do_not_import_torch_or_sympy() -> None:
    probe = (
        "import sys\nfrom diffcompare.cli.main import main\nsys.argv = ['diffcompare', '{flag}']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "print('LOADED', code, 'torch' in sys.modules, 'sympy' in sys.modules)"
    )
    for flag in ("--help", "--version"):
        done = subprocess.run(
            [sys.executable, "-c", probe.format(flag=flag)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "LOADED 0 False False" in done.stdout, done.stdout + done.stderr


def test_explain_flag_follows_the_report_with_the_worked_chain_rule(run) -> None:
    result = run(SEED001, "--at", "x=2", "--explain", "--lang", "zh")
    assert result.exit_code == 0, result.output
    assert "verdict: agree" in result.output
    assert "367 · 7 = 2569" in result.output
    assert "链式法则" in result.output
    result = run("x**2", "--lang", "zh")
    assert result.exit_code == 2
    assert "go with --explain" in result.stderr


def test_a_report_renders_as_markdown_in_jupyter() -> None:
    import diffcompare

    text = diffcompare.compare("abs(x)", at=[{"x": 0}, {"x": 1}], timing_budget=0)._repr_markdown_()
    assert text.startswith("**abs(x)** — verdict: **agree**")
    assert "| x=0 | reference | 0 |  |  |  |  | **nondifferentiable** |" in text
    assert "- nondifferentiable: not differentiable here (the kink of abs where x = 0)" in text
