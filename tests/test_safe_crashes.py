"""Inputs a new user types never crash: constant-base powers work at a point, in a sweep,
in an explanation and in every dtype; non-finite values keep the JSON strict; a failure
inside diffcompare is one line naming the input (the traceback only on request)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import diffcompare
from diffcompare import engine
from diffcompare.cli.main import main
from diffcompare.sweep import sweep

REPO = Path(__file__).resolve().parents[1]

CONSTANT_BASES = ["2**x", "2^x", "10**(-x)*x", "0.5**sin(x)", "100**(x/2)"]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "diffcompare", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


def strict_json(text: str) -> object:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("text", CONSTANT_BASES)
def test_a_constant_base_power_is_compared_at_a_point(text: str, dtype: str) -> None:
    report = diffcompare.compare(text, at={"x": 0.75}, dtype=dtype, timing_budget=0)
    assert report.verdict == "agree", report.points[0].reason


@pytest.mark.parametrize("text", CONSTANT_BASES[:3])
def test_a_constant_base_power_is_compared_at_sample_points_and_swept(text: str) -> None:
    assert diffcompare.compare(text, timing_budget=0).verdict == "agree"
    summary = sweep(text, "x=-2:2", 300)
    assert summary.verdict == "agree"
    assert summary.undefined == 0


def test_a_constant_base_power_is_explained() -> None:
    explanation = diffcompare.explain("0.5**sin(x)", {"x": 0.5}, simplify_seconds=0)
    assert explanation is not None


def test_a_constant_base_power_on_the_command_line() -> None:
    result = cli("2^x", "--dtype", "float32", "--json")
    assert result.returncode == 0, result.stderr
    assert strict_json(result.stdout)["verdict"] == "agree"  # type: ignore[index]


@pytest.mark.parametrize("text", ["10**400*x", "1e308*10*x"])
def test_values_beyond_float64_keep_the_json_strict(text: str) -> None:
    result = cli(text, "--at", "x=1", "--json")
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    point = data["points"][0]  # type: ignore[index]
    assert point["verdict"] == "undefined"
    assert point["value"] == "+inf"
    # The Python API gives the same strict data.
    assert json.dumps(diffcompare.compare(text, at={"x": 1}, timing_budget=0).to_dict(),
                      allow_nan=False)  # fmt: skip


def test_a_sweep_with_values_beyond_float64_keeps_the_json_strict() -> None:
    result = cli("exp(x)*1e300", "--domain", "x=-1:30", "--samples", "200", "--json")
    assert result.returncode in (0, 1), result.stderr
    strict_json(result.stdout)


def test_a_deeply_nested_fraction_is_one_line() -> None:
    text = "1/(x-" * 40 + "x" + ")" * 40
    result = cli(text, "--at", "x=0.5")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert "nested too deeply" in line and "1/(x-1/(x-" in line


def test_a_shallower_nested_fraction_is_compared() -> None:
    # (Whether every method keeps within its bound here is the error model's business.)
    text = "1/(x-" * 8 + "x" + ")" * 8
    report = diffcompare.compare(text, at={"x": 0.3}, timing_budget=0, simplify_seconds=0)
    assert report.points[0].reference[0] is not None


def _broken(*args: object, **kwargs: object) -> None:
    raise RuntimeError("a bug\nover two lines")


def test_an_internal_failure_is_one_line_naming_the_input(monkeypatch, capsys) -> None:
    monkeypatch.setattr(engine, "compare", _broken)
    monkeypatch.delenv("DIFFCOMPARE_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(["x**2+1", "--at", "x=1"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = err.splitlines()
    assert "internal error on 'x**2+1': RuntimeError: a bug over two lines" in line
    assert "--debug" in line


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_debug_shows_the_traceback(how: str, monkeypatch, capsys) -> None:
    monkeypatch.setattr(engine, "compare", _broken)
    args = ["x**2+1", "--at", "x=1"]
    if how == "flag":
        monkeypatch.delenv("DIFFCOMPARE_DEBUG", raising=False)
        args.append("--debug")
    else:
        monkeypatch.setenv("DIFFCOMPARE_DEBUG", "1")
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback")
    assert "RuntimeError: a bug" in err
    assert err.splitlines()[-1].startswith("diffcompare: error: internal error on 'x**2+1'")


def test_explain_has_the_same_edge(monkeypatch, capsys) -> None:
    from diffcompare.cli import explain

    monkeypatch.setattr(explain, "run_explain", _broken)
    monkeypatch.delenv("DIFFCOMPARE_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(["explain", "sin(x)", "--at", "x=1"])
    assert exit_.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "internal error on 'sin(x)'" in line
