"""The safe parser: expression text to one SymPy expression, through an allow-list over `ast`.

User text never reaches eval, exec, sympify, parse_expr or lambdify. The text is checked
character by character and against cost limits before Python's `ast` parses it; the tree
is then walked with an allow-list built from the op table that constructs SymPy objects
directly. Anything not on the list is refused with the offending piece, its column and
what is allowed.
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
from typing import NoReturn

import sympy
from sympy.core.parameters import distribute

from .deadline import OutOfTime, time_limit
from .errors import LimitError, ParseError
from .ops import CONSTANTS, FUNCTIONS, OPS
from .problem import Problem


@dataclass(frozen=True)
class Limits:
    """What one input may cost; every bound is checked before the work it guards."""

    length: int = 10_000  # characters, checked before ast.parse
    depth: int = 100  # nesting of brackets and of the parsed tree
    nodes: int = 5_000  # nodes in the parsed tree
    variables: int = 64
    literal_digits: int = 100  # digits in one run of a number literal
    exponent: int = 1_000  # numerator and denominator of a rational exponent
    number_digits: int = 1_000  # decimal digits of a number the expression computes exactly
    name_length: int = 64
    arguments: int = 8  # of one call: SymPy compares min/max arguments pairwise
    constant_seconds: float = 1.0  # to evaluate the constant parts (pi**cosh(9**9) never ends)


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
_OPEN, _CLOSE = "([{", ")]}"

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
    """Parse `text` into a Problem: one SymPy expression over real variables.

    Raises ParseError for anything outside the input language and LimitError for input
    that would cost more than `limits` allow; nothing in the text is ever executed.
    """
    if not isinstance(text, str):
        raise ParseError(f"expected the expression as text, got {type(text).__name__}")
    if len(text) > limits.length:
        raise LimitError("expression length", f"{limits.length} characters", len(text))
    _check_characters(text)
    _check_brackets_and_digits(text, limits)
    if not text.strip():
        raise ParseError("the expression is empty", allowed=ALLOWED)
    source, columns = _caret_to_power(text)
    tree = _ast_parse(source, columns, text, limits)
    _check_tree_size(tree, columns, limits)
    builder = _Builder(text, source, columns, limits)
    # Keep 4*(x**2+3*x+1) as written: SymPy would distribute the 4 and lose the shared
    # subexpression that the torch graph and the chain-rule explanation are built around.
    with distribute(False):
        expr = builder.build(tree.body)
    _check_result(expr, limits)
    variables = tuple(sorted(builder.symbols.values(), key=lambda s: _natural_key(s.name)))
    if len(variables) > limits.variables:
        raise LimitError("number of variables", limits.variables, len(variables))
    return Problem(text=text, expr=expr, variables=variables)


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
    # Iterative, so a deep tree is measured without recursing into it.
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
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _check_result(expr: sympy.Expr, limits: Limits) -> None:
    if expr.has(sympy.zoo, sympy.oo, sympy.nan):
        raise ParseError("the expression is undefined everywhere (a division by zero or log(0))")
    for constant in _constant_parts(expr):
        shown = str(constant)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        try:
            with time_limit(limits.constant_seconds):
                value = constant.evalf(20)
        except (OverflowError, RecursionError, ValueError, ZeroDivisionError):
            raise ParseError(f"the constant {shown} is too large to evaluate") from None
        except OutOfTime:
            if threading.current_thread() is not threading.main_thread():
                continue  # no timer off the main thread: accepted unchecked (see deadline.py)
            raise LimitError(
                "time to evaluate a constant", f"{limits.constant_seconds} s"
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


class _Builder:
    """Walks an allow-listed ast and builds the SymPy expression; refuses everything else."""

    def __init__(self, text: str, source: str, columns: list[int], limits: Limits) -> None:
        self.text = text
        self.source = source
        self.columns = columns
        self.limits = limits
        self.symbols: dict[str, sympy.Symbol] = {}

    def build(self, node: ast.expr) -> sympy.Expr:
        if isinstance(node, ast.Constant):
            return self._number(node)
        if isinstance(node, ast.Name):
            return self._name(node)
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

    def _unary(self, node: ast.UnaryOp) -> sympy.Expr:
        if isinstance(node.op, ast.USub):
            return -self.build(node.operand)
        if isinstance(node.op, ast.UAdd):
            return self.build(node.operand)
        self._refuse(
            node, f"the operator {_OTHER_OPERATORS.get(type(node.op), '?')!r} is not allowed"
        )

    def _binary(self, node: ast.BinOp) -> sympy.Expr:
        kind = type(node.op)
        if kind not in _BINARY:
            symbol = _OTHER_OPERATORS.get(kind, "?")
            hint = (
                " (matrix products need matrix variables, not supported yet)"
                if kind is ast.MatMult
                else ""
            )
            self._refuse(node, f"the operator {symbol!r} is not allowed{hint}")
        left, right = self.build(node.left), self.build(node.right)
        if kind is ast.Add:
            result = OPS["add"].build(left, right)
        elif kind is ast.Sub:
            result = OPS["add"].build(left, -right)
        elif kind is ast.Mult:
            result = OPS["mul"].build(left, right)
        elif kind is ast.Div:
            result = OPS["mul"].build(left, self._power(node, right, sympy.S.NegativeOne))
        else:
            result = self._power(node, left, right)
        # Each step at most doubles a number's digits, so checking every step bounds them all.
        for term in (result, *result.args):
            if term.is_Rational and _number_digits(term) > self.limits.number_digits:
                raise LimitError(
                    "digits of a computed number",
                    self.limits.number_digits,
                    f"about {int(_number_digits(term))}",
                    column=self._column(node),
                )
        return result

    def _power(self, node: ast.AST, base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
        # SymPy computes numeric powers eagerly (9**9**9 would never finish): bound them first.
        if exponent.is_Rational:
            if max(abs(exponent.p), abs(exponent.q)) > self.limits.exponent:
                size = _number_digits(exponent)
                shown = exponent if size < 20 else f"a number of about {int(size)} digits"
                raise LimitError(
                    "size of an exponent", self.limits.exponent, shown, column=self._column(node)
                )
            # SymPy computes c**n for a number c at once, and (c*x)**n as c**n * x**n.
            coefficient = base.as_coeff_Mul()[0] if base.is_Mul else base
            if coefficient.is_Rational and coefficient != 0:
                digits = abs(exponent) * _number_digits(coefficient)
                if digits > self.limits.number_digits:
                    raise LimitError(
                        "digits of a computed number",
                        self.limits.number_digits,
                        f"about {int(digits)}",
                        column=self._column(node),
                    )
        return OPS["pow"].build(base, exponent)

    def _call(self, node: ast.Call) -> sympy.Expr:
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
            return row.build(*arguments)
        except ValueError as error:  # the row refuses these arguments, e.g. log to base 1
            self._refuse(node, str(error), allowed=None)


def _digits(value: int) -> float:
    return abs(value).bit_length() * math.log10(2)


def _number_digits(number: sympy.Rational) -> float:
    return max(_digits(number.p), _digits(number.q))
