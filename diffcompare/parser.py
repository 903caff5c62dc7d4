"""The safe parser: expression text to SymPy expressions, through an allow-list over `ast`.

User text never reaches eval, exec, sympify, parse_expr or lambdify. The text is checked
character by character and against cost limits before Python's `ast` parses it; the tree
is then walked once with an allow-list built from the op table that constructs SymPy
objects directly, two of them at each node: the expression as SymPy evaluates it, and the
graph as typed, with evaluation off. A value may be an array (a vector or a matrix of such
pairs, see arrays.py): operators and functions apply to each component, reductions and @
combine components. Anything not on the list is refused with the offending piece, its
column and what is allowed.
"""

from __future__ import annotations

import ast
import itertools
import math
import re
import threading
import time
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import NamedTuple, NoReturn, TypeAlias

import sympy
from sympy.core.parameters import distribute

from .arrays import (
    Array,
    Shape,
    ShapeError,
    broadcast_shapes,
    components,
    described,
    elementwise,
    matmul_pairs,
    matmul_shape,
    shape_of,
    size_of,
    stacked,
    subscript,
)
from .deadline import OutOfTime, time_limit
from .errors import LimitError, ParseError, UsageError
from .ops import CONSTANTS, FUNCTIONS, OPS, Op
from .problem import Problem


@dataclass(frozen=True)
class Limits:
    """What one input may cost; every bound is checked before the work it guards."""

    length: int = 10_000  # characters, checked before ast.parse
    depth: int = 100  # nesting of brackets and of the parsed tree; a + b + c is not nested
    nodes: int = 5_000  # nodes in the parsed tree, estimated from the text before parsing
    variables: int = 64  # names: an array variable counts once
    literal_digits: int = 100  # digits in one run of a number literal
    exponent: int = 1_000  # numerator and denominator of a rational exponent
    number_digits: int = 1_000  # decimal digits of a number the expression computes exactly
    name_length: int = 64
    arguments: int = 8  # of one call: SymPy compares min/max arguments pairwise
    constant_seconds: float = 1.0  # to evaluate all constant parts (pi**cosh(9**9) never ends)
    array_size: int = 10_000  # components of one array: a variable's, or one the text builds
    components: int = 10_000  # scalar variables in all, every array variable's components
    # Scalar nodes that operations on arrays build, counted before each is built: SymPy makes
    # some 10,000 a second, and W@W at 100x100 would be 2 million.
    array_nodes: int = 50_000


DEFAULT_LIMITS = Limits()

# Short enough that a message with it fits on one line of at most 400 characters.
ALLOWED = (
    "decimal numbers, variables x and x[0], lists [a, b], + - * / ** ^ @, ( ), the constants "
    + " and ".join(CONSTANTS)
    + ", and the functions "
    + ", ".join(sorted(FUNCTIONS))
)
SUBSCRIPTS = "constant whole-number indices of an array: x[0], x[-1], W[1, 2], or W[1] for a row"

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


def parse(
    text: str,
    limits: Limits = DEFAULT_LIMITS,
    shapes: Mapping[str, Sequence[int]] | None = None,
) -> Problem:
    """Parse `text` into a Problem: its SymPy expression and graph over real variables.

    `shapes` declares array variables: {"x": (4,), "W": (2, 3)} makes x a vector and W a
    matrix, each one real symbol per component (x[0], W[1,2]). Raises ParseError for anything
    outside the input language, LimitError for input that would cost more than `limits`
    allow, and UsageError for a shape that is malformed or names no variable of the text;
    nothing in the text is ever executed.
    """
    if not isinstance(text, str):
        raise ParseError(f"expected the expression as text, got {type(text).__name__}")
    declared = _declared_shapes(shapes or {}, limits)
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
    builder = _Builder(text, source, columns, limits, declared)
    # Keep 4*(x**2+3*x+1) as written: SymPy would distribute the 4 and lose the shared
    # subexpression that the torch graph and the chain-rule explanation are built around.
    with distribute(False):
        value = builder.build(tree.body)
    unused = [name for name in declared if name not in builder.arrays]
    if unused:
        raise UsageError(f"--shape {unused[0]}: the expression has no variable {unused[0]}")
    parts = components(value)
    _check_result(parts, builder.constants)
    # Every name the text uses, so every symbol of the graph (where nothing cancels), in
    # natural order by name, an array's components together.
    named = {name: (symbol,) for name, symbol in builder.symbols.items()}
    named |= {name: tuple(c.expr for c in array.items) for name, array in builder.arrays.items()}
    if len(named) > limits.variables:
        raise LimitError("number of variables", limits.variables, len(named))
    variables = tuple(v for name in sorted(named, key=_natural_key) for v in named[name])
    if len(variables) > limits.components:
        raise LimitError("number of scalar variables", limits.components, len(variables))
    return Problem(
        text=text,
        outputs=tuple(part.expr for part in parts),
        variables=variables,
        graphs=tuple(part.graph for part in parts),
        output_shape=shape_of(value),
        shapes={name: declared[name] for name in sorted(declared, key=_natural_key)},
    )


def parse_shapes(text: str) -> dict[str, tuple[int, ...]]:
    """The array shapes a --shape option declares: "x=4,W=2x3" is {"x": (4,), "W": (2, 3)}
    (a caller merges repeated options). Raises UsageError, in one line, for malformed text,
    a size below 1, more than two dimensions, an array larger than the default limit of
    components, or a name given twice."""
    shapes: dict[str, tuple[int, ...]] = {}
    for item in text.split(","):
        name, equals, dims = (part.strip() for part in item.partition("="))
        shown = item.strip()
        if not (equals and name and dims):
            raise UsageError(
                f"--shape {text.strip()}: write NAME=SIZE for a vector or NAME=ROWSxCOLUMNS "
                "for a matrix, separated by commas (e.g. x=4,W=2x3)"
            )
        if name in shapes:
            raise UsageError(f"--shape {text.strip()}: {name} is given twice")
        sizes = [size.strip() for size in dims.lower().split("x")]
        for size in sizes:
            if not re.fullmatch(r"[+-]?\d{1,9}", size):
                raise UsageError(f"--shape {shown}: a size is a whole number, got {size!r}")
        shape = tuple(int(size) for size in sizes)
        problem = _shape_problem(name, shape)
        if problem is None and size_of(shape) > DEFAULT_LIMITS.array_size:
            problem = (
                f"an array has at most {DEFAULT_LIMITS.array_size} components, got {size_of(shape)}"
            )
        if problem is not None:
            raise UsageError(f"--shape {shown}: {problem}")
        shapes[name] = shape
    return shapes


def _declared_shapes(shapes: Mapping[str, Sequence[int]], limits: Limits) -> dict[str, Shape]:
    """The `shapes` given to parse, checked; raises UsageError or LimitError."""
    declared: dict[str, Shape] = {}
    for name, shape in shapes.items():
        dims = tuple(shape) if isinstance(shape, tuple | list) else (shape,)
        problem = _shape_problem(name, dims)
        if problem is not None:
            raise UsageError(f"--shape {name}: {problem}")
        if size_of(dims) > limits.array_size:
            raise LimitError(f"components of the array {name}", limits.array_size, size_of(dims))
        declared[name] = dims
    total = sum(size_of(shape) for shape in declared.values())
    if total > limits.components:
        raise LimitError("number of scalar variables", limits.components, total)
    return declared


def _shape_problem(name: object, shape: tuple[object, ...]) -> str | None:
    """Why `shape` cannot be the shape of an array variable `name`; None when it can."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return (
            f"{name!r} is not a variable name (ASCII letters, digits and underscores, "
            "starting with a letter)"
        )
    if name in CONSTANTS or name in OPS:
        return f"{name} is {'a constant' if name in CONSTANTS else 'a function'}, not a variable"
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        return f"a size is a whole number, got {shape!r}"
    if not 1 <= len(shape) <= 2:
        return f"an array has 1 or 2 dimensions (x=4 or W=2x3), got {len(shape)}"
    if any(d < 1 for d in shape):  # type: ignore[operator]
        return f"every size must be at least 1, got {'x'.join(map(str, shape))}"
    return None


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
            name = name if len(name) <= 40 else name[:37] + "..."  # the message is one line
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


def _check_result(parts: Sequence[_Both], constants: _Constants) -> None:
    """Refuse an expression that is undefined, or a constant part of the expression or of the
    graph (which the compiler evaluates to a number) that is not a finite real number."""
    if any(part.expr.has(sympy.zoo, sympy.oo, sympy.nan) for part in parts):
        raise ParseError("the expression is undefined everywhere (a division by zero or log(0))")
    constants.check(
        c for part in parts for c in (*_constant_parts(part.expr), *_constant_parts(part.graph))
    )


class _Constants:
    """Evaluates constants to refuse those that are not finite real numbers, all of them in
    one time budget: a long sum of slow constants must not take its length times the limit.

    Every part must be real, not just the whole: abs(asin(pi)) is real, asin(pi) is not, and
    the compiler and the reference evaluate the parts. Each part is evaluated once.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.left = seconds
        self.done: set[sympy.Basic] = set()

    def check(self, constants: Iterable[sympy.Expr]) -> None:
        todo = [c for c in dict.fromkeys(constants) if c not in self.done]
        if not todo:
            return
        start = time.monotonic()
        try:
            with time_limit(self.left):
                for constant in todo:
                    for part in sympy.postorder_traversal(constant):
                        if not part.is_Atom and part not in self.done:
                            _check_constant_value(part)
                            self.done.add(part)
        except OutOfTime:
            if threading.current_thread() is not threading.main_thread():
                return  # no timer off the main thread: accepted unchecked (see deadline.py)
            raise LimitError("time to evaluate a constant", f"{self.seconds} s") from None
        finally:
            self.left -= time.monotonic() - start


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


Value: TypeAlias = "_Both | Array[_Both]"
_MINUS_ONE = _Both(sympy.S.NegativeOne, sympy.S.NegativeOne)


class _Builder:
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
        self.arrays: dict[str, Array[_Both]] = {}
        self.array_nodes = 0
        self.constants = _Constants(limits.constant_seconds)

    def build(self, node: ast.expr) -> Value:
        if isinstance(node, ast.Constant):
            number = self._number(node)
            return _Both(number, number)
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

    # -- arrays ---------------------------------------------------------------------------

    def _spend(self, node: ast.AST, shape: Shape, nodes: int) -> None:
        """Count an array of `shape` about to be built from `nodes` new scalar nodes."""
        if size_of(shape) > self.limits.array_size:
            raise LimitError(
                "components of one array",
                self.limits.array_size,
                size_of(shape),
                column=self._column(node),
            )
        self.array_nodes += nodes
        if self.array_nodes > self.limits.array_nodes:
            raise LimitError(
                "scalar nodes built for arrays",
                self.limits.array_nodes,
                f"{self.array_nodes} by here",
                column=self._column(node),
            )

    def _each(self, node: ast.AST, fn: Callable[..., _Both], values: Sequence[Value]) -> Value:
        """`fn` applied to each component of `values` broadcast together (once, to the values
        themselves, when all are scalars)."""
        if not any(isinstance(value, Array) for value in values):
            return fn(*values)
        try:
            shape = broadcast_shapes([shape_of(value) for value in values])
        except ShapeError as error:
            self._refuse(node, str(error), allowed=None)
        self._spend(node, shape, size_of(shape))
        return elementwise(fn, values)

    def _list(self, node: ast.List) -> Value:
        elements = [self.build(element) for element in node.elts]
        try:
            array = stacked(elements)
        except ShapeError as error:
            self._refuse(node, str(error), allowed=None)
        self._spend(node, array.shape, 0)
        return array

    def _subscript(self, node: ast.Subscript) -> Value:
        value = self.build(node.value)
        if not isinstance(value, Array):
            if isinstance(node.value, ast.Name) and node.value.id not in CONSTANTS:
                name = node.value.id
                self._refuse(
                    node,
                    f"{name} is a scalar, which has no subscripts; declare its shape with "
                    f"--shape {name}=N for a vector or {name}=RxC for a matrix",
                    allowed=None,
                )
            self._refuse(node, "a scalar has no subscripts", allowed=SUBSCRIPTS)
        indices = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        try:
            return subscript(value, [self._index(index) for index in indices])
        except ShapeError as error:
            self._refuse(node, str(error), allowed=SUBSCRIPTS)

    def _index(self, node: ast.expr) -> int:
        if isinstance(node, ast.Slice):
            self._refuse(node, "slices are not supported", allowed=SUBSCRIPTS)
        sign, number = 1, node
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            sign, number = (-1 if isinstance(node.op, ast.USub) else 1), node.operand
        if not isinstance(number, ast.Constant) or not isinstance(number.value, int | float):
            self._refuse(node, "an index must be a constant whole number", allowed=SUBSCRIPTS)
        literal = self.source[number.col_offset : number.end_col_offset]
        if isinstance(number.value, bool) or not re.fullmatch(r"\d+", literal):
            self._refuse(node, f"the index {literal} is not a whole number", allowed=SUBSCRIPTS)
        return sign * int(literal)

    def _matmul(self, node: ast.BinOp) -> Value:
        left, right = self.build(node.left), self.build(node.right)
        if not (isinstance(left, Array) and isinstance(right, Array)):
            side = "right" if isinstance(left, Array) else "left"
            self._refuse(
                node,
                f"the operator '@' multiplies vectors and matrices, and its {side} side is "
                "a scalar (multiply by a scalar with *)",
                allowed=None,
            )
        try:
            shape = matmul_shape(left.shape, right.shape)
        except ShapeError as error:
            self._refuse(node, str(error), allowed=None)
        self._spend(node, shape, size_of(shape) * 2 * left.shape[-1])
        # Each component is the dot product of a row and a column, one dot node in the graph.
        _, pairs = matmul_pairs(left, right)
        items = [self._reduced(node, OPS["dot"], pair) for pair in pairs]
        return Array(shape, tuple(items)) if shape else items[0]

    def _reduction(self, node: ast.Call, row: Op, arguments: list[Value]) -> _Both:
        """The reduction `row` over the components of its arguments, as one node."""
        shapes = [shape_of(argument) for argument in arguments]
        if len(arguments) > 1 and (any(len(s) != 1 for s in shapes) or len(set(shapes)) > 1):
            self._refuse(
                node,
                f"{row.name} takes {len(arguments)} vectors of one length, got "
                + " and ".join(described(s) for s in shapes),
                allowed=None,
            )
        parts = [c for argument in arguments for c in components(argument)]
        self._spend(node, (), len(parts))
        return self._reduced(node, row, parts)

    def _reduced(self, node: ast.AST, row: Op, parts: Sequence[_Both]) -> _Both:
        # The expansion's sums and products are built as chains are, bounding their numbers.
        expr = row.build(
            *(part.expr for part in parts),
            add=partial(self._merged, node, OPS["add"]),
            mul=partial(self._merged, node, OPS["mul"]),
        )
        return _Both(self._checked(node, expr), self._graph(node, row, *(p.graph for p in parts)))

    # -- the graph ------------------------------------------------------------------------

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

    def _minus(self, node: ast.AST, value: Value) -> Value:
        return self._each(node, lambda t: _Both(-t.expr, self._negated(node, t.graph)), [value])

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
            return _Both(CONSTANTS[name], CONSTANTS[name])
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
        if name in self.shapes:
            if name not in self.arrays:
                self.arrays[name] = _array_variable(name, self.shapes[name])
            return self.arrays[name]
        if name not in self.symbols:
            self.symbols[name] = sympy.Symbol(name, real=True)
        return _Both(self.symbols[name], self.symbols[name])

    # -- operators ------------------------------------------------------------------------

    def _unary(self, node: ast.UnaryOp) -> Value:
        if isinstance(node.op, ast.USub):
            return self._minus(node, self.build(node.operand))
        if isinstance(node.op, ast.UAdd):
            return self.build(node.operand)
        self._refuse(
            node, f"the operator {_OTHER_OPERATORS.get(type(node.op), '?')!r} is not allowed"
        )

    def _binary(self, node: ast.BinOp) -> Value:
        kind = type(node.op)
        if kind is ast.MatMult:
            return self._matmul(node)
        if kind not in _BINARY:
            self._refuse(node, f"the operator {_OTHER_OPERATORS.get(kind, '?')!r} is not allowed")
        if kind in _CHAINS:
            return self._chain(node)
        left, right = self.build(node.left), self.build(node.right)
        return self._each(node, lambda base, exp: self._power(node, base, exp), [left, right])

    def _chain(self, node: ast.BinOp) -> Value:
        """A chain like a - b + c as one n-ary node of its row (in each component), built
        without recursing along it: a - b is a + (-1)*b and a / b is a * b**-1, as SymPy
        writes them."""
        row = OPS[_CHAINS[type(node.op)]]
        links: list[tuple[type[ast.operator] | None, ast.expr]] = []
        first: ast.expr = node
        while isinstance(first, ast.BinOp) and _chain(first) == row.name:
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
        return self._each(node, lambda t: self._power(node, t, _MINUS_ONE), [value])

    def _combined(self, node: ast.AST, row: Op, terms: Sequence[_Both]) -> _Both:
        expr = self._merged(node, row, *(term.expr for term in terms))
        graphs = [term.graph for term in terms]
        # Python computes a leading run of numbers (the 2*3 in 2*3*x) before any tensor
        # exists, so it is one constant of the graph, not two tensor operations.
        numbers = next((i for i, g in enumerate(graphs) if g.free_symbols), len(graphs))
        if 2 <= numbers < len(graphs):
            graphs[:numbers] = [self._graph(node, row, *graphs[:numbers])]
        return _Both(expr, self._graph(node, row, *graphs))

    def _merged(self, node: ast.AST, row: Op, *exprs: sympy.Expr) -> sympy.Expr:
        """The n-ary `row` (add or mul) of `exprs`, as SymPy evaluates it.

        In one call when the numbers SymPy combines (the terms', their arguments' and theirs)
        are small enough together that no result of combining them can pass the limit.
        Else pairwise in a balanced tree as the terms arrive (a binary counter): each
        partial result is checked before it grows again, and SymPy flattens each term
        O(log n) times rather than n times as in a left fold.
        """
        digits = math.fsum(_number_digits(n) for e in exprs for n in _top_numbers(e))
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
        try:
            built = row.build(base.expr, exponent.expr)
        except RecursionError:
            # Note: under distribute(False) SymPy's exp(sqrt(2*x**2 + 1/4) - x - 1/2)**(1/2)
            # recurses forever (Abs.eval of the exponent it halves); SymPy's usual
            # distribution builds it, and is only used where it must be.
            with distribute(True):
                built = row.build(base.expr, exponent.expr)
        expr = self._real(self._checked(node, built))
        return _Both(expr, self._graph(node, row, base.graph, exponent.graph))

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
                + _reduction_hint(row),
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

    def _applied(self, node: ast.Call, row: Op, arguments: Sequence[_Both]) -> _Both:
        try:
            expr = row.build(*(a.expr for a in arguments))
        except ValueError as error:  # the row refuses these arguments, e.g. log to base 1
            self._refuse(node, str(error), allowed=None)
        return _Both(self._real(expr), self._graph(node, row, *(a.graph for a in arguments)))

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


def _array_variable(name: str, shape: Shape) -> Array[_Both]:
    """The array variable `name`: one real symbol per component, x[0] or W[0,1], row-major."""
    indices = itertools.product(*(range(size) for size in shape))
    symbols = [sympy.Symbol(f"{name}[{','.join(map(str, i))}]", real=True) for i in indices]
    return Array(shape, tuple(_Both(s, s) for s in symbols))


def _reduction_hint(row: Op) -> str:
    if not row.stacked:
        return ""
    example = ", ".join(["[a, b]", "[c, d]"][: row.reduces])
    what = "an array" if row.reduces == 1 else f"{row.reduces} vectors"
    return f" ({what}, e.g. {row.name}({example}))"


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
