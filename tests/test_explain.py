"""Worked chain-rule explanations: seed 001's numbers, every gradient against torch's own
retain_grad() values on seeded random expressions, golden files per format and language,
LaTeX that compiles (or is well formed where no engine is installed) and DOT that renders.

Regenerate the golden files with DIFFCOMPARE_REGENERATE=1 after a deliberate change."""

from __future__ import annotations

import math
import os
import random
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import diffcompare
from diffcompare.cli.explain import explain_command, run_explain
from diffcompare.cli.main import main
from diffcompare.explanation.build import explain, explain_tape
from diffcompare.explanation.model import LARGE, Explanation
from diffcompare.language.ops import FUNCTIONS
from diffcompare.language.parser import parse
from diffcompare.paths.compiler import compile_exprs, compile_problem
from diffcompare.paths.symbolic import gradient
from diffcompare.render.explanation import latex_math, render, to_dot, to_markdown

SEED001 = "(x**2+3*x+1)**3+4*(x**2+3*x+1)+2"
GOLDEN = Path(__file__).parent / "golden" / "explain"
REGENERATE = os.environ.get("DIFFCOMPARE_REGENERATE") == "1"
ENDINGS = {"text": "txt", "markdown": "md", "latex": "tex"}


@pytest.fixture(scope="module")
def seed001() -> Explanation:
    return explain(SEED001, {"x": 2}, simplify_seconds=0)


def invoke(*args: str):
    return CliRunner().invoke(explain_command, list(args), catch_exceptions=False)


# -- seed 001 --------------------------------------------------------------------------------


def test_seed001_numbers_in_the_model(seed001: Explanation) -> None:
    by_expr = {str(n.expr): n for n in seed001.nodes}
    f = by_expr["x**2 + 3*x + 1"]
    assert (f.value, by_expr[str(parse(SEED001).expr)].value) == (11.0, 1377.0)
    (row,) = seed001.rows
    grads = {seed001.nodes[s.node].name: (s.value, s.torch) for s in row.steps}
    assert grads[f.name] == (367.0, 367.0), grads
    assert grads["x"] == (2569.0, 2569.0), grads
    (chain,) = row.chains
    assert [(str(c.formula), c.value) for c in chain.factors] == [
        (f"3*{f.name}**2 + 4", 367.0),
        ("2*x + 3", 7.0),
    ]
    assert (chain.value, chain.torch, chain.reference) == (2569.0, 2569.0, 2569.0)
    assert seed001.agrees


def test_shared_subexpression_is_one_node_used_twice(seed001: Explanation) -> None:
    f = [n for n in seed001.nodes if str(n.expr) == "x**2 + 3*x + 1"]
    assert len(f) == 1
    assert len(f[0].feeds) == 2
    (row,) = seed001.rows
    step = next(s for s in row.steps if seed001.nodes[s.node] is f[0])
    assert [t.value for t in step.terms] == [363.0, 4.0]


def test_grad_fns_are_the_ones_a_hand_written_program_records(seed001: Explanation) -> None:
    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    fx = x**2 + 3 * x + 1
    gx = fx**3 + 4 * fx + 2
    (row,) = seed001.rows
    output = seed001.nodes[row.output]
    assert output.grad_fns[0].name == type(gx.grad_fn).__name__
    hand = [type(fn).__name__ if fn else None for fn, _ in gx.grad_fn.next_functions]
    assert [link.fn for link in output.grad_fns[0].links] == hand
    # Backward ran the output's grad_fn first and x's AccumulateGrad last.
    assert (row.ran[0].node, row.ran[-1].fn) == (row.output, "AccumulateGrad")


def test_cli_shows_the_worked_chain_rule_in_english() -> None:
    result = invoke(SEED001, "--at", "x=2")
    assert result.exit_code == 0, result.output
    out = result.output
    for piece in (
        "PowBackward0",
        "MulBackward0",
        "AddBackward0",
        "next_functions",
        "retain_grad()",
    ):
        assert piece in out, f"{piece!r} not in:\n{out}"
    assert "= 1 · 363 + 1 · 4 = 367" in out, out
    assert re.search(r"∂v6/∂x = ∂v6/∂v3 · ∂v3/∂x = .* = 367 · 7 = 2569$", out, re.M), out
    assert "SymPy" in out and "Checked" in out


def test_cli_in_chinese() -> None:
    result = invoke(SEED001, "--at", "x=2", "--lang", "zh")
    assert result.exit_code == 0, result.output
    for piece in (
        "前向传播",
        "反向传播",
        "多元链式法则",
        "367 · 7 = 2569",
        "已核对",
        "retain_grad()",
    ):
        assert piece in result.output, f"{piece!r} not in:\n{result.output}"


def test_main_dispatches_explain(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", SEED001, "--at", "2", "--format", "markdown"])
    assert exit_info.value.code == 0
    assert "367 \\cdot 7 = 2569" in capsys.readouterr().out


# -- every gradient against torch, on random expressions -------------------------------------


def _random_expression(rng: random.Random, depth: int) -> str:
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(["x", "y", "x", "y", "2", "0.5", "3"])
    kind = rng.random()
    if kind < 0.5:
        op = rng.choice(["+", "-", "*", "/"])
        left, right = _random_expression(rng, depth - 1), _random_expression(rng, depth - 1)
        if op == "/":
            right = f"(2 + sigmoid({right}))"  # never 0
        return f"({left} {op} {right})"
    if kind < 0.6:
        return f"({_random_expression(rng, depth - 1)})**{rng.choice([2, 3])}"
    row = rng.choice(sorted(FUNCTIONS.values(), key=lambda r: r.name))
    count = 2 if row.nary else 1
    args = [_random_expression(rng, depth - 1) for _ in range(count)]
    if row.domain != (-math.inf, math.inf):
        args = [f"sigmoid({a})" for a in args]  # inside (0, 1): in every row's domain
    if row.name == "tan":
        args = [f"sigmoid({a})" for a in args]
    return f"{row.name}({', '.join(args)})"


def _parses(text: str) -> bool:
    # Note: SymPy's cosh.eval recurses without end on cosh(2*y - atan(x) - sinh(7/2)) (an
    # upstream bug the parser does not catch yet); such draws are left out, not hidden.
    try:
        parse(text)
    except RecursionError:
        return False
    return True


CORPUS = [
    text
    for text in (_random_expression(random.Random(seed), 4) for seed in range(40))
    if _parses(text)
][:20]


def _torch_retain_grad(text: str, point: tuple[float, ...]) -> tuple[list[float], list[float]]:
    """Torch's own .grad at every op node (retain_grad) and every input, computed here."""
    problem = parse(text)
    tape = compile_problem(problem)
    inputs = [torch.tensor([v], dtype=torch.float64, requires_grad=True) for v in point]
    run = tape.run(inputs, keep=True)
    for tensor in run.intermediates:
        if tensor.requires_grad:
            tensor.retain_grad()
    (output,) = run.outputs
    if output.requires_grad:
        output.backward(torch.ones_like(output))
    grads = [0.0 if t.grad is None else float(t.grad[0]) for t in run.intermediates]
    return [0.0 if t.grad is None else float(t.grad[0]) for t in inputs], grads


@pytest.mark.parametrize("text", CORPUS)
def test_every_gradient_equals_torch_retain_grad(text: str) -> None:
    problem = parse(text)
    if not problem.variables:
        pytest.skip("a constant")
    rng = random.Random(text)
    point = {n: round(rng.uniform(-1.5, 1.5), 3) for n in problem.names}
    explanation = explain(problem, point, simplify_seconds=0)
    inputs, intermediates = _torch_retain_grad(text, tuple(point.values()))
    expected = inputs + intermediates  # the explanation's nodes: inputs, then ops in order
    (row,) = explanation.rows
    assert row.steps, text
    for step in row.steps:
        name = explanation.nodes[step.node].name
        torch_grad = expected[step.node]
        ok = step.value == torch_grad or abs(step.value - torch_grad) <= step.bound
        ok = ok or (math.isnan(step.value) and math.isnan(torch_grad))
        assert ok, f"{text}: {name}.grad explained {step.value!r}, torch {torch_grad!r}"
    for node in explanation.nodes:
        for partial in node.partials:
            a, b = partial.value, partial.symbolic
            assert (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9 * max(1, abs(a)), (
                f"{text}: ∂{node.name}/∂{explanation.nodes[partial.arg].name}: "
                f"torch {a!r}, SymPy {b!r}"
            )
    assert explanation.agrees, render(explanation)


def test_two_variables_seed003() -> None:
    explanation = explain("x1**2+x2**2+x1*x2", {"x1": 10, "x2": 20}, simplify_seconds=0)
    (row,) = explanation.rows
    assert [(c.wrt, c.torch, c.reference) for c in row.chains] == [
        ("x1", 40.0, 40.0),
        ("x2", 50.0, 50.0),
    ]
    only = explain("x1**2+x2**2+x1*x2", {"x1": 10, "x2": 20}, wrt="x2", simplify_seconds=0)
    assert [c.wrt for c in only.rows[0].chains] == ["x2"]


def test_rows_of_a_tape_with_several_outputs() -> None:
    # Vector-valued expressions (issue 5) are one row per output; the tape already has them.
    first, second = parse("x*y + sin(x)"), parse("(x*y)**2")
    variables = first.variables
    tape = compile_exprs([first.expr, second.expr], variables)
    derivatives = [gradient(p, variables, 0) for p in (first, second)]
    explanation = explain_tape("[x*y + sin(x), (x*y)**2]", tape, derivatives, (0.5, 2.0))
    assert len(explanation.rows) == 2
    assert sum(str(n.expr) == "x*y" for n in explanation.nodes) == 1  # shared across rows
    y = 2.0
    assert explanation.rows[0].chains[0].torch == pytest.approx(y + math.cos(0.5), rel=1e-15)
    assert explanation.rows[1].chains[0].torch == pytest.approx(2 * 0.5 * y * y, rel=1e-15)
    assert explanation.agrees
    assert "Output 2 of 2" in render(explanation)


def test_undefined_point_is_explained_not_crashed() -> None:
    result = invoke("sqrt(x)", "--at", "x=-1")
    assert result.exit_code == 0, result.output
    assert "nan" in result.output and "no finite real value" in result.output


def test_a_variable_multiplied_by_zero_gets_a_zero_gradient_through_the_graph() -> None:
    # The graph is the expression as typed: 0*x stays a MulBackward0 node, as in torch.
    text = render(explain("y + 0*x", {"x": 1, "y": 2}, simplify_seconds=0))
    assert "MulBackward0" in text, text
    assert "x.grad = v1.grad · ∂v1/∂x = 1 · 0 = 0" in text, text


# -- large expressions -----------------------------------------------------------------------


def test_large_expression_is_folded_not_a_wall_of_text() -> None:
    text_in = "+".join(f"x**{k}*y" for k in range(2, 112))
    explanation = explain(text_in, {"x": 0.5, "y": 2}, simplify_seconds=0)
    assert explanation.large and sum(n.kind == "op" for n in explanation.nodes) > LARGE
    assert explanation.agrees
    for fmt in ("text", "markdown", "latex"):
        out = render(explanation, fmt)
        assert len(out.splitlines()) < 150, f"{fmt}: {len(out.splitlines())} lines"
        assert max(len(line) for line in out.splitlines()) < 700, fmt
        assert "folded" in out, fmt


# -- golden files ------------------------------------------------------------------------------

GOLDEN_CASES = {
    "seed001": (SEED001, {"x": 2}),
    "seed003": ("x1**2+x2**2+x1*x2", {"x1": 10, "x2": 20}),
    "sin_exp": ("sin(x**2)*exp(x)", {"x": 0.5}),
}


@cache
def _golden_explanation(case: str) -> Explanation:
    text, point = GOLDEN_CASES[case]
    return explain(text, point, simplify_seconds=0)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_golden(case: str, fmt: str, lang: str) -> None:
    got = render(_golden_explanation(case), fmt, lang)
    path = GOLDEN / f"{case}.{lang}.{ENDINGS[fmt]}"
    if REGENERATE:
        path.write_text(got, encoding="utf-8")
    want = path.read_text(encoding="utf-8")
    if got != want:
        pytest.fail(
            f"{path.name} differs (regenerate with DIFFCOMPARE_REGENERATE=1):\n"
            f"--- want\n{want}\n--- got\n{got}"
        )


# -- LaTeX and DOT -----------------------------------------------------------------------------

KNOWN_COMMANDS = set(
    r"""documentclass usepackage begin end section subsection item hline multicolumn
    frac partial bar cdot left right text texttt ldots cdots vdots hspace mathrm infty times
    sin cos tan log exp sqrt operatorname asin acos atan sinh cosh tanh lvert rvert
    min max theta pi \ { } $ & # _ % ^ , ;""".split()
)


def _check_latex_structure(tex: str) -> None:
    body = re.sub(r"\\[\\{}$&#_%^~,;]", "", tex)  # escaped characters and \\ rows
    depth = 0
    for char in body:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0, "a } closes nothing"
    assert depth == 0, "unbalanced braces"
    begins = re.findall(r"\\begin\{(\w+\*?)\}", tex)
    ends = re.findall(r"\\end\{(\w+\*?)\}", tex)
    assert sorted(begins) == sorted(ends), (begins, ends)
    commands = set(re.findall(r"\\([A-Za-z]+)", tex))
    unknown = commands - KNOWN_COMMANDS - {"operatorname", "sigma", "text"}
    assert not unknown, f"commands outside the known set: {sorted(unknown)}"
    assert tex.count("$") % 2 == 0, "an odd number of $"


def _compile(engine: str, tex: str, tmp_path: Path) -> None:
    (tmp_path / "e.tex").write_text(tex, encoding="utf-8")
    result = subprocess.run(
        [engine, "-interaction=nonstopmode", "-halt-on-error", "e.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert (tmp_path / "e.pdf").stat().st_size > 0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_latex_document_compiles(seed001: Explanation, lang: str, tmp_path: Path) -> None:
    tex = render(seed001, "latex", lang)
    _check_latex_structure(tex)
    engine = "xelatex" if lang == "zh" else "pdflatex"
    if shutil.which(engine) is None:
        how = " (INSTALL_LATEX=1 make test installs pdflatex)" if engine == "pdflatex" else ""
        pytest.skip(f"{engine} is not installed: checked the LaTeX structurally only{how}")
    if lang == "zh" and shutil.which("kpsewhich"):
        found = subprocess.run(["kpsewhich", "ctex.sty"], capture_output=True, text=True)
        if not found.stdout.strip():
            pytest.skip("the ctex package is not installed: checked structurally only")
    _compile(engine, tex, tmp_path)


def test_jupyter_reprs(seed001: Explanation) -> None:
    assert "2569" in seed001._repr_markdown_() and seed001._repr_markdown_() == to_markdown(seed001)
    math_block = seed001._repr_latex_()
    assert math_block.startswith("$$") and math_block.endswith("$$")
    _check_latex_structure(math_block)
    assert "367 \\cdot 7 = 2569" in latex_math(seed001)


def _check_dot_structure(dot: str) -> None:
    assert dot.startswith("digraph explanation {") and dot.rstrip().endswith("}")
    defined = set(re.findall(r"^  (n\d+) \[", dot, re.M))
    for a, b in re.findall(r"^  (n\d+) -> (n\d+)", dot, re.M):
        assert {a, b} <= defined, (a, b)
    for label in re.findall(r'label="((?:[^"\\]|\\.)*)"', dot):
        assert "\n" not in label


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_graph_is_valid_dot(seed001: Explanation, lang: str, tmp_path: Path) -> None:
    dot = to_dot(seed001, lang)
    _check_dot_structure(dot)
    assert "x.grad = 2569" in dot and "∂v4/∂v3 = 363" in dot
    if shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed: checked the DOT structurally only")
    subprocess.run(["dot", "-Tsvg", "-o", str(tmp_path / "g.svg")], input=dot.encode(), check=True)


def test_cli_writes_the_graph(tmp_path: Path) -> None:
    target = tmp_path / "g.dot"
    result = invoke(SEED001, "--at", "x=2", "--graph", str(target))
    assert result.exit_code == 0, result.output
    _check_dot_structure(target.read_text(encoding="utf-8"))
    if shutil.which("dot"):
        svg = tmp_path / "g.svg"
        assert invoke(SEED001, "--at", "x=2", "--graph", str(svg)).exit_code == 0
        assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")


# -- bad input ---------------------------------------------------------------------------------


def _error(*args: str) -> str:
    runner = CliRunner()
    result = runner.invoke(explain_command, list(args), catch_exceptions=False)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("diffcompare: error: "), result.output
    return lines[0]


def test_bad_input_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "column" in _error("x+", "--at", "x=1")
    assert "--at" in _error("x*y", "--at", "x=1")
    assert "--at" in _error("x*y", "--at", "2")
    assert "Missing option" in _error("x")
    assert "not a variable" in _error("x", "--at", "x=1", "--wrt", "z")
    assert ".dot" in _error("x", "--at", "x=1", "--graph", "g.txt")
    assert "one --at" in _error("x", "--at", "x=1", "--at", "x=2", "--format", "latex")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert "Graphviz" in _error("x", "--at", "x=1", "--graph", "g.svg")


def test_run_explain_for_the_main_command() -> None:
    out = run_explain(parse(SEED001), [{"x": 2}, {"x": 0}], None, "text", "en", None)
    assert out.count("Chain rule for") == 2 and "2569" in out
    with pytest.raises(diffcompare.errors.UsageError, match="--at"):
        run_explain(SEED001, [], None, "text", "en", None)


def test_package_exports_explain() -> None:
    explanation = diffcompare.explain("x**2", {"x": 3}, simplify_seconds=0)
    assert isinstance(explanation, diffcompare.Explanation)
    assert explanation.rows[0].chains[0].torch == 6.0
