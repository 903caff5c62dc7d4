"""diffcompare.oracle.conformance: whole AD engines against the truth, through the shipped adapters
(torch; the micrograd-style engine, correct and with its planted `*` bug; jax and HIPS
autograd where installed), the compiler into an engine, and the CLI."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from diffcompare import parse
from diffcompare.cli.main import main
from diffcompare.oracle.adapter import Adapter
from diffcompare.oracle.conformance import conform
from diffcompare.oracle.into_engine import compile_into, to_text

ADAPTERS = Path(__file__).resolve().parent.parent / "examples" / "adapters"
BUGGY = f"{ADAPTERS / 'micrograd_adapter.py'}:BUGGY"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_test_{name}", ADAPTERS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("name", "count"), [("ADAPTER", 8), ("FLOAT32", 5)])
def test_torch_conforms(name: str, count: int) -> None:
    adapter = getattr(_load("torch_adapter"), name)
    report = conform(adapter, count=count, seed=0)
    assert report.ok, str(report)
    assert report.expressions >= count - 2 and report.points >= 3 * report.expressions - 3
    assert "every gradient within its bound" in str(report)
    assert report.dtype == adapter.dtype


def test_correct_micrograd_conforms() -> None:
    report = conform(_load("micrograd_adapter").ADAPTER, count=6, seed=0)
    assert report.ok, str(report)


def test_buggy_micrograd_is_shrunk_to_x_times_x() -> None:
    report = conform(_load("micrograd_adapter").BUGGY, count=4, seed=0)
    assert not report.ok
    assert report.failing_ops == ("*",), str(report)
    (finding,) = report.findings
    assert finding.minimal.expr == "x * x", str(report)
    assert finding.minimal.point == {"x": 1.0}
    assert (finding.minimal.got, finding.minimal.truth) == (1.0, 2.0)
    stars = next(r for r in report.ops if r.op == "*")
    assert stars.suspect and stars.failed >= 1
    assert "*: x * x at x = 1: d/dx got 1, truth 2" in str(report)
    shape = json.loads(json.dumps(report.to_dict()))  # strict JSON, as --json prints it
    assert shape["failing_ops"] == ["*"] and shape["ok"] is False
    assert shape["findings"][0]["minimal"]["expr"] == "x * x"
    assert shape["ops"]["*"]["suspect"] is True


@pytest.mark.parametrize("name", ["autograd_adapter", "jax_adapter"])
def test_optional_engines_conform_where_installed(name: str) -> None:
    pytest.importorskip(name.removesuffix("_adapter"))
    report = conform(_load(name).adapter(), count=5, seed=0)
    assert report.ok, str(report)


def _adapter(ops: dict[str, object]) -> Adapter:
    return Adapter("names", ops, lambda f, point: {}, constant=float)  # type: ignore[arg-type]


def test_a_shared_subexpression_is_one_engine_value_and_a_minus_is_a_minus() -> None:
    everything = dict.fromkeys(["+", "-", "*", "/", "**", "sin"], print)
    plan = compile_into(parse("sin(x)*sin(x) - x/y").graph, _adapter(everything))
    mul = next(s for s in plan.steps if s.name == "*")
    assert mul.args[0] == mul.args[1]  # one sin(x), used twice
    assert plan.ops == {"sin", "*", "-", "/"}
    # Without "-" and "/", subtraction and division go through +, * and **.
    fewer = _adapter({k: v for k, v in everything.items() if k not in "-/"})
    assert compile_into(parse("x - y/x").graph, fewer).ops == {"+", "*", "**"}


@pytest.mark.parametrize(
    "text", ["x*x", "x - y", "1/x", "-x + y", "sqrt(x)", "dot([x, 1], [y, x])", "min(x, y, 2)"]
)
def test_to_text_gives_the_graph_back(text: str) -> None:
    graph = parse(text).graph
    assert parse(to_text(graph)).graph == graph


def test_cli_names_the_op_and_the_minimal_expression(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["conform", BUGGY, "--count", "4"])
    assert exited.value.code == 1
    out = capsys.readouterr().out
    assert "failing, at `*`" in out, out
    assert "*: x * x at x = 1: d/dx got 1, truth 2" in out, out


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("no_such_module:ADAPTER", "cannot import no_such_module"),
        (f"{ADAPTERS / 'micrograd_adapter.py'}:NOPE", "has no attribute 'NOPE'"),
        (f"{ADAPTERS / 'micrograd_adapter.py'}:OPS", "OPS is a dict, not a"),
        ("missing_colon", "expected MODULE:ADAPTER"),
        ("nowhere/engine.py:ADAPTER", "no file nowhere/engine.py"),
    ],
)
def test_cli_bad_adapter_is_one_line_and_exit_2(
    spec: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["conform", spec])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and said in err and "Traceback" not in err, err


def test_a_missing_optional_engine_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jax", None)  # as if jax were not installed
    with pytest.raises(SystemExit) as exited:
        main(["conform", f"{ADAPTERS / 'jax_adapter.py'}:adapter"])
    assert exited.value.code == 2
    assert "jax is not installed (pip install jax)" in capsys.readouterr().err
