"""Vectors and matrices in the input language: array variables, list literals, broadcasting,
reductions, the matrix product and subscripts, parsed, compiled, differentiated, and refused
with a one-line message where they do not fit together."""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction

import mpmath
import pytest
import sympy
import torch

from diffcompare.errors import InputError, LimitError, ParseError, UsageError
from diffcompare.language.ops import OPS, Op
from diffcompare.language.parser import parse, parse_shapes
from diffcompare.language.problem import Problem
from diffcompare.paths.compiler import compile_problem
from diffcompare.paths.edges import find_edges, has_edges
from diffcompare.paths.reference import REFERENCE_DIGITS, reference

Shapes = Mapping[str, tuple[int, ...]]
MAX_MESSAGE_LENGTH = 400  # the CLI prints a message on one line
REDUCTIONS = sorted((row for row in OPS.values() if row.stacked), key=lambda row: row.name)
_X2 = {"x": (2,)}
_X4 = {"x": (4,)}
_X3_W23 = {"x": (3,), "W": (2, 3)}


def tree(expr: sympy.Basic) -> str:
    """`expr` as Class(arguments) in the order it holds them (str and srepr sort them)."""
    if not expr.args:
        return str(expr)
    return f"{type(expr).__name__}({', '.join(tree(arg) for arg in expr.args)})"


def columns(values: Sequence[float], requires_grad: bool = False) -> list[torch.Tensor]:
    """One (1,)-tensor per scalar variable: the point `values`."""
    return [torch.tensor([v], dtype=torch.float64, requires_grad=requires_grad) for v in values]


def call_of(row: Op) -> tuple[str, Shapes]:
    """The row called on vectors of 3, x (and y): sum(x), dot(x, y), and their shapes."""
    names = ["x", "y"][: row.reduces]
    return f"{row.name}({', '.join(names)})", {name: (3,) for name in names}


# -- What the parser builds ----------------------------------------------------------------


def test_seed003_mean_of_squares_is_one_mean_node_over_four_components() -> None:
    problem = parse("mean(x**2+20)", shapes={"x": (4,)})
    assert (problem.names, problem.shapes, problem.output_shape) == (
        ("x[0]", "x[1]", "x[2]", "x[3]"),
        {"x": (4,)},
        (),
    )
    (output,) = problem.outputs
    assert str(output) == "(x[0]**2 + x[1]**2 + x[2]**2 + x[3]**2 + 80)/4"
    (graph,) = problem.graphs
    parts = ", ".join(f"Add(Pow(x[{i}], 2), 20)" for i in range(4))
    assert tree(graph) == f"mean({parts})"
    x0 = problem.symbol("x[0]")
    assert sympy.diff(output, x0) == x0 / 2


def test_norm_autograd_at_1_2_is_the_unit_vector() -> None:
    problem = parse("norm(x)", shapes={"x": (2,)})
    inputs = columns([1.0, 2.0], requires_grad=True)
    (output,) = compile_problem(problem).run(inputs).outputs
    grads = [g.item() for g in torch.autograd.grad(output.sum(), inputs)]
    assert grads == pytest.approx([0.4472135955, 0.894427191], abs=1e-10)


def test_a_list_of_expressions_is_a_vector_valued_output() -> None:
    problem = parse("[x0**2+4*x1, x1**3+2*x0]")
    assert problem.output_shape == (2,)
    assert [str(o) for o in problem.outputs] == ["x0**2 + 4*x1", "2*x0 + x1**3"]
    assert problem.names == ("x0", "x1")
    assert problem.expr == sympy.ImmutableDenseNDimArray(problem.outputs, (2,))


def test_matrix_times_vector_is_one_dot_node_per_row() -> None:
    problem = parse("W@x", shapes={"W": (2, 3), "x": (3,)})
    assert problem.output_shape == (2,)
    assert [tree(g) for g in problem.graphs] == [
        "dot(W[0,0], W[0,1], W[0,2], x[0], x[1], x[2])",
        "dot(W[1,0], W[1,1], W[1,2], x[0], x[1], x[2])",
    ]
    assert [str(o) for o in problem.outputs] == [
        "W[0,0]*x[0] + W[0,1]*x[1] + W[0,2]*x[2]",
        "W[1,0]*x[0] + W[1,1]*x[1] + W[1,2]*x[2]",
    ]


def _matrix(problem: Problem, name: str) -> sympy.Matrix:
    shape = problem.shapes[name]
    return sympy.Matrix(*(shape if len(shape) == 2 else (shape[0], 1)), problem.components(name))


@pytest.mark.parametrize(
    ("text", "shapes", "output_shape", "expected"),
    [
        ("x @ y", {"x": (3,), "y": (3,)}, (), lambda m: m["x"].T * m["y"]),
        ("W @ x", {"W": (2, 3), "x": (3,)}, (2,), lambda m: m["W"] * m["x"]),
        ("x @ W", {"x": (2,), "W": (2, 3)}, (3,), lambda m: m["x"].T * m["W"]),
        ("W @ V", {"W": (2, 3), "V": (3, 4)}, (2, 4), lambda m: m["W"] * m["V"]),
        ("W @ W @ x", {"W": (2, 2), "x": (2,)}, (2,), lambda m: m["W"] * m["W"] * m["x"]),
    ],
    ids=["vector@vector", "matrix@vector", "vector@matrix", "matrix@matrix", "chained"],
)
def test_the_matrix_product_of_each_pair_of_shapes(
    text: str,
    shapes: Shapes,
    output_shape: tuple[int, ...],
    expected: Callable[[dict[str, sympy.Matrix]], sympy.Matrix],
) -> None:
    problem = parse(text, shapes=shapes)
    assert problem.output_shape == output_shape
    matrices = {name: _matrix(problem, name) for name in shapes}
    want = list(expected(matrices))
    differences = [sympy.expand(o - w) for o, w in zip(problem.outputs, want, strict=True)]
    assert differences == [0] * len(want), f"{problem.outputs} vs {want}"
    assert {type(g).__name__ for g in problem.graphs} == {"dot"}


@pytest.mark.parametrize(
    ("text", "shapes", "output_shape", "component"),
    [
        # (index of an output component, what it must be, over the variables by name)
        ("x + W", {"x": (3,), "W": (2, 3)}, (2, 3), (4, lambda v: v["x[1]"] + v["W[1,1]"])),
        ("2*x - 1", {"x": (3,)}, (3,), (2, lambda v: 2 * v["x[2]"] - 1)),
        ("W * [[10], [20]]", {"W": (2, 3)}, (2, 3), (5, lambda v: 20 * v["W[1,2]"])),
        ("x * [[1], [2]]", {"x": (3,)}, (2, 3), (3, lambda v: 2 * v["x[0]"])),
        ("max(x, 0)", {"x": (3,)}, (3,), (1, lambda v: sympy.Max(0, v["x[1]"]))),
        ("max(W, x, y)", {"W": (2, 2), "x": (2,)}, (2, 2),
         (2, lambda v: sympy.Max(v["W[1,0]"], v["x[0]"], v["y"]))),
        ("log(x, 2)", {"x": (2,)}, (2,), (1, lambda v: sympy.log(v["x[1]"]) / sympy.log(2))),
        ("-x**2", {"x": (2,)}, (2,), (0, lambda v: -v["x[0]"] ** 2)),
        ("x / x[0]", {"x": (2,)}, (2,), (1, lambda v: v["x[1]"] / v["x[0]"])),
        ("sin(W)[1]", {"W": (2, 2)}, (2,), (0, lambda v: sympy.sin(v["W[1,0]"]))),
    ],
)  # fmt: skip
def test_operators_and_functions_apply_to_each_component_with_broadcasting(
    text: str,
    shapes: Shapes,
    output_shape: tuple[int, ...],
    component: tuple[int, Callable[[dict[str, sympy.Symbol]], sympy.Expr]],
) -> None:
    problem = parse(text, shapes=shapes)
    index, expected = component
    want = expected({v.name: v for v in problem.variables})
    assert problem.output_shape == output_shape
    assert len(problem.outputs) == len(problem.graphs) == sympy.prod(output_shape)
    assert sympy.simplify(problem.outputs[index] - want) == 0, f"{problem.outputs[index]} vs {want}"


def test_subscripts_pick_components_and_rows() -> None:
    problem = parse("x[0] + x[-1] + W[1, 2] + sum(W[1]) + W[-1][0]", shapes=_X3_W23)
    v = {s.name: s for s in problem.variables}
    want = v["x[0]"] + v["x[2]"] + 2 * v["W[1,2]"] + 2 * v["W[1,0]"] + v["W[1,1]"]
    assert problem.outputs == (want,)


def test_reductions_apply_to_scalars_and_to_every_component_of_a_matrix() -> None:
    assert str(parse("sum(x)").outputs[0]) == "x"
    assert str(parse("norm(x)").outputs[0]) == "Abs(x)"
    assert str(parse("prod(W)", shapes={"W": (2, 2)}).outputs[0]) == ("W[0,0]*W[0,1]*W[1,0]*W[1,1]")
    problem = parse("norm(W)", shapes={"W": (1, 2)})
    assert str(problem.outputs[0]) == "sqrt(W[0,0]**2 + W[0,1]**2)"
    assert tree(problem.graphs[0]) == "norm(W[0,0], W[0,1])"
    assert parse("mean([1, 2])").outputs == (sympy.Rational(3, 2),)


def test_array_variables_come_in_natural_order_with_their_components_together() -> None:
    problem = parse("x10 + x2 + sum(x) + xA + W[0, 0]", shapes={"x": (2,), "W": (1, 1)})
    assert problem.names == ("W[0,0]", "x[0]", "x[1]", "x2", "x10", "xA")
    assert problem.user_names == ("W", "x", "x2", "x10", "xA")
    eleven = parse("sum(x)", shapes={"x": (11,)})
    assert eleven.names == tuple(f"x[{i}]" for i in range(11))
    assert [v.is_real for v in eleven.variables] == [True] * 11


def test_every_component_is_a_variable_even_one_the_text_does_not_pick() -> None:
    problem = parse("x[1]", shapes={"x": (3,)})
    assert problem.names == ("x[0]", "x[1]", "x[2]")
    assert problem.components("x") == problem.variables


def test_compiled_components_equal_the_evaluated_outputs() -> None:
    shapes = {"W": (2, 3), "x": (3,)}
    problem = parse("W@x + sin(x[0])*[1, 2] - mean(W*x)", shapes=shapes)
    point = [0.1 * (k + 1) for k in range(len(problem.variables))]
    values = compile_problem(problem).run(columns(point)).outputs
    subs = {v: sympy.Rational(p) for v, p in zip(problem.variables, point, strict=True)}
    for output, value in zip(problem.outputs, values, strict=True):
        exact = float(output.evalf(30, subs=subs))
        assert value.item() == pytest.approx(exact, rel=1e-14), f"{output}: {value} vs {exact}"


# -- Refusals ------------------------------------------------------------------------------


REFUSED: list[tuple[str, Shapes | None, type[InputError], tuple[str, ...]]] = [
    ("x + y", {"x": (2,), "y": (3,)}, ParseError, ("shapes (2,) and (3,) do not broadcast",)),
    ("W + x", {"W": (2, 3), "x": (2,)}, ParseError, ("shapes (2, 3) and (2,) do not broadcast",)),
    ("max(x, y)", {"x": (2,), "y": (3,)}, ParseError, ("shapes (2,) and (3,) do not broadcast",)),
    ("W @ x", {"W": (2, 3), "x": (2,)}, ParseError, ("'@'", "inner sizes 3 and 2")),
    ("x @ 2", {"x": (2,)}, ParseError, ("'@'", "right side is a scalar", "*")),
    ("dot(W, W)", {"W": (2, 2)}, ParseError,
     ("dot takes 2 vectors of one length", "shape (2, 2) and shape (2, 2)")),
    ("dot(x, y)", {"x": (2,), "y": (3,)}, ParseError, ("shape (2,) and shape (3,)",)),
    ("dot(x, 1)", {"x": (2,)}, ParseError, ("shape (2,) and a scalar",)),
    ("sum(x, x)", {"x": (2,)}, ParseError, ("sum takes 1 argument, got 2",)),
    ("x[4]", _X4, ParseError, ("index 4 is out of range for shape (4,) (allowed: -4 to 3)",)),
    ("x[-5]", _X4, ParseError, ("index -5 is out of range",)),
    ("W[2]", _X3_W23, ParseError, ("index 2 is out of range for shape (2, 3)",)),
    ("W[0, 3]", _X3_W23, ParseError, ("index 3 is out of range",)),
    ("W[0, 1, 2]", _X3_W23, ParseError, ("3 indices for shape (2, 3): it takes at most 2",)),
    ("x[0][0]", _X3_W23, ParseError, ("a scalar has no subscripts",)),
    ("x[1:]", _X3_W23, ParseError, ("slices are not supported", "W[1, 2]")),
    ("x[y]", _X3_W23, ParseError, ("an index must be a constant whole number",)),
    ("x[1.0]", _X3_W23, ParseError, ("the index 1.0 is not a whole number",)),
    ("x[0] + y[0]", _X3_W23, ParseError,
     ("y is a scalar, which has no subscripts; declare its shape with --shape y=N",)),
    ("[x, 1]", _X3_W23, ParseError, ("ragged", "element 1 is shape (3,), element 2 is a scalar")),
    ("[W, W]", _X3_W23, ParseError, ("3-d array",)),
    ("[]", None, ParseError, ("empty list",)),
    ("(x, x)", _X3_W23, ParseError, ("tuples",)),
    ("x", {"x": (2,), "y": (3,)}, UsageError, ("--shape y: the expression has no variable y",)),
    ("x", {"x": (0,)}, UsageError, ("--shape x:", "at least 1")),
    ("x", {"x": (2, 2, 2)}, UsageError, ("1 or 2 dimensions",)),
    ("x", {"x": ()}, UsageError, ("1 or 2 dimensions",)),
    ("x", {"x": (2.5,)}, UsageError, ("whole number",)),  # type: ignore[dict-item]
    ("pi*x", {"pi": (2,)}, UsageError, ("pi is a constant",)),
    ("x", {"sin": (2,)}, UsageError, ("sin is a function",)),
    ("x", {"2x": (2,)}, UsageError, ("not a variable name",)),
    ("x", {"x": (100, 101)}, LimitError, ("components of the array x", "10000")),
    ("x + y", {"x": (6000,), "y": (5000,)}, LimitError, ("number of scalar variables",)),
    ("W@W@W@W", {"W": (100, 100)}, LimitError, ("scalar nodes built for arrays",)),
    ("x * [[1]] * [[1], [1]]", {"x": (10000,)}, LimitError, ("components of one array", "20000")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "shapes", "error", "words"), REFUSED, ids=[f"{r[0]} {r[1]}" for r in REFUSED]
)
def test_arrays_that_do_not_fit_are_refused_in_one_line(
    text: str, shapes: Shapes | None, error: type[InputError], words: tuple[str, ...]
) -> None:
    with pytest.raises(InputError) as caught:
        parse(text, shapes=shapes)
    message = str(caught.value)
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {message}"
    assert [w for w in words if w not in message] == [], message
    assert "\n" not in message and len(message) <= MAX_MESSAGE_LENGTH, message


def test_scalar_subscript_refusal_names_the_fix_at_its_column() -> None:
    with pytest.raises(ParseError) as caught:
        parse("1 + x[0]")
    assert caught.value.column == 5
    assert "--shape x=N" in str(caught.value)


# -- The --shape option --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shapes"),
    [
        ("x=4", {"x": (4,)}),
        ("x=4,W=2x3", {"x": (4,), "W": (2, 3)}),
        (" x = 4 , W = 2 X 3 ", {"x": (4,), "W": (2, 3)}),
        ("big=100x100", {"big": (100, 100)}),
    ],
)
def test_parse_shapes_reads_vectors_and_matrices(text: str, shapes: Shapes) -> None:
    assert parse_shapes(text) == shapes


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "write NAME=SIZE"),
        ("x", "write NAME=SIZE"),
        ("x=", "write NAME=SIZE"),
        ("=4", "write NAME=SIZE"),
        ("x=4,", "write NAME=SIZE"),
        ("x=0", "at least 1"),
        ("x=-2", "at least 1"),
        ("W=2x0", "at least 1"),
        ("T=2x2x2", "1 or 2 dimensions"),
        ("x=a", "whole number"),
        ("x=1e3", "whole number"),
        ("x=2.5", "whole number"),
        ("x=9999999999", "whole number"),
        ("x=100x101", "at most 10000 components"),
        ("x=4,x=5", "x is given twice"),
        ("1x=4", "not a variable name"),
        ("pi=3", "pi is a constant"),
        ("sum=3", "sum is a function"),
    ],
)
def test_parse_shapes_refuses_malformed_text_in_one_line(text: str, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_shapes(text)
    message = str(caught.value)
    assert words in message and message.startswith("--shape"), message
    assert "\n" not in message and len(message) <= MAX_MESSAGE_LENGTH, message


# -- torch: the reductions' own backward, forward mode, complex step -----------------------


GRAD_FNS = {
    "sum": "SumBackward1",
    "mean": "MeanBackward1",
    "prod": "ProdBackward1",
    "norm": "LinalgVectorNormBackward0",
    "dot": "SumBackward1",  # torch.linalg.vecdot is a sum of products: SumBackward1(MulBackward0)
}


def test_every_reduction_has_its_recorded_backward_listed() -> None:
    assert sorted(GRAD_FNS) == [row.name for row in REDUCTIONS]


@pytest.mark.parametrize("row", REDUCTIONS, ids=lambda row: row.name)
def test_each_reduction_records_torchs_own_backward(row: Op) -> None:
    text, shapes = call_of(row)
    problem = parse(text, shapes=shapes)
    inputs = columns([0.5, -1.5, 2.0, 1.0, 0.25, -2.0][: len(problem.variables)], True)
    (output,) = compile_problem(problem).run(inputs).outputs
    assert type(output.grad_fn).__name__ == GRAD_FNS[row.name]


@pytest.mark.parametrize(
    ("text", "shapes"),
    [call_of(row) for row in REDUCTIONS]
    + [("W @ x", {"W": (2, 3), "x": (3,)}), ("norm(W@x) + dot(x, [1, 2, 3])", _X3_W23)],
    ids=[row.name for row in REDUCTIONS] + ["matmul", "mixed"],
)
def test_forward_mode_through_each_reduction_agrees_with_autograd(
    text: str, shapes: Shapes
) -> None:
    problem = parse(text, shapes=shapes)
    tape = compile_problem(problem)
    rng = random.Random(text)
    primals = [
        torch.tensor([rng.uniform(-2, 2) for _ in range(3)], dtype=torch.float64)
        for _ in problem.variables
    ]

    def outputs(*inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tape.run(list(inputs)).outputs

    inputs = [p.clone().requires_grad_() for p in primals]
    ran = tape.run(inputs).outputs
    for k in range(len(primals)):
        tangents = [torch.zeros_like(p) for p in primals]
        tangents[k] = torch.ones_like(primals[k])
        # Note: forward AD loads torch's jvp decompositions on first use, which warns that
        # torch.jit.script is deprecated (as diffcompare.paths.autodiff notes).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            _, forward = torch.func.jvp(outputs, tuple(primals), tuple(tangents))
        for j, output in enumerate(ran):
            (grad,) = torch.autograd.grad(
                output.sum(), inputs[k], retain_graph=True, allow_unused=True
            )
            backward = torch.zeros_like(primals[k]) if grad is None else grad
            assert torch.allclose(forward[j], backward, rtol=1e-13, atol=1e-15), (
                f"d output {j} / d {problem.names[k]}: forward {forward[j].tolist()} vs "
                f"autograd {backward.tolist()}"
            )


@pytest.mark.parametrize("row", [r for r in REDUCTIONS if r.complex_step], ids=lambda r: r.name)
def test_complex_step_goes_through_each_analytic_reduction(row: Op) -> None:
    # dot's torch function, torch.linalg.vecdot, conjugates x; the complex one must not.
    text, shapes = call_of(row)
    problem = parse(text, shapes=shapes)
    tape = compile_problem(problem)
    point = [0.5, -1.5, 2.0, 1.0, 0.25, -2.0][: len(problem.variables)]
    step = 1e-20
    for k, variable in enumerate(problem.variables):
        inputs = [torch.tensor([complex(v)], dtype=torch.complex128) for v in point]
        inputs[k] = inputs[k] + 1j * step
        (output,) = tape.run(inputs).outputs
        subs = dict(zip(problem.variables, point, strict=True))
        exact = float(sympy.diff(problem.outputs[0], variable).evalf(30, subs=subs))
        assert output.imag.item() / step == pytest.approx(exact, rel=1e-14), variable.name


def test_norm_at_the_origin_has_gradient_zero_and_is_a_kink_of_the_edge_finder() -> None:
    problem = parse("norm(x)", shapes={"x": (2,)})
    tape = compile_problem(problem)
    assert has_edges(tape) and not has_edges(compile_problem(parse("sum(x)", shapes=_X2)))
    # Two points: the origin, and (3, 4).
    inputs = [
        torch.tensor([0.0, 3.0], dtype=torch.float64, requires_grad=True),
        torch.tensor([0.0, 4.0], dtype=torch.float64, requires_grad=True),
    ]
    (output,) = tape.run(inputs).outputs
    grads = torch.autograd.grad(output.sum(), inputs)
    assert [g.tolist() for g in grads] == [[0.0, 0.6], [0.0, 0.8]]
    edges = find_edges(tape, inputs, [0, 1], torch.float64)
    assert edges.describe(0) == ["the kink of norm where x[0], x[1] = 0"]
    assert edges.describe(1) == []
    (gap,) = edges.gaps
    assert gap.value.tolist() == [0.0, 5.0]


def test_the_kinks_of_abs_and_max_are_described_as_before() -> None:
    problem = parse("abs(x - 1) + max(x, y)")
    inputs = columns([1.0, 1.0], requires_grad=True)
    edges = find_edges(compile_problem(problem), inputs, [0, 1], torch.float64)
    assert edges.describe(0) == ["the kink of abs where x - 1 = 0", "the kink of max where y = x"]


# -- The reference: each reduction's mpmath function -----------------------------------------


@pytest.mark.parametrize("row", REDUCTIONS, ids=lambda row: row.name)
def test_each_reductions_mpmath_function_agrees_with_evalf(row: Op) -> None:
    symbols = sympy.symbols(f"a0:{3 * row.reduces}", real=True)
    formula = row.node(*symbols)
    rng = random.Random(row.name)
    points = [tuple(round(rng.uniform(-2, 2), 6) for _ in symbols) for _ in range(4)]
    table = reference([formula], symbols, points)
    for point, (value,) in zip(points, table, strict=True):
        subs = {s: sympy.Rational(Fraction(x)) for s, x in zip(symbols, point, strict=True)}
        truth = row.elementary(*symbols).evalf(REFERENCE_DIGITS + 10, subs=subs)
        with mpmath.workdps(REFERENCE_DIGITS + 10):
            error = abs(mpmath.mpf(value) - mpmath.mpf(str(truth)))
            assert error <= abs(mpmath.mpf(str(truth))) * mpmath.mpf(10) ** (
                1 - REFERENCE_DIGITS
            ), f"{row.name}{point}: reference {value} vs evalf {truth}"


def test_the_reference_keeps_exact_reductions_exact() -> None:
    a, b = sympy.symbols("a b", real=True)
    (values,) = reference(
        [OPS["mean"].node(a, b), OPS["norm"].node(a, b), OPS["dot"].node(a, b, b, a)],
        [a, b],
        [(Fraction(1, 3), Fraction(1, 4))],
    )
    with mpmath.workdps(REFERENCE_DIGITS):
        assert values[0] == mpmath.mpf(7) / 24  # 7/24, rounded once
        assert values[1] == mpmath.mpf(5) / 12
        assert values[2] == mpmath.mpf(1) / 6
    assert parse("norm([3, 4])").outputs == (5,)
