"""The renderers: a scalar gradient as before, every other target named and shown in its
shape, large arrays folded, the costs. Reports are built by hand where the parser cannot
yet make them (vector expressions, large Hessians), so each number on screen is known."""

from __future__ import annotations

import dataclasses
import math
import re

import diffcompare
from diffcompare.render.text import sweep_to_text, to_markdown, to_text
from diffcompare.report import Cost, MethodPoint, OneSided, PointResult, Report, Timing
from diffcompare.sweep import MethodSummary, SweepReport

METHODS = {
    "symbolic": "symbolic (SymPy)",
    "autograd": "autograd (torch)",
    "forward": "forward mode (torch.func)",
    "finite_difference": "finite difference",
}
COSTS = (
    Cost("symbolic", 4, "formulas", (3, 17, 5, 4)),
    Cost("autograd", 1, "backward passes"),
    Cost("forward", 2, "forward passes"),
    Cost("finite_difference", 16, "evaluations per step size"),
)
TIMING = {name: Timing(0.0128, 8.61e-5, 3) for name in METHODS}


def method_point(values: tuple[float, ...], reference: tuple[float, ...]) -> MethodPoint:
    """A method's values judged against the reference with a bound of 1e-9 each."""
    errors = tuple(abs(v - r) for v, r in zip(values, reference, strict=True))
    relative = tuple(e / abs(r) if r else None for e, r in zip(errors, reference, strict=True))
    problems = [f"error {e:.3g} exceeds its bound 1e-09" for e in errors if e > 1e-9]
    return MethodPoint(
        value=values,
        abs_error=errors,
        rel_error=relative,
        ulps=tuple(None if r is None else r / 2.2e-16 for r in relative),
        digits=tuple(None if r is None else 16.0 if r == 0 else -math.log10(r) for r in relative),
        bound=(1e-9,) * len(values),
        ok=not problems,
        status="; ".join(problems) or "ok",
    )


def hand_report(
    kind: str,
    labels: list[str],
    shape: tuple[int, ...],
    reference: list[float],
    variables: list[str],
    wrong: dict[int, float] | None = None,
    **fields: object,
) -> Report:
    """One point at 1, 2, 3, ...; every method exact but finite differences, which are
    `wrong` at the given entries."""
    exact = tuple(reference)
    fd = tuple((wrong or {}).get(k, r) for k, r in enumerate(reference))
    methods = {
        name: method_point(fd if name == "finite_difference" else exact, exact) for name in METHODS
    }
    verdict = "disagree" if wrong else "agree"
    point = PointResult(
        at=tuple(float(i + 1) for i in range(len(variables))),
        value=1.0,
        reference=exact,
        methods=methods,
        differences={},
        verdict=verdict,
        reason="finite difference is outside its bound" if wrong else "",
        closest=("symbolic",) * len(labels),
        one_sided=fields.pop("one_sided", ()),  # type: ignore[arg-type]
    )
    base: dict[str, object] = {
        "expr": "f",
        "text": "f",
        "variables": tuple(variables),
        "wrt": tuple(variables),
        "derivative": tuple(f"formula{k}" for k in range(len(labels))),
        "simplified": True,
        "points": (point,),
        "timing": TIMING,
        "method_labels": METHODS,
        "dtype": "float64",
        "reference_digits": 50,
        "kind": kind,
        "labels": tuple(labels),
        "shape": shape,
        "costs": COSTS,
    }
    return Report(**{**base, **fields})  # type: ignore[arg-type]


def hessian(n: int, wrong: dict[int, float] | None = None) -> Report:
    """An n×n Hessian whose entry (i, j) is 100(i+1) + j+1: 101, 102, ... 1212."""
    names = [f"x{i + 1}" for i in range(n)]
    labels = [f"{a},{b}" for a in names for b in names]
    values = [100.0 * (i + 1) + j + 1 for i in range(n) for j in range(n)]
    return hand_report("hessian", labels, (n, n), values, names, wrong, order=2)


def block(text: str, title: str) -> list[list[str]]:
    """The matrix under the line `title` (two-space indent), as rows of cells."""
    lines = text.splitlines()
    start = lines.index(f"  {title}") + 1
    rows = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        rows.append(line.split())
    assert rows, f"no matrix under {title!r} in:\n{text}"
    return rows


def section(text: str, first: str) -> list[str]:
    """The lines from the one starting with `first` to the next blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    end = lines.index("", start)
    return lines[start:end]


# What the renderer printed for a two-variable gradient before targets other than the
# gradient existed: a report without costs must still print exactly this.
GRADIENT_TEXT = """\
expression   x1**2 + x1*x2 + x2**2
d/dx1       2*x1 + x2
d/dx2       x1 + 2*x2
dtype        float64; finite differences: central; reference: 50 digits

point       method                     d/dx1  d/dx2     |error|  ulps      digits  bound  check
x1=1, x2=2  reference                  40     50                                          disagree
            symbolic (SymPy) *         40     50        0        0         16.0    1e-09  ok
            autograd (torch)           40     50        0        0         16.0    1e-09  ok
            forward mode (torch.func)  40     50        0        0         16.0    1e-09  ok
            finite difference          40     50.00001  1e-05    9.09e+08  6.7     1e-09  FAIL
  * closest to the reference

at x1=1, x2=2: disagree — finite difference is outside its bound

timing                     prepare  evaluate (1 points)  runs
symbolic (SymPy)           12.8 ms  86.1 µs              3
autograd (torch)           12.8 ms  86.1 µs              3
forward mode (torch.func)  12.8 ms  86.1 µs              3
finite difference          12.8 ms  86.1 µs              3

verdict: disagree at 1 of 1 point(s) — finite difference is outside its bound"""

GRADIENT_MARKDOWN = """\
**x1**2+x2**2+x1*x2** — verdict: **disagree**

- ∂/∂x1 = `2*x1 + x2`
- ∂/∂x2 = `x1 + 2*x2`
- dtype float64; finite differences: central; reference: 50 digits

| point | method | ∂/∂x1 | ∂/∂x2 | \\|error\\| | ulps | digits | bound | check |
|---|---|---|---|---|---|---|---|---|
| x1=1, x2=2 | reference | 40 | 50 |  |  |  |  | **disagree** |
|  | symbolic (SymPy) | 40 | 50 | 0 | 0 | 16.0 | 1e-09 | ok |
|  | autograd (torch) | 40 | 50 | 0 | 0 | 16.0 | 1e-09 | ok |
|  | forward mode (torch.func) | 40 | 50 | 0 | 0 | 16.0 | 1e-09 | ok |
|  | finite difference | 40 | 50.00001 | 1e-05 | 9.09e+08 | 6.7 | 1e-09 | FAIL |

- disagree: finite difference is outside its bound
"""


def gradient(**fields: object) -> Report:
    return hand_report(
        "gradient",
        ["x1", "x2"],
        (2,),
        [40.0, 50.0],
        ["x1", "x2"],
        wrong={1: 50.00001},
        **{
            "expr": "x1**2 + x1*x2 + x2**2",
            "text": "x1**2+x2**2+x1*x2",
            "derivative": ("2*x1 + x2", "x1 + 2*x2"),
            "fd_scheme": "central",
            **fields,
        },
    )


def test_a_scalar_gradient_renders_exactly_as_before() -> None:
    report = gradient(costs=())
    assert to_text(report) == GRADIENT_TEXT
    assert to_markdown(report) == GRADIENT_MARKDOWN


def test_a_scalar_gradient_with_costs_only_adds_the_cost_section() -> None:
    text = to_text(gradient())
    without = text.replace("\n".join(section(text, "cost")) + "\n\n", "")
    assert without == GRADIENT_TEXT, text


def test_a_real_gradient_keeps_its_formula_line_and_columns() -> None:
    text = to_text(diffcompare.compare("x**2+3*x", at={"x": 2}, timing_budget=0))
    lines = text.splitlines()
    assert "d/dx        2*x + 3" in lines, text
    assert re.search(r"^x=2\s+reference\s+7\s+agree$", text, re.MULTILINE), text
    assert re.search(r"^\s+autograd \(torch\)\s+7\s+0\s+0\s+16\.0\s", text, re.MULTILINE), text


def test_the_cost_section_names_each_method_and_what_its_work_grows_with() -> None:
    assert section(to_text(gradient()), "cost") == [
        "cost                       what the work grows with",
        "symbolic (SymPy)           4 formulas, 3–17 operations each (expression swell)",
        "autograd (torch)           1 backward pass",
        "forward mode (torch.func)  2 forward passes",
        "finite difference          16 evaluations per step size",
    ]
    text = to_text(diffcompare.compare("x**3*sin(y)", at={"x": 2, "y": 1}, timing_budget=0))
    costs = section(text, "cost")
    for label in METHODS.values():
        assert any(line.startswith(label + " ") for line in costs), "\n".join(costs)
    assert re.search(r"^autograd \(torch\)\s+1 backward pass$", text, re.MULTILINE), text


def test_a_4x4_hessian_shows_all_16_numbers_in_a_matrix() -> None:
    report = diffcompare.compare(
        "x1**2+x2**2+x1*x2+x3*x4",
        hessian=True,
        at={"x1": 1, "x2": 2, "x3": 3, "x4": 4},
        timing_budget=0,
    )
    text = to_text(report)
    assert block(text, "reference") == [
        ["x1", "x2", "x3", "x4"],
        ["x1", "2", "1", "0", "0"],
        ["x2", "1", "2", "0", "0"],
        ["x3", "0", "0", "0", "1"],
        ["x4", "0", "0", "1", "0"],
    ], text
    lines = text.splitlines()
    assert "hessian      4×4 by x1, x2, x3, x4" in lines, text
    assert "∂²/∂x1²     2" in lines and "∂²/∂x1∂x2   1" in lines, text
    assert "            … and 8 more (every formula is in --json)" in lines, text
    assert re.search(r"^point\s+method\s+worst\s+\|error\|\s+ulps\s+digits", text, re.M), text
    assert "  within its bound at every entry: " + ", ".join(METHODS.values()) in lines, text


def test_a_method_outside_its_bound_shows_only_those_entries() -> None:
    text = to_text(hessian(4, wrong={6: 203.5}))  # entry (1, 2), x2,x3, is 203
    assert re.search(r"^\s+finite difference\s+x2,x3\s+0\.5\s.*FAIL$", text, re.M), text
    assert block(text, "finite difference, 1 entry not within its bound (· within)") == [
        ["x1", "x2", "x3", "x4"],
        ["x1", "·", "·", "·", "·"],
        ["x2", "·", "·", "203.5", "·"],
        ["x3", "·", "·", "·", "·"],
        ["x4", "·", "·", "·", "·"],
    ], text
    within = "  within its bound at every entry: symbolic (SymPy), autograd (torch), forward mode"
    assert within in text, text


def test_a_12x12_hessian_folds_to_its_corners_and_says_so() -> None:
    text = to_text(hessian(12, wrong={5 * 12 + 5: 606.5}))  # wrong in the middle: x6,x6
    shown = block(text, "reference")
    assert shown[0] == ["x1", "x2", "x3", "…", "x10", "x11", "x12"], text
    assert shown[1] == ["x1", "101", "102", "103", "…", "110", "111", "112"], text
    assert shown[4] == ["⋮", "⋮", "⋮", "⋮", "⋱", "⋮", "⋮", "⋮"], text
    assert shown[-1] == ["x12", "1201", "1202", "1203", "…", "1210", "1211", "1212"], text
    assert len(shown) == 8, text
    assert "  (the corners only: the full array is in --json)" in text.splitlines(), text
    # The wrong entry is in the folded middle: it is listed by its label instead.
    assert block(text, "finite difference, 1 entry not within its bound") == [
        ["entry", "value", "reference"],
        ["x6,x6", "606.5", "606"],
    ], text


def test_a_jacobian_shows_its_2x2_matrix_and_names_its_entries() -> None:
    # [x0**2 + 4*x1, x1**3 + 2*x0] at x0=1, x1=2.
    report = hand_report(
        "jacobian",
        ["y[0]/x0", "y[0]/x1", "y[1]/x0", "y[1]/x1"],
        (2, 2),
        [2.0, 4.0, 2.0, 12.0],
        ["x0", "x1"],
        output_shape=(2,),
        derivative=("2*x0", "4", "2", "3*x1**2"),
    )
    text = to_text(report)
    lines = text.splitlines()
    assert "jacobian     2×2 by x0, x1" in lines, text
    assert ["∂y[0]/∂x0   2*x0", "∂y[0]/∂x1   4", "∂y[1]/∂x0   2"] == lines[2:5], text
    assert "∂y[1]/∂x1   3*x1**2" in lines, text
    assert block(text, "reference") == [
        ["x0", "x1"],
        ["y[0]", "2", "4"],
        ["y[1]", "2", "12"],
    ], text
    markdown = to_markdown(report)
    assert "|  | x0 | x1 |\n|---|---:|---:|\n| y[0] | 2 | 4 |\n| y[1] | 2 | 12 |" in markdown


def test_a_jvp_and_a_vjp_show_their_vector() -> None:
    text = to_text(diffcompare.compare("x**2*y", at={"x": 1, "y": 2}, jvp=[1, 0], timing_budget=0))
    lines = text.splitlines()
    assert "jvp          J·v with v = [1, 0] along x, y" in lines, text
    assert "J·v         2*x*y" in lines, text
    assert re.search(r"^x=1, y=2\s+reference\s+4\s+agree$", text, re.M), text
    text = to_text(diffcompare.compare("x*y", at={"x": 0, "y": 1}, vjp=[2], timing_budget=0))
    assert "vjp          vᵀJ with v = [2] over the output components, by x, y" in text, text
    assert "∂(vᵀy)/∂x   2*y" in text.splitlines(), text
    vector_jvp = hand_report(
        "jvp", ["y[0]/jvp", "y[1]/jvp"], (2,), [1.0, 2.0], ["x", "y"], output_shape=(2,)
    )
    assert "(J·v)[1]    formula1" in to_text(vector_jvp).splitlines()


def test_higher_and_mixed_derivatives_are_named_in_leibniz_notation() -> None:
    text = to_text(diffcompare.compare("x**3", at={"x": 2}, order=2, timing_budget=0))
    assert "d²/dx²      6*x" in text.splitlines(), text
    assert re.search(r"^point\s+method\s+d²/dx²\s+\|error\|", text, re.M), text
    mixed = hand_report("derivative", ["x,y,y"], (), [6.0], ["x", "y"], order=3)
    assert "∂³/∂x∂y²    formula0" in to_text(mixed).splitlines()


def test_one_sided_rows_are_labelled_by_their_entry() -> None:
    edge = OneSided(left=-1.0, right=1.0, left_quotient=-1.0, right_quotient=1.0)
    report = hessian(2)
    point = report.points[0]
    one_sided = dataclasses.replace(point, one_sided=(None, edge, None, None))
    text = to_text(dataclasses.replace(report, points=(one_sided,)))
    assert re.search(r"one-sided ∂²/∂x1∂x2 +left -1  right 1", text), text
    assert "one-sided ∂²/∂x1²" not in text, text
    # Two entries in columns: the one-sided rows are padded to the table (they once raised).
    text = to_text(gradient(one_sided=(edge, None)))
    assert re.search(r"^\s+one-sided d/dx1 +left -1 +right 1$", text, re.M), text


def test_a_long_gradient_is_a_column_folded_beyond_36_entries() -> None:
    names = [f"x{i}" for i in range(40)]
    text = to_text(hand_report("gradient", names, (40,), [float(i) for i in range(40)], names))
    shown = block(text, "reference")
    assert shown[:3] == [["reference"], ["x0", "0"], ["x1", "1"]], text
    assert ["⋮", "⋮"] in shown and shown[-1] == ["x39", "39"] and len(shown) == 14, text
    assert "  (the corners only: the full array is in --json)" in text.splitlines(), text


def test_markdown_shows_many_entries_as_worst_rows_and_a_matrix() -> None:
    markdown = to_markdown(hessian(4, wrong={6: 203.5}))
    assert "| point | method | worst | \\|error\\| | ulps | digits | bound | check |" in markdown
    assert (
        "|  | x1 | x2 | x3 | x4 |\n|---|---:|---:|---:|---:|\n| x1 | 101 | 102 | 103 | 104 |"
        in (markdown)
    ), markdown
    assert "| x2 | · | · | 203.5 | · |" in markdown, markdown
    assert "- cost, autograd (torch): 1 backward pass" in markdown, markdown


def test_a_sweep_names_its_entries() -> None:
    summary = MethodSummary(
        percentiles={
            q: dict.fromkeys(("p50", "p90", "p99", "max"), 0.0) for q in ("ulps", "rel_error")
        },
        worst=None,
        worst_ulps=0.0,
        worst_abs_error=0.0,
        failures=0,
    )
    sweep = SweepReport(
        text="[x**2, 3*x]",
        expr="[x**2, 3*x]",
        variables=("x",),
        wrt=("y[0]/x", "y[1]/x"),
        derivative=("2*x", "3"),
        domain={"x": (-3.0, 3.0)},
        grid=False,
        count=100,
        dtype="float64",
        fd_scheme="central",
        undefined=0,
        on_edge=0,
        flagged=0,
        referenced=100,
        sampled=100,
        counts={"agree": 100},
        methods=dict.fromkeys(METHODS, summary),
        method_labels=METHODS,
        disagreements=(),
        seconds=0.1,
        reference_seconds=0.1,
    )
    lines = sweep_to_text(sweep).splitlines()
    assert lines[1:3] == ["∂y[0]/∂x    2*x", "∂y[1]/∂x    3"], lines
    gradient = dataclasses.replace(sweep, wrt=("x",), derivative=("2*x",))
    assert sweep_to_text(gradient).splitlines()[1] == "d/dx        2*x"
