"""The safe parser: expression text to SymPy expressions, through an allow-list over `ast`.

User text never reaches eval, exec, sympify, parse_expr or lambdify. The text is checked
character by character and against cost limits before Python's `ast` parses it; the tree
is then walked once with an allow-list built from the op table that constructs SymPy
objects directly, two of them at each node: the expression as SymPy evaluates it, and the
graph as typed, with evaluation off. Anything not on the list is refused with the
offending piece, its column and what is allowed.
"""

from __future__ import annotations

import ast
import math
import re
import threading
import unicodedata
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple, NoReturn

import sympy
from sympy.core.parameters import distribute

from .deadline import OutOfTime, time_limit
from .errors import LimitError, ParseError
from .ops import CONSTANTS, FUNCTIONS, OPS, Op
from .problem import Problem


@dataclass(frozen=True)
class Limits:
    """What one input may cost; every bound is checked before the work it guards."""

    length: int = 10_000  # characters, checked before ast.parse
    depth: int = 100  # nesting of brackets and of the parsed tree; a + b + c is not nested
    nodes: int = 5_000  # nodes in the parsed tree, estimated from the text before parsing
    variables: int = 64
    literal_digits: int = 100  # digits in one run of a number literal
    exponent: int = 1_000  # numerator and denominator of a rational exponent
    number_digits: int = 1_000  # decimal digits of a number the expression computes exactly
    name_length: int = 64
    arguments: int = 8  # of one call: SymPy compares min/max arguments pairwise
    constant_seconds: float = 1.0  # to evaluate all constant parts (pi**cosh(9**9) never ends)


DEFAULT_LIMITS = Limits()

ALLOWED = (
    "decimal numbers, variable names, + - * / ** ^, parentheses, the constants "
    + " and ".join(CONSTANTS)
    + ", and the functions "
    + ", ".join(sorted(FUNCTIONS))
)

_DECIMAL = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DIGIT_RUN = re.compile(r"\d+")
# The tokens that each become at least one node of the parsed tree: numbers (a sign inside
# an exponent is part of the number), names, and the arithmetic operators (** is one).
_NODE_TOKEN = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[A-Za-z_]\w*|\*\*|//|[-+*/^%@~]")
_OPEN, _CLOSE = "([{", ")]}"

# The operators that chain: a - b + c is one sum and a / b * c one product, not nested ones.
_CHAINS: dict[type[ast.operator], str] = {
    ast.Add: "add",
    ast.Sub: "add",
    ast.Mult: "mul",
    ast.Div: "mul",
}

# What each refused Python construct is called in an error message.
_REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Slice: "slices",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.NamedExpr: "assignment expressions (:=)",
    ast.IfExp: "conditional expressions",
    ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.List: "lists (vector-valued expressions are not supported yet)",
    ast.Tuple: "tuples (vector-valued expressions are not supported yet)",
    ast.Starred: "starred arguments",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_OTHER_OPERATORS = {
    ast.MatMult: "@",
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.Not: "not",
    ast.Invert: "~",
}


def parse(text: str, limits: Limits = DEFAULT_LIMITS) -> Problem:
    """Parse `text` into a Problem: its SymPy expression and graph over real variables.

    Raises ParseError for anything outside the input language and LimitError for input
    that would cost more than `limits` allow; nothing in the text is ever executed.
    """
    if not isinstance(text, str):
        raise ParseError(f"expected the expression as text, got {type(text).__name__}")
    if len(text) > limits.length:
        raise LimitError("expression length", f"{limits.length} characters", len(text))
    _check_characters(text)
    _check_brackets_and_digits(text, limits)
    _check_node_estimate(text, limits)
    if not text.strip():
        raise ParseError("the expression is empty", allowed=ALLOWED)
    source, columns = _caret_to_power(text)
    tree = _ast_parse(source, columns, text, limits)
    _check_tree_size(tree, columns, limits)
    builder = _Builder(text, source, columns, limits)
    # Keep 4*(x**2+3*x+1) as written: SymPy would distribute the 4 and lose the shared
    # subexpression that the torch graph and the chain-rule explanation are built around.
    with distribute(False):
        expr, graph = builder.build(tree.body)
    _check_result(expr, graph, limits)
    # Every name the text uses, so every symbol of the graph (where nothing cancels).
    variables = tuple(sorted(builder.symbols.values(), key=lambda s: _natural_key(s.name)))
    if len(variables) > limits.variables:
        raise LimitError("number of variables", limits.variables, len(variables))
    return Problem(text=text, outputs=(expr,), variables=variables, graphs=(graph,))


def _check_characters(text: str) -> None:
    for index, char in enumerate(text):
        if (" " <= char <= "~" or char == "\t") and char != "#":
            continue
        if char == "#":
            what = "a comment (#)"
        elif char == "\0":
            what = "NUL byte"
        elif char in "\r\n":
            what = "line break (an expression is one line)"
        elif ord(char) < 128:
            what = f"control character U+{ord(char):04X}"
        else:
            name = unicodedata.name(char, "unnamed")
            what = f"non-ASCII character U+{ord(char):04X} ({name})"
        raise ParseError(
            f"{what} is not allowed", column=index + 1, allowed="ASCII text: " + ALLOWED
        )


def _check_brackets_and_digits(text: str, limits: Limits) -> None:
    # Before ast.parse, which needs memory and recursion in proportion to both.
    depth = 0
    for index, char in enumerate(text):
        if char in _OPEN:
            depth += 1
            if depth > limits.depth:
                raise LimitError("nesting depth", limits.depth, column=index + 1)
        elif char in _CLOSE:
            depth -= 1
    for run in _DIGIT_RUN.finditer(text):
        if len(run.group()) > limits.literal_digits:
            raise LimitError(
                "digits in a number",
                limits.literal_digits,
                len(run.group()),
                column=run.start() + 1,
            )


def _check_node_estimate(text: str, limits: Limits) -> None:
    # Before ast.parse, which recurses once per link of a chain like x+x+...+x: the text's
    # node tokens never outnumber the nodes of its tree, so this refuses nothing that the
    # exact count after parsing would accept, and it keeps every chain short enough to parse.
    count = sum(1 for _ in _NODE_TOKEN.finditer(text))
    if count > limits.nodes:
        raise LimitError("number of nodes", limits.nodes)


def _caret_to_power(text: str) -> tuple[str, list[int]]:
    """Rewrite `^` as `**`; return the new text and each of its characters' original column."""
    pieces: list[str] = []
    columns: list[int] = []
    start = len(text) - len(text.lstrip(" \t"))  # ast.parse reads leading blanks as indent
    for index, char in enumerate(text[start:], start):
        pieces.append("**" if char == "^" else char)
        columns.extend([index + 1] * (2 if char == "^" else 1))
    columns.append(len(text) + 1)  # the end of the text, where a syntax error may point
    return "".join(pieces), columns


def _ast_parse(source: str, columns: list[int], text: str, limits: Limits) -> ast.Expression:
    try:
        # Python's own SyntaxWarnings ("invalid escape sequence") are not the user's concern,
        # and under -W error they would turn some texts into errors: silence them.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source, mode="eval")
    except SyntaxError as error:
        offset = min(max((error.offset or 1) - 1, 0), len(columns) - 1)
        column = columns[offset]
        reason = (error.msg or "invalid syntax").split(".")[0]
        if "too many nested" in reason:
            raise LimitError("nesting depth", limits.depth, column=column) from None
        raise ParseError(
            f"not a single expression ({reason})",
            column=column,
            piece=text[column - 1 : column + 9] or None,
            allowed=ALLOWED,
        ) from None
    except (RecursionError, MemoryError):
        raise LimitError("nesting depth", limits.depth) from None


def _check_tree_size(tree: ast.Expression, columns: list[int], limits: Limits) -> None:
    # Iterative, so a deep tree is measured without recursing into it. The left operand of
    # a chain (the a + b in a + b - c) continues the chain at its depth: the builder makes
    # the chain one n-ary node, so only real nesting costs recursion there and in SymPy.
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, ast.expr):
            continue
        count += 1
        if depth > limits.depth:
            raise LimitError("nesting depth", limits.depth, column=columns[node.col_offset])
        if count > limits.nodes:
            raise LimitError("number of nodes", limits.nodes)
        for child in ast.iter_child_nodes(node):
            same_chain = child is getattr(node, "left", None) and _chain(child) == _chain(node)
            stack.append((child, depth if same_chain else depth + 1))


def _chain(node: ast.AST) -> str | None:
    """The op-table row of the chain that `node` links ("add" or "mul"), or None."""
    return _CHAINS.get(type(node.op)) if isinstance(node, ast.BinOp) else None


def _check_result(expr: sympy.Expr, graph: sympy.Expr, limits: Limits) -> None:
    """Refuse an expression that is undefined, or a constant part of the expression or of the
    graph (which the compiler evaluates to a number) that is not a finite real number."""
    if expr.has(sympy.zoo, sympy.oo, sympy.nan):
        raise ParseError("the expression is undefined everywhere (a division by zero or log(0))")
    # One time limit for all of them: a long sum of slow constants must not take its length
    # times the limit.
    parts = dict.fromkeys([*_constant_parts(expr), *_constant_parts(graph)])
    if not parts:
        return
    try:
        with time_limit(limits.constant_seconds):
            for constant in parts:
                _check_constant(constant)
    except OutOfTime:
        if threading.current_thread() is not threading.main_thread():
            return  # no timer off the main thread: accepted unchecked (see deadline.py)
        raise LimitError("time to evaluate a constant", f"{limits.constant_seconds} s") from None


def _check_constant(constant: sympy.Expr) -> None:
    # Every part must be real, not just the whole: abs(asin(pi)) is real, asin(pi) is not,
    # and the compiler and the reference evaluate the parts.
    for part in sympy.postorder_traversal(constant):
        if not part.is_Atom:
            _check_constant_value(part)


def _check_constant_value(constant: sympy.Expr) -> None:
    shown = str(constant)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    try:
        value = constant.evalf(20)
    except (OverflowError, RecursionError, ValueError, ZeroDivisionError):
        raise ParseError(f"the constant {shown} is too large to evaluate") from None
    except Exception as error:  # any other failure of evalf is still the input's refusal
        raise ParseError(
            f"the constant {shown} cannot be evaluated ({type(error).__name__})"
        ) from None
    if not (value.is_real and value.is_finite):
        raise ParseError(
            f"the constant {shown} is not a finite real number",
            allowed="constants inside each function's real domain",
        )


def _constant_parts(expr: sympy.Expr) -> list[sympy.Expr]:
    """The largest subexpressions without variables (other than plain numbers)."""
    if not expr.free_symbols:
        return [] if expr.is_Rational or expr.is_NumberSymbol else [expr]
    return [part for arg in expr.args for part in _constant_parts(arg)]


def _natural_key(name: str) -> list[tuple[int, int | str]]:
    return [
        (0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part
    ]


class _Both(NamedTuple):
    """One subexpression built twice: `expr` as SymPy evaluates it, `graph` as typed."""

    expr: sympy.Expr
    graph: sympy.Expr


class _Builder:
    """Walks an allow-listed ast and builds both SymPy forms; refuses everything else."""

    def __init__(self, text: str, source: str, columns: list[int], limits: Limits) -> None:
        self.text = text
        self.source = source
        self.columns = columns
        self.limits = limits
        self.symbols: dict[str, sympy.Symbol] = {}

    def build(self, node: ast.expr) -> _Both:
        if isinstance(node, ast.Constant):
            number = self._number(node)
            return _Both(number, number)
        if isinstance(node, ast.Name):
            name = self._name(node)
            return _Both(name, name)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.BinOp):
            return self._binary(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        kind = _REFUSED.get(type(node), type(node).__name__)
        self._refuse(node, f"{kind}, which the input language does not have")

    # -- errors ---------------------------------------------------------------------------

    def _column(self, node: ast.AST) -> int:
        return self.columns[getattr(node, "col_offset", 0)]

    def _piece(self, node: ast.AST) -> str:
        start = getattr(node, "col_offset", 0)
        end = getattr(node, "end_col_offset", None) or start + 1
        piece = self.text[self.columns[start] - 1 : self.columns[end] - 1]
        return piece if len(piece) <= 40 else piece[:37] + "..."

    def _refuse(self, node: ast.AST, reason: str, allowed: str | None = ALLOWED) -> NoReturn:
        raise ParseError(
            reason, column=self._column(node), piece=self._piece(node), allowed=allowed
        )

    # -- the graph ------------------------------------------------------------------------

    def _graph(self, node: ast.AST, row: Op, *args: sympy.Expr) -> sympy.Expr:
        """The row applied to `args` as typed: its SymPy form with evaluation off.

        A row whose form is its node class (sin, add, max) makes that node. Another (sqrt,
        log) builds its form over placeholders, filled in without evaluation: whatever the
        row checks of its arguments (log's base) it has checked on the evaluated ones, and
        never sees an unevaluated one it cannot judge (is 1+1 positive?). No
        sympy.evaluate(False) block: entering and leaving one clears SymPy's whole cache.
        """
        try:
            if row.node is not None and row.build is row.node:
                return row.node(*args, evaluate=False)
            placeholders = [sympy.Dummy() for _ in args]
            return _filled(row.build(*placeholders), dict(zip(placeholders, args, strict=True)))
        except Exception as error:  # SymPy may refuse an unevaluated form in many ways
            said = (str(error).splitlines() or [""])[0][:120]
            self._refuse(
                node, f"cannot be kept as typed ({type(error).__name__}: {said})", allowed=None
            )

    def _negated(self, node: ast.AST, graph: sympy.Expr) -> sympy.Expr:
        # -x is (-1)*x, as SymPy writes it; a number is negated in place.
        if graph.is_Number:
            return -graph
        return self._graph(node, OPS["mul"], sympy.S.NegativeOne, graph)

    # -- leaves ---------------------------------------------------------------------------

    def _number(self, node: ast.Constant) -> sympy.Expr:
        if not isinstance(node.value, int | float) or isinstance(node.value, bool):
            kind = {
                str: "strings",
                bytes: "bytes",
                complex: "imaginary numbers",
                bool: "booleans",
            }.get(type(node.value), f"{type(node.value).__name__} values")
            self._refuse(node, f"{kind} are not allowed")
        literal = self.source[node.col_offset : node.end_col_offset]
        if not _DECIMAL.fullmatch(literal):
            self._refuse(
                node,
                "only plain decimal numbers are allowed (no hex, octal, binary, "
                "underscores or imaginary unit)",
            )
        value = float(literal)
        if not math.isfinite(value):
            self._refuse(
                node, "the number is too large for float64 (its largest is 1.8e308)", allowed=None
            )
        mantissa = re.split("[eE]", literal)[0]
        if value == 0.0 and mantissa.strip("0.") == "":
            return sympy.S.Zero  # 0e99999999: never let Fraction build 10**99999999
        if value == 0.0:
            self._refuse(
                node,
                "the number underflows to zero in float64 (its smallest positive value is 5e-324)",
                allowed=None,
            )
        exact = Fraction(literal)  # safe now: its exponent is within float64's range
        return sympy.Rational(exact.numerator, exact.denominator)

    def _name(self, node: ast.Name) -> sympy.Expr:
        name = node.id
        if name.startswith("_"):
            self._refuse(node, "names starting with an underscore are not allowed")
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in OPS:
            self._refuse(node, f"{name} is a function: call it as {name}(...)")
        if not _NAME.fullmatch(name):
            self._refuse(
                node,
                "a variable name is ASCII letters, digits and underscores, starting with a letter",
            )
        if len(name) > self.limits.name_length:
            raise LimitError(
                "length of a variable name",
                self.limits.name_length,
                len(name),
                column=self._column(node),
            )
        if name not in self.symbols:
            self.symbols[name] = sympy.Symbol(name, real=True)
        return self.symbols[name]

    # -- operators ------------------------------------------------------------------------

    def _unary(self, node: ast.UnaryOp) -> _Both:
        if isinstance(node.op, ast.USub):
            operand = self.build(node.operand)
            return _Both(-operand.expr, self._negated(node, operand.graph))
        if isinstance(node.op, ast.UAdd):
            return self.build(node.operand)
        self._refuse(
            node, f"the operator {_OTHER_OPERATORS.get(type(node.op), '?')!r} is not allowed"
        )

    def _binary(self, node: ast.BinOp) -> _Both:
        kind = type(node.op)
        if kind not in _BINARY:
            symbol = _OTHER_OPERATORS.get(kind, "?")
            hint = (
                " (matrix products need matrix variables, not supported yet)"
                if kind is ast.MatMult
                else ""
            )
            self._refuse(node, f"the operator {symbol!r} is not allowed{hint}")
        if kind in _CHAINS:
            return self._chain(node)
        left, right = self.build(node.left), self.build(node.right)
        return self._power(node, left, right)

    def _chain(self, node: ast.BinOp) -> _Both:
        """A chain like a - b + c as one n-ary node of its row, built without recursing along
        it: a - b is a + (-1)*b and a / b is a * b**-1, as SymPy writes them.

        The evaluated form is combined pairwise in a balanced tree as the terms arrive (a
        binary counter): each partial result is checked before it grows again, and SymPy
        flattens each term O(log n) times rather than n times as in a left fold.
        """
        row = OPS[_CHAINS[type(node.op)]]
        links: list[tuple[type[ast.operator] | None, ast.expr]] = []
        first: ast.expr = node
        while isinstance(first, ast.BinOp) and _chain(first) == row.name:
            links.append((type(first.op), first.right))
            first = first.left
        graphs: list[sympy.Expr] = []
        partial: list[tuple[int, sympy.Expr]] = []  # (log2 of how many terms, their sum)
        for kind, operand in [(None, first), *reversed(links)]:
            term = self.build(operand)
            if kind is ast.Sub:
                term = _Both(-term.expr, self._negated(operand, term.graph))
            elif kind is ast.Div:
                term = self._power(operand, term, _Both(sympy.S.NegativeOne, sympy.S.NegativeOne))
            graphs.append(term.graph)
            size, expr = 0, term.expr
            while partial and partial[-1][0] == size:
                expr = self._checked(node, row.build(partial.pop()[1], expr))
                size += 1
            partial.append((size, expr))
        expr = partial.pop()[1]
        while partial:
            expr = self._checked(node, row.build(partial.pop()[1], expr))
        # Python computes a leading run of numbers (the 2*3 in 2*3*x) before any tensor
        # exists, so it is one constant of the graph, not two tensor operations.
        numbers = next((i for i, g in enumerate(graphs) if g.free_symbols), len(graphs))
        if 2 <= numbers < len(graphs):
            graphs[:numbers] = [self._graph(node, row, *graphs[:numbers])]
        return _Both(expr, self._graph(node, row, *graphs))

    def _checked(self, node: ast.AST, result: sympy.Expr) -> sympy.Expr:
        # SymPy combines the numbers of a sum or product as it builds it: the coefficients of
        # its terms and the bases of numeric powers (sqrt(2)*sqrt(3) is sqrt(6)). Each step
        # at most doubles a number's digits, so checking every step bounds them all.
        for number in _top_numbers(result):
            if _number_digits(number) > self.limits.number_digits:
                raise LimitError(
                    "digits of a computed number",
                    self.limits.number_digits,
                    f"about {int(_number_digits(number))}",
                    column=self._column(node),
                )
        return result

    def _power(self, node: ast.AST, base: _Both, exponent: _Both) -> _Both:
        # SymPy computes numeric powers eagerly (9**9**9 would never finish): bound them first.
        if exponent.expr.is_Rational:
            if max(abs(exponent.expr.p), abs(exponent.expr.q)) > self.limits.exponent:
                size = _number_digits(exponent.expr)
                shown = exponent.expr if size < 20 else f"a number of about {int(size)} digits"
                raise LimitError(
                    "size of an exponent", self.limits.exponent, shown, column=self._column(node)
                )
            # SymPy computes c**n for a number c at once, and (c*x)**n as c**n * x**n.
            coefficient = base.expr.as_coeff_Mul()[0] if base.expr.is_Mul else base.expr
            if coefficient.is_Rational and coefficient != 0:
                digits = abs(exponent.expr) * _number_digits(coefficient)
                if digits > self.limits.number_digits:
                    raise LimitError(
                        "digits of a computed number",
                        self.limits.number_digits,
                        f"about {int(digits)}",
                        column=self._column(node),
                    )
        row = OPS["pow"]
        expr = self._checked(node, row.build(base.expr, exponent.expr))
        return _Both(expr, self._graph(node, row, base.graph, exponent.graph))

    def _call(self, node: ast.Call) -> _Both:
        if not isinstance(node.func, ast.Name):
            self.build(node.func)  # refuses the callee with its own name (attribute access, ...)
            self._refuse(node, "only the listed functions can be called")
        name = node.func.id
        row = FUNCTIONS.get(name)
        if row is None:
            if name.startswith("_"):
                self._refuse(node.func, "names starting with an underscore are not allowed")
            self._refuse(
                node.func,
                f"unknown function {name!r}",
                allowed="the functions " + ", ".join(sorted(FUNCTIONS)),
            )
        if node.keywords:
            keyword = node.keywords[0]
            self._refuse(keyword, "keyword arguments are not allowed", allowed=None)
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                self._refuse(argument, "starred arguments are not allowed", allowed=None)
        self._refuse_trailing_comma(node)
        low, high = row.arity
        count = len(node.args)
        if count < low or (high is not None and count > high):
            expected = (
                str(low)
                if low == high
                else (f"at least {low}" if high is None else f"{low} or {high}")
            )
            self._refuse(
                node,
                f"{name} takes {expected} argument{'s' * (expected != '1')}, got {count}",
                allowed=None,
            )
        if count > self.limits.arguments:
            raise LimitError(
                f"arguments of one call to {name}",
                self.limits.arguments,
                count,
                column=self._column(node),
            )
        arguments = [self.build(argument) for argument in node.args]
        try:
            # Note: under distribute(False) SymPy's sinh(3 - x - y) recurses forever (its
            # eval takes -(3 - x - y) as a product it can negate again); a function applies
            # with SymPy's usual distribution, its arguments stay as they were built.
            with distribute(True):
                expr = row.build(*(a.expr for a in arguments))
        except ValueError as error:  # the row refuses these arguments, e.g. log to base 1
            self._refuse(node, str(error), allowed=None)
        return _Both(expr, self._graph(node, row, *(a.graph for a in arguments)))

    def _refuse_trailing_comma(self, node: ast.Call) -> None:
        # ast forgets the comma in sin(x,): look for it between the last argument and the
        # closing bracket, where only blanks, the argument's own closing brackets and it
        # can stand.
        if not node.args or node.end_col_offset is None:
            return
        start = node.args[-1].end_col_offset or node.col_offset
        comma = self.source.find(",", start, node.end_col_offset)
        if comma >= 0:
            raise ParseError(
                "a trailing comma after the last argument is not allowed",
                column=self.columns[comma],
                piece=self._piece(node),
            )


def _filled(form: sympy.Basic, values: dict[sympy.Dummy, sympy.Expr]) -> sympy.Expr:
    """`form` with its placeholders replaced by `values`, rebuilt without evaluation.

    Only `form` itself is walked (an op-table row's few nodes), never the values put in.
    """
    if form in values:
        return values[form]
    if not form.args:
        return form
    return form.func(*(_filled(arg, values) for arg in form.args), evaluate=False)


def _top_numbers(expr: sympy.Basic) -> list[sympy.Rational]:
    """The rationals among `expr`, its arguments and theirs."""
    candidates = [expr, *expr.args, *(a for arg in expr.args for a in arg.args)]
    return [c for c in candidates if c.is_Rational]


def _digits(value: int) -> float:
    return abs(value).bit_length() * math.log10(2)


def _number_digits(number: sympy.Rational) -> float:
    return max(_digits(number.p), _digits(number.q))
