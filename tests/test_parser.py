"""Tests of the safe parser: what it accepts, what it refuses and why, and that it runs nothing."""

from __future__ import annotations

import builtins
import dataclasses
import os
import random
import re
import signal
import string
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple, NoReturn

import pytest
import sympy
import sympy.parsing.sympy_parser
import torch
from corpus import GRAPHS, HOSTILE, VALID, Hostile
from hypothesis import given, settings
from hypothesis import strategies as st

from diffcompare.errors import DiffCompareError, InputError, LimitError, ParseError
from diffcompare.language import builder, parser
from diffcompare.language.ops import FUNCTIONS
from diffcompare.language.parser import DEFAULT_LIMITS, Limits, parse
from diffcompare.paths.compiler import compile_exprs, compile_problem

HANG_GUARD_SECONDS = 5
MAX_MESSAGE_LENGTH = 400  # the CLI prints a message on one line
REPO = Path(__file__).resolve().parents[1]


@contextmanager
def hang_guard(text: str) -> Iterator[None]:
    """Fail the test when parsing `text` has used HANG_GUARD_SECONDS of CPU time.

    A hang guard, not a speed assertion (the project allows none): every parse here takes
    milliseconds, so it trips only when a cost limit is missing and the parse would run for
    minutes. It counts CPU time (SIGVTALRM), leaving the wall-clock timer (SIGALRM) to the
    test that checks the parser leaves a caller's timer alone. A signal interrupts Python
    code, where SymPy spends its time, but not one long C call such as a big integer power:
    test_parse_does_not_hang_in_c_code runs those inputs in a child process.
    """
    if not hasattr(signal, "SIGVTALRM"):  # Windows: run unguarded
        yield
        return

    def on_timer(signum: int, frame: object) -> None:
        # pytest.fail raises a BaseException, which no `except Exception` in SymPy swallows.
        pytest.fail(
            f"parse({text[:60]!r}) still running after {HANG_GUARD_SECONDS} s of CPU time: "
            "is a cost limit missing?",
            pytrace=False,
        )

    previous = signal.signal(signal.SIGVTALRM, on_timer)
    signal.setitimer(signal.ITIMER_VIRTUAL, HANG_GUARD_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)


def outcome(
    text: str, limits: Limits = DEFAULT_LIMITS, shapes: Mapping[str, tuple[int, ...]] | None = None
) -> InputError | None:
    """The InputError that parsing `text` raises, or None when it parses."""
    try:
        parse(text, limits, shapes)
    except InputError as error:
        return error
    return None


def refusal(
    text: str, limits: Limits = DEFAULT_LIMITS, shapes: Mapping[str, tuple[int, ...]] | None = None
) -> InputError | None:
    """outcome() under the hang guard."""
    with hang_guard(text):
        return outcome(text, limits, shapes)


def assert_one_short_line(message: str) -> None:
    assert "\n" not in message
    assert len(message) <= MAX_MESSAGE_LENGTH, message


# -- Acceptance ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected", "names"), VALID, ids=[v[0] for v in VALID])
def test_valid_input_parses_to_the_expected_expression(
    text: str, expected: str, names: tuple[str, ...]
) -> None:
    problem = parse(text)
    assert (str(problem.expr), problem.names) == (expected, names)


@pytest.mark.parametrize("text", [v[0] for v in VALID])
def test_variables_are_real_and_numbers_exact(text: str) -> None:
    problem = parse(text)
    assert [v.name for v in problem.variables if not v.is_real] == []
    assert problem.expr.atoms(sympy.Float) == set()


def test_corpus_calls_every_user_function() -> None:
    called = {name for name in FUNCTIONS for text, _, _ in VALID if re.search(rf"\b{name}\(", text)}
    assert sorted(set(FUNCTIONS) - called) == []


def test_abs_of_a_variable_differentiates_to_its_sign() -> None:
    # Holds only for a real symbol: for a complex one SymPy leaves a derivative of Abs.
    problem = parse("abs(x)")
    x = problem.symbol("x")
    assert sympy.diff(problem.expr, x) == sympy.sign(x)


def test_variables_come_in_natural_order() -> None:
    assert parse("x10 * x2 + x1 + y + x").names == ("x", "x1", "x2", "x10", "y")


@pytest.mark.parametrize(
    ("caret", "stars"),
    [
        ("x^2+1", "x**2+1"),
        ("-x^2", "-(x**2)"),
        ("2^3^2", "2**(3**2)"),
        ("x^-y^2", "x**(-(y**2))"),
        ("e^x*y", "exp(x)*y"),
    ],
)
def test_caret_is_power_with_the_precedence_of_stars(caret: str, stars: str) -> None:
    assert parse(caret).expr == parse(stars).expr


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.1", sympy.Rational(1, 10)),
        ("2.5e-3", sympy.Rational(1, 400)),
        (".5", sympy.Rational(1, 2)),
        ("1e308", sympy.Integer(10) ** 308),
        ("5e-324", sympy.Rational(5, 10**324)),
    ],
)
def test_decimals_become_exact_rationals(text: str, value: sympy.Rational) -> None:
    expr = parse(text).expr
    assert (expr, expr.is_Rational) == (value, True)


# -- The graph: the expression as typed, which torch runs ---------------------------------


def tree(expr: sympy.Basic) -> str:
    """`expr` as Class(arguments) in the order it holds them (str and srepr sort them)."""
    if not expr.args:
        return str(expr)
    return f"{type(expr).__name__}({', '.join(tree(arg) for arg in expr.args)})"


@pytest.mark.parametrize(("text", "expected"), GRAPHS, ids=[g[0] for g in GRAPHS])
def test_graph_keeps_the_expression_as_typed(text: str, expected: str) -> None:
    assert tree(parse(text).graph) == expected


@pytest.mark.parametrize("text", [v[0] for v in VALID] + [g[0] for g in GRAPHS])
def test_graph_is_over_the_variables_and_compiles(text: str) -> None:
    problem = parse(text)
    assert problem.graph.free_symbols <= set(problem.variables)
    assert problem.graph.atoms(sympy.Float) == set()
    compile_exprs([problem.graph], problem.variables)  # raises CompileError for any other node


UNIT_ROUNDOFF = 2.0**-53
# torch's float64 functions return the exact result of their rounded arguments within a few
# units in the last place; 4u per operation leaves room for the worst of them.
OP_ERROR = 4 * UNIT_ROUNDOFF


def seeded_points(dimensions: int, seed: int = 20260) -> list[tuple[float, ...]]:
    """Three points in (0.1, 0.9) and two in (-0.9, -0.1), away from every function's kinks
    and edges and inside asin's and log's real domains at least once."""
    rng = random.Random(seed)
    signs = [1, 1, 1, -1, -1]
    return [tuple(sign * rng.uniform(0.1, 0.9) for _ in range(dimensions)) for sign in signs]


def rounding_bound(problem: parser.Problem, point: tuple[float, ...]) -> float:
    """A first-order bound on the float64 rounding error of the graph at `point`.

    Each operation's result is the exact one times (1 + d) with |d| <= OP_ERROR, and so is
    each constant that float64 cannot hold exactly (pi, 0.1); such a relative perturbation
    of a value v moves the output by |df/dv| |v| d to first order, which autograd gives for
    every v at once. The bound is OP_ERROR times the sum of |df/dv| |v|: the running
    magnitude of the computation, weighted by how much each step matters, so cancellation
    (exp(x)-1-x near 0) and amplification (1/x) are both accounted for. The compiler
    evaluates constant subtrees (sin(pi)) at 30 digits, more accurately than float64
    operations would; here they run as float64 operations, which only loosens the bound.
    """
    inexact = {
        atom: sympy.Symbol(f"_c{i}")
        for i, atom in enumerate(problem.graph.atoms(sympy.Number, sympy.NumberSymbol))
        if not (atom.is_Rational and sympy.Rational(float(atom)) == atom)
    }
    with sympy.evaluate(False):  # keep the graph's shape while constants become inputs
        lifted = problem.graph.xreplace(inexact)
    tape = compile_exprs([lifted], [*problem.variables, *inexact.values()])
    values = [*point, *(float(atom) for atom in inexact)]
    inputs = [torch.tensor([v], dtype=torch.float64, requires_grad=True) for v in values]
    run = tape.run(inputs, keep=True)
    (output,) = run.outputs
    steps = [t for t in [*run.intermediates, *inputs[len(point) :]] if t.requires_grad]
    if not output.requires_grad or not steps:
        return 0.0  # no rounding anywhere: the output is an input or an exact constant
    grads = torch.autograd.grad(output.sum(), steps, allow_unused=True)
    weight = sum(
        float((g * v).detach().abs().sum())
        for g, v in zip(grads, steps, strict=True)
        if g is not None
    )
    return OP_ERROR * weight


@pytest.mark.parametrize(("text", "_expr", "_names"), VALID, ids=[v[0] for v in VALID])
def test_graph_computes_the_expression_within_rounding(
    text: str, _expr: str, _names: tuple[str, ...]
) -> None:
    problem = parse(text)
    tape = compile_problem(problem)
    compared = []
    if not problem.variables:
        pytest.skip("Tape.run with no inputs has no dtype to follow: it gives float32")
    for point in seeded_points(len(problem.variables)):
        (value,) = tape.run([torch.tensor([p], dtype=torch.float64) for p in point]).outputs
        exact = problem.expr.xreplace(
            {v: sympy.Rational(p) for v, p in zip(problem.variables, point, strict=True)}
        ).evalf(50)
        if not (exact.is_real and exact.is_finite and torch.isfinite(value).all()):
            continue  # outside the real domain: both say so in their own way
        bound = rounding_bound(problem, point)
        error = float(abs(sympy.Float(value.item(), 50) - exact))
        assert error <= bound, f"at {point}: torch {value.item()!r}, exact {exact}, bound {bound}"
        compared.append(point)
    assert compared, "no seeded point inside the domain: the test compared nothing"


def test_x_times_sqrt_x_keeps_the_sqrt_that_makes_autograd_nan_at_zero() -> None:
    # SymPy would make x*sqrt(x) into x**(3/2), whose derivative 3/2*sqrt(x) is 0 at 0.
    # The graph as typed has a mul and a sqrt node, as torch records for x * torch.sqrt(x):
    # the product rule gives sqrt(0) * 1 + 0 * (the sqrt node's backward, 1/(2*sqrt(0)) =
    # inf), and 0 * inf is NaN. That is the real failure the user came to see.
    problem = parse("x*sqrt(x)")
    (x,) = problem.variables
    assert str(problem.expr) == "x**(3/2)"
    assert sympy.diff(problem.expr, x).subs(x, 0) == 0
    tape = compile_problem(problem)
    assert sorted(node.op.name for node in tape.nodes if node.op is not None) == ["mul", "sqrt"]
    at_zero = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    (output,) = tape.run([at_zero]).outputs
    (grad,) = torch.autograd.grad(output.sum(), [at_zero])
    assert output.item() == 0.0
    assert torch.isnan(grad).all(), grad


def test_graph_keeps_names_that_cancel_from_the_expression() -> None:
    problem = parse("y - y + x/x")
    assert (str(problem.expr), problem.names) == ("1", ("x", "y"))
    assert problem.graph.free_symbols == set(problem.variables)


def test_a_failing_unevaluated_build_is_a_one_line_parse_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> NoReturn:
        raise TypeError("SymPy had a bad day\nsecond line")

    monkeypatch.setattr(builder, "filled", broken)  # the sqrt row builds through it
    error = refusal("x*sqrt(x)")
    assert isinstance(error, ParseError)
    assert "sqrt(x)" in str(error) and "TypeError" in str(error)
    assert_one_short_line(str(error))


# -- Rejection ----------------------------------------------------------------------------


def test_error_classes_share_the_input_error_base() -> None:
    assert issubclass(ParseError, InputError) and issubclass(LimitError, InputError)
    assert issubclass(InputError, DiffCompareError)


@pytest.mark.parametrize("case", HOSTILE, ids=[h.id for h in HOSTILE])
def test_hostile_input_is_refused_with_a_message_naming_the_problem(case: Hostile) -> None:
    with hang_guard(case.text), pytest.raises(case.error) as caught:
        parse(case.text)
    message = str(caught.value)
    for word in case.words:
        assert word in message


@pytest.mark.parametrize("case", HOSTILE, ids=[h.id for h in HOSTILE])
def test_hostile_input_message_is_one_short_line(case: Hostile) -> None:
    error = refusal(case.text)
    assert error is not None, "parsed"
    assert_one_short_line(str(error))


@pytest.mark.parametrize(
    "text",
    ["0e-99999999", "0.0e99999999", "((sqrt(2)*10**400)**1000*sqrt(2))**1000"],
    ids=["zero-to-a-huge-negative-power", "zero-to-a-huge-power", "power-of-a-product-tower"],
)
def test_parse_does_not_hang_in_c_code(text: str) -> None:
    # No signal interrupts one long C call (a big integer power), so the parse runs in a
    # child whose watchdog thread (faulthandler) ends it and prints where it was stuck.
    child = (
        "import faulthandler, sys\n"
        "from diffcompare.errors import InputError\n"
        "from diffcompare.language.parser import parse\n"
        f"faulthandler.dump_traceback_later({HANG_GUARD_SECONDS}, exit=True)\n"
        "try:\n"
        "    parse(sys.argv[1])\n"
        "except InputError:\n"
        "    pass\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", child, text],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_text_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ParseError, match="text"):
        parse(b"x")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ['"\\d"', "1if x else 2"])
def test_parsing_emits_no_python_warnings(text: str) -> None:
    # ast.parse warns about these; under -W error the warning would change the outcome.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        refusal(text)
    assert [str(warning.message) for warning in caught] == []


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="needs SIGALRM")
def test_parse_leaves_the_callers_alarm_running() -> None:
    previous = signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.setitimer(signal.ITIMER_REAL, 600)
    try:
        parse("sin(1)*x")  # a constant part: evaluated under the parser's own time limit
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert remaining > 0


# -- Nothing executes ---------------------------------------------------------------------

# What user text must never reach; patching a module attribute also catches a lazy import.
FORBIDDEN = [
    (builtins, "eval"),
    (builtins, "exec"),
    (os, "system"),
    (sympy, "sympify"),
    (sympy, "parse_expr"),
    (sympy.parsing.sympy_parser, "parse_expr"),
    (sympy, "lambdify"),
]


def forbidden(name: str) -> Callable[..., NoReturn]:
    def called(*args: object, **kwargs: object) -> NoReturn:
        # pytest.fail raises a BaseException, which the parser cannot catch and carry on.
        pytest.fail(f"the parser called {name}{args[:1]!r}", pytrace=False)

    return called


def test_parser_never_evaluates_or_executes_text(monkeypatch: pytest.MonkeyPatch) -> None:
    # A name the parser imported directly (from sympy import sympify) would dodge the patches.
    originals = [getattr(module, name) for module, name in FORBIDDEN]
    assert [f for f in originals if any(f is g for g in vars(parser).values())] == []
    # Warm up: SymPy imports some modules on first use, and an import runs through exec.
    for text, _, _ in VALID:
        parse(text)
    for module, name in FORBIDDEN:
        monkeypatch.setattr(module, name, forbidden(f"{module.__name__}.{name}"))

    for text, expected, _ in VALID:
        assert str(parse(text).expr) == expected
    for case in HOSTILE:
        assert refusal(case.text) is not None, case.id


# -- Limits -------------------------------------------------------------------------------


class LimitCase(NamedTuple):
    field: str
    limits: Limits
    at_limit: str  # accepted: at the limit or just under it
    over_limit: str  # refused: just over it
    words: str  # in the LimitError's message
    shapes: Mapping[str, tuple[int, ...]] | None = None  # the array variables of both texts


NAMES_64 = [f"x{i}" for i in range(64)]
TEN_TO_99 = "1" + "0" * 99  # its powers have as many digits as the parser's estimate says

LIMIT_CASES = [
    LimitCase("length", DEFAULT_LIMITS, "x" + " " * 9_999, "x" + " " * 10_000, "expression length"),
    LimitCase("depth", DEFAULT_LIMITS, "sin(" * 99 + "x" + ")" * 99,
              "sin(" * 100 + "x" + ")" * 100, "nesting depth"),
    LimitCase("nodes", Limits(nodes=5), "x+y+z", "x+y+-z", "number of nodes"),
    LimitCase("variables", DEFAULT_LIMITS, "+".join(NAMES_64), "+".join([*NAMES_64, "y"]),
              "number of variables"),
    LimitCase("literal_digits", DEFAULT_LIMITS, "9" * 100, "9" * 101, "digits in a number"),
    LimitCase("exponent", DEFAULT_LIMITS, "x**1000 + x**(1/1000)", "x**(1/1001)",
              "size of an exponent"),
    LimitCase("number_digits", DEFAULT_LIMITS, f"{TEN_TO_99}**10", f"{TEN_TO_99}**11",
              "digits of a computed number"),
    LimitCase("arguments", DEFAULT_LIMITS, f"max({','.join(NAMES_64[:8])})",
              f"max({','.join(NAMES_64[:9])})", "arguments of one call"),
    LimitCase("name_length", DEFAULT_LIMITS, "x" * 64, "x" * 65, "length of a variable name"),
    # exp(23) is about 10**9.99; exp(24) about 10**10.4 (and exp(-24) 10**-10.4).
    LimitCase("constant_digits", Limits(constant_digits=10), "exp(23)*x + exp(-23)",
              "exp(-24)*x", "decimal exponent of the constant exp(-24)"),
    # Arrays: x is a vector of 4; an array the text builds counts as one declared does.
    LimitCase("array_size", Limits(array_size=4), "x * [[1], [2]] + 1", "x * [[1], [2], [3]]",
              "components of one array", {"x": (2,)}),
    LimitCase("components", Limits(components=5), "sum(x) + y", "sum(x) + y + z",
              "number of scalar variables", {"x": (4,)}),
    # W@x: 2 components of 2 products and their sum, 8 nodes; 2*x and the sum 2 each; -W 4.
    LimitCase("array_nodes", Limits(array_nodes=12), "W@x + 2*x", "-W@x + 2*x",
              "scalar nodes built for arrays", {"W": (2, 2), "x": (2,)}),
]  # fmt: skip


def test_every_limit_has_a_case() -> None:
    fields = [field.name for field in dataclasses.fields(Limits)]
    assert sorted(case.field for case in LIMIT_CASES) == sorted(fields)


@pytest.mark.parametrize("case", LIMIT_CASES, ids=[c.field for c in LIMIT_CASES])
def test_input_at_the_limit_is_accepted(case: LimitCase) -> None:
    assert refusal(case.at_limit, case.limits, case.shapes) is None


@pytest.mark.parametrize("case", LIMIT_CASES, ids=[c.field for c in LIMIT_CASES])
def test_input_just_over_the_limit_is_refused(case: LimitCase) -> None:
    error = refusal(case.over_limit, case.limits, case.shapes)
    assert isinstance(error, LimitError)
    assert case.words in str(error)


def test_depth_counts_the_parsed_tree_not_only_brackets() -> None:
    limits = Limits(depth=5)
    assert refusal("-" * 4 + "x", limits) is None  # four minus nodes and x: depth 5
    assert isinstance(refusal("-" * 5 + "x", limits), LimitError)


@pytest.mark.parametrize(
    ("flat", "nested"),
    [
        ("x+y-x+y-x+y-x", "x+(y-(x+(y-(x+(y-x)))))"),
        ("x*y/x*y/x*y/x", "x*(y/(x*(y/(x*(y/x)))))"),
    ],
    ids=["sum", "product"],
)
def test_a_chain_of_one_operator_is_not_nesting(flat: str, nested: str) -> None:
    limits = Limits(depth=3)  # the chain, a term, and a term's operand
    assert refusal(flat, limits) is None
    assert isinstance(refusal(nested, limits), LimitError)
    assert refusal("x*y + y*x - x*y*x", limits) is None  # the products are the sum's terms
    assert isinstance(refusal("x*y + y*x - x*(y + x)", limits), LimitError)


def test_a_2000_term_sum_is_one_node_that_compiles_and_differentiates() -> None:
    text = "+".join(f"x{i % 50}" for i in range(2000))
    with hang_guard(text):
        problem = parse(text)
    assert (len(problem.graph.args), len(problem.expr.args)) == (2000, 50)
    tape = compile_problem(problem)
    assert tape.op_count == 1  # one n-ary add, which torch runs as 1999 additions
    (x0,) = [v for v in problem.variables if v.name == "x0"]
    assert sympy.diff(problem.expr, x0) == 40


def test_a_long_chain_cannot_grow_numbers_past_the_limit() -> None:
    # 1/p1 + 1/p2 + ... over distinct 20-digit denominators: the sum's denominator grows by
    # 20 digits a term, and the chain is refused as soon as it passes 1000, not at its end.
    text = "+".join(f"x/{10**19 + k}" for k in range(1, 400)) + " + y"
    error = refusal(text)
    assert isinstance(error, LimitError)
    assert "digits of a computed number" in str(error)


# The deepest nesting the limit allows, in shapes that SymPy and the compiler recurse on.
DEEPEST = {
    "brackets": "(" * 98 + "x" + ")" * 98,
    "functions": "sin(" * 98 + "x" + ")" * 98,
    "division": "1/(x-" * 49 + "x" + ")" * 49,
    "powers": "(x+" * 49 + "x" + ")^2" * 49,
    "negation": "-(x*" * 49 + "x" + ")" * 49,
}


@pytest.mark.parametrize("text", DEEPEST.values(), ids=DEEPEST.keys())
def test_the_deepest_input_builds_and_compiles_without_hitting_the_recursion_limit(
    text: str,
) -> None:
    with hang_guard(text):
        problem = parse(text)
    tape = compile_problem(problem)
    assert tape.op_count > 0 or text.startswith("(")
    assert str(problem.graph) and str(problem.expr) and hash(problem.graph)


# -- Fuzz ---------------------------------------------------------------------------------

# Random text mixes any character with printable ASCII (control characters included), so
# that some of it gets past the character check.
TEXT = st.text(st.one_of(st.characters(), st.sampled_from(string.printable)), max_size=200)

# Tokens joined with or without spaces, so that numbers, names and operators run together.
TOKENS = [
    *["x", "y", "x1", "x10", "E", "I", "oo", "nan", "e", "pi"],
    *["sin", "cos", "log", "exp", "sqrt", "abs", "min", "max", "relu", "sigmoid", "foo"],
    *["0", "1", "2", "9", "99999", "0.5", ".5", "1e308", "1e-400", "1e", "9**9**9", "9" * 120],
    *["+", "-", "*", "/", "**", "^", "(", ")", ",", ".", "[", "]", "{", "}", ":", ":=", "="],
    *["==", "<", "@", "%", "~", ";", "#", "\\", "'s'", '"', "f'", "b'", "j", "0x", "_"],
    *["lambda", "if", "else", "for", "in", "not", "and", "True", "None", "import", "yield"],
    *["__class__", "__import__", "__builtins__", "\t", "\n", "\x00", "\uff58", "\u200b"],
]
SOUP = st.builds(
    str.join, st.sampled_from(["", " "]), st.lists(st.sampled_from(TOKENS), max_size=30)
)


def call_text(name: str, arguments: list[str]) -> str:
    return f"{name}({', '.join(arguments)})"


def grammar_branches(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.builds(
        "({}{}{})".format, children, st.sampled_from("+ - * / ** ^".split()), children
    )
    negation = st.builds("-{}".format, children)
    call = st.builds(
        call_text, st.sampled_from(sorted(FUNCTIONS)), st.lists(children, min_size=1, max_size=3)
    )
    vector = st.builds(
        "[{}]".format, st.builds(", ".join, st.lists(children, min_size=1, max_size=3))
    )
    product = st.builds("({}@{})".format, children, children)
    indexed = st.builds("{}[{}]".format, children, st.sampled_from(["0", "-1", "1", "0, 1"]))
    return binary | negation | call | vector | product | indexed


# Expressions from the grammar reach the builder and SymPy, which few token soups do.
LEAVES = ["x", "y", "x2", "pi", "e", "0", "1", "2", "9", "0.5", "3.25e-2", "1e3", "1e308", "1e-300"]
GRAMMAR = st.recursive(st.sampled_from(LEAVES), grammar_branches, max_leaves=20)

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None)


def assert_parses_or_refuses(text: str) -> None:
    """parse returns a Problem over its own variables, or raises a one-line InputError."""
    with hang_guard(text):
        try:
            problem = parse(text)
        except InputError as error:  # any other exception fails the test
            assert_one_short_line(str(error))
            return
    assert problem.expr.free_symbols <= set(problem.variables)
    assert problem.graph.free_symbols <= set(problem.variables)
    with hang_guard(text):
        compile_problem(problem)  # any CompileError fails the test


@FUZZ
@given(TEXT)
def test_random_text_parses_or_is_refused(text: str) -> None:
    assert_parses_or_refuses(text)


@FUZZ
@given(SOUP)
def test_token_soup_parses_or_is_refused(text: str) -> None:
    assert_parses_or_refuses(text)


@FUZZ
@given(GRAMMAR)
def test_grammatical_expression_parses_or_is_refused(text: str) -> None:
    assert_parses_or_refuses(text)


# -- Off the main thread --------------------------------------------------------------------


@pytest.mark.parametrize("text", ["sqrt(-1)", "acos(2)"])
def test_non_real_constant_is_refused_off_the_main_thread(text: str) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        error = pool.submit(outcome, text).result()
    assert isinstance(error, ParseError)
