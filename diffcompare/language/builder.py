"""The walk over an allow-listed `ast`: every node builds two SymPy forms, the expression
as SymPy evaluates it and the graph as typed; anything not on the list is refused with its
piece, its column and what is allowed."""

from __future__ import annotations

import ast
import itertools
import math
import re
from collections.abc import Sequence
from fractions import Fraction
from typing import NoReturn

import sympy
from sympy.core.parameters import distribute

from diffcompare.errors import LimitError, ParseError
from diffcompare.language.array_building import MINUS_ONE, ArrayBuilding, Both, Value
from diffcompare.language.arrays import (
    Array,
    Shape,
)
from diffcompare.language.constants import Constants
from diffcompare.language.limits import (
    ALLOWED,
    CHAINS,
    DECIMAL,
    NAME,
    Limits,
    chain,
    number_digits,
    top_numbers,
)
from diffcompare.language.ops import CONSTANTS, FUNCTIONS, OPS, Op

REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
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
    ast.Tuple: "tuples (a vector is written [a, b])",
    ast.Starred: "starred arguments",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}

BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
OTHER_OPERATORS = {
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


class Builder(ArrayBuilding):
    """Walks an allow-listed ast and builds both SymPy forms; refuses everything else."""

    def __init__(
        self, text: str, source: str, columns: list[int], limits: Limits, shapes: dict[str, Shape]
    ) -> None:
        self.text = text
        self.source = source
        self.columns = columns
        self.limits = limits
        self.shapes = shapes
        self.symbols: dict[str, sympy.Symbol] = {}
        self.arrays: dict[str, Array[Both]] = {}
        self.array_nodes = 0
        self.constants = Constants(limits.constant_digits)

    def build(self, node: ast.expr) -> Value:
        if isinstance(node, ast.Constant):
            number = self._number(node)
            return Both(number, number)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.BinOp):
            return self._binary(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.List):
            return self._list(node)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        kind = REFUSED.get(type(node), type(node).__name__)
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

    # -- arrays ---------------------------------------------------------------------------

    def _graph(self, node: ast.AST, row: Op, *args: sympy.Expr) -> sympy.Expr:
        """The row applied to `args` as typed: its SymPy form with evaluation off.

        A row whose form is its node class (sin, add, max), or a reduction, makes that node.
        Another (sqrt, log) builds its form over placeholders, filled in without evaluation:
        whatever the row checks of its arguments (log's base) it has checked on the evaluated
        ones, and never sees an unevaluated one it cannot judge (is 1+1 positive?). No
        sympy.evaluate(False) block: entering and leaving one clears SymPy's whole cache.
        """
        try:
            if row.node is not None and (row.build is row.node or row.stacked):
                return row.node(*args, evaluate=False)
            placeholders = [sympy.Dummy() for _ in args]
            return filled(row.build(*placeholders), dict(zip(placeholders, args, strict=True)))
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

    def _minus(self, node: ast.AST, value: Value) -> Value:
        return self._each(node, lambda t: Both(-t.expr, self._negated(node, t.graph)), [value])

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
        if not DECIMAL.fullmatch(literal):
            self._refuse(
                node,
                "only plain decimal numbers are allowed (no hex, octal, binary or underscores)",
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

    def _name(self, node: ast.Name) -> Value:
        name = node.id
        if name.startswith("_"):
            self._refuse(node, "names starting with an underscore are not allowed")
        if name in CONSTANTS:
            return Both(CONSTANTS[name], CONSTANTS[name])
        if name in OPS:
            self._refuse(node, f"{name} is a function: call it as {name}(...)")
        if not NAME.fullmatch(name):
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
        if name in self.shapes:
            if name not in self.arrays:
                self.arrays[name] = array_variable(name, self.shapes[name])
            return self.arrays[name]
        if name not in self.symbols:
            self.symbols[name] = sympy.Symbol(name, real=True)
        return Both(self.symbols[name], self.symbols[name])

    # -- operators ------------------------------------------------------------------------

    def _unary(self, node: ast.UnaryOp) -> Value:
        if isinstance(node.op, ast.USub):
            return self._minus(node, self.build(node.operand))
        if isinstance(node.op, ast.UAdd):
            return self.build(node.operand)
        self._refuse(
            node, f"the operator {OTHER_OPERATORS.get(type(node.op), '?')!r} is not allowed"
        )

    def _binary(self, node: ast.BinOp) -> Value:
        kind = type(node.op)
        if kind is ast.MatMult:
            return self._matmul(node)
        if kind not in BINARY:
            self._refuse(node, f"the operator {OTHER_OPERATORS.get(kind, '?')!r} is not allowed")
        if kind in CHAINS:
            return self._chain(node)
        left, right = self.build(node.left), self.build(node.right)
        return self._each(node, lambda base, exp: self._power(node, base, exp), [left, right])

    def _chain(self, node: ast.BinOp) -> Value:
        """A chain like a - b + c as one n-ary node of its row (in each component), built
        without recursing along it: a - b is a + (-1)*b and a / b is a * b**-1, as SymPy
        writes them."""
        row = OPS[CHAINS[type(node.op)]]
        links: list[tuple[type[ast.operator] | None, ast.expr]] = []
        first: ast.expr = node
        while isinstance(first, ast.BinOp) and chain(first) == row.name:
            links.append((type(first.op), first.right))
            first = first.left
        terms: list[Value] = []
        for kind, operand in [(None, first), *reversed(links)]:
            term = self.build(operand)
            if kind is ast.Sub:
                term = self._minus(operand, term)
            elif kind is ast.Div:
                term = self._reciprocal(operand, term)
            terms.append(term)
        return self._each(node, lambda *parts: self._combined(node, row, parts), terms)

    def _reciprocal(self, node: ast.AST, value: Value) -> Value:
        return self._each(node, lambda t: self._power(node, t, MINUS_ONE), [value])

    def _combined(self, node: ast.AST, row: Op, terms: Sequence[Both]) -> Both:
        expr = self._merged(node, row, *(term.expr for term in terms))
        graphs = [term.graph for term in terms]
        # Python computes a leading run of numbers (the 2*3 in 2*3*x) before any tensor
        # exists, so it is one constant of the graph, not two tensor operations.
        numbers = next((i for i, g in enumerate(graphs) if g.free_symbols), len(graphs))
        if 2 <= numbers < len(graphs):
            graphs[:numbers] = [self._graph(node, row, *graphs[:numbers])]
        return Both(expr, self._graph(node, row, *graphs))

    def _merged(self, node: ast.AST, row: Op, *exprs: sympy.Expr) -> sympy.Expr:
        """The n-ary `row` (add or mul) of `exprs`, as SymPy evaluates it.

        In one call when the numbers SymPy combines (the terms', their arguments' and theirs)
        are small enough together that no result of combining them can pass the limit.
        Else pairwise in a balanced tree as the terms arrive (a binary counter): each
        partial result is checked before it grows again, and SymPy flattens each term
        O(log n) times rather than n times as in a left fold.
        """
        digits = math.fsum(number_digits(n) for e in exprs for n in top_numbers(e))
        if digits + math.log10(len(exprs)) + 1 <= self.limits.number_digits:
            return self._checked(node, row.build(*exprs))
        partial_sums: list[tuple[int, sympy.Expr]] = []  # (log2 of how many terms, their sum)
        for term in exprs:
            size, expr = 0, term
            while partial_sums and partial_sums[-1][0] == size:
                expr = self._checked(node, row.build(partial_sums.pop()[1], expr))
                size += 1
            partial_sums.append((size, expr))
        expr = partial_sums.pop()[1]
        while partial_sums:
            expr = self._checked(node, row.build(partial_sums.pop()[1], expr))
        return expr

    def _checked(self, node: ast.AST, result: sympy.Expr) -> sympy.Expr:
        # SymPy combines the numbers of a sum or product as it builds it: the coefficients of
        # its terms and the bases of numeric powers (sqrt(2)*sqrt(3) is sqrt(6)). Each step
        # at most doubles a number's digits, so checking every step bounds them all.
        for number in top_numbers(result):
            if number_digits(number) > self.limits.number_digits:
                raise LimitError(
                    "digits of a computed number",
                    self.limits.number_digits,
                    f"about {int(number_digits(number))}",
                    column=self._column(node),
                )
        return result

    def _power(self, node: ast.AST, base: Both, exponent: Both) -> Both:
        # SymPy computes numeric powers eagerly (9**9**9 would never finish): bound them first.
        if exponent.expr.is_Rational:
            if max(abs(exponent.expr.p), abs(exponent.expr.q)) > self.limits.exponent:
                size = number_digits(exponent.expr)
                shown = exponent.expr if size < 20 else f"a number of about {int(size)} digits"
                raise LimitError(
                    "size of an exponent", self.limits.exponent, shown, column=self._column(node)
                )
            # SymPy computes c**n for a number c at once, and (c*x)**n as c**n * x**n.
            coefficient = base.expr.as_coeff_Mul()[0] if base.expr.is_Mul else base.expr
            if coefficient.is_Rational and coefficient != 0:
                digits = abs(exponent.expr) * number_digits(coefficient)
                if digits > self.limits.number_digits:
                    raise LimitError(
                        "digits of a computed number",
                        self.limits.number_digits,
                        f"about {int(digits)}",
                        column=self._column(node),
                    )
        row = OPS["pow"]
        try:
            built = row.build(base.expr, exponent.expr)
        except RecursionError:
            # Note: under distribute(False) SymPy's exp(sqrt(2*x**2 + 1/4) - x - 1/2)**(1/2)
            # recurses forever (Abs.eval of the exponent it halves); SymPy's usual
            # distribution builds it, and is only used where it must be.
            with distribute(True):
                built = row.build(base.expr, exponent.expr)
        expr = self._real(self._checked(node, built))
        return Both(expr, self._graph(node, row, base.graph, exponent.graph))

    def _call(self, node: ast.Call) -> Value:
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
        low, high = row.user_arity
        count = len(node.args)
        if count < low or (high is not None and count > high):
            expected = (
                str(low)
                if low == high
                else (f"at least {low}" if high is None else f"{low} or {high}")
            )
            self._refuse(
                node,
                f"{name} takes {expected} argument{'s' * (expected != '1')}, got {count}"
                + reduction_hint(row),
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
        if row.stacked:
            return self._reduction(node, row, arguments)
        # Note: under distribute(False) SymPy's sinh(3 - x - y) recurses forever (its eval
        # takes -(3 - x - y) as a product it can negate again); a function applies with
        # SymPy's usual distribution, its arguments stay as they were built. Once for all
        # components: entering and leaving distribute clears SymPy's whole cache.
        with distribute(True):
            return self._each(node, lambda *args: self._applied(node, row, args), arguments)

    def _applied(self, node: ast.Call, row: Op, arguments: Sequence[Both]) -> Both:
        try:
            expr = row.build(*(a.expr for a in arguments))
        except ValueError as error:  # the row refuses these arguments, e.g. log to base 1
            self._refuse(node, str(error), allowed=None)
        return Both(self._real(expr), self._graph(node, row, *(a.graph for a in arguments)))

    def _real(self, expr: sympy.Expr) -> sympy.Expr:
        """`expr`, refused at once if it is a constant but not a real number: SymPy may never
        finish applying a function to one (sqrt(acos(2)**2) does not). Undefined constants
        (1/0) are left to the check of the result, which calls them so."""
        if not (expr.free_symbols or expr.is_Atom or expr.has(sympy.zoo, sympy.oo, sympy.nan)):
            self.constants.check([expr])
        return expr

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


def array_variable(name: str, shape: Shape) -> Array[Both]:
    """The array variable `name`: one real symbol per component, x[0] or W[0,1], row-major."""
    indices = itertools.product(*(range(size) for size in shape))
    symbols = [sympy.Symbol(f"{name}[{','.join(map(str, i))}]", real=True) for i in indices]
    return Array(shape, tuple(Both(s, s) for s in symbols))


def reduction_hint(row: Op) -> str:
    if not row.stacked:
        return ""
    example = ", ".join(["[a, b]", "[c, d]"][: row.reduces])
    what = "an array" if row.reduces == 1 else f"{row.reduces} vectors"
    return f" ({what}, e.g. {row.name}({example}))"


def filled(form: sympy.Basic, values: dict[sympy.Dummy, sympy.Expr]) -> sympy.Expr:
    """`form` with its placeholders replaced by `values`, rebuilt without evaluation.

    Only `form` itself is walked (an op-table row's few nodes), never the values put in.
    """
    if form in values:
        return values[form]
    if not form.args:
        return form
    return form.func(*(filled(arg, values) for arg in form.args), evaluate=False)
