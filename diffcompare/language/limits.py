"""The limits of what one input may cost, and the checks of the text and of its tree
that enforce them before any SymPy work: characters, brackets, digits, node counts, depth,
declared array shapes, the size of exact numbers."""

from __future__ import annotations

import ast
import math
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sympy

from diffcompare.errors import LimitError, ParseError, UsageError
from diffcompare.language.arrays import (
    Shape,
    size_of,
)
from diffcompare.language.ops import CONSTANTS, FUNCTIONS, OPS


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
    # Decimal exponent of a constant's magnitude, either way: evaluating a constant is work
    # in proportion to its exponent's digits (pi**cosh(9**9) would never finish).
    constant_digits: int = 1_000
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

DECIMAL = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
DIGIT_RUN = re.compile(r"\d+")
# The tokens that each become at least one node of the parsed tree: numbers (a sign inside
# an exponent is part of the number), names, and the arithmetic operators (** is one).
NODE_TOKEN = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[A-Za-z_]\w*|\*\*|//|[-+*/^%@~]")
OPEN, CLOSE = "([{", ")]}"

# The operators that chain: a - b + c is one sum and a / b * c one product, not nested ones.
CHAINS: dict[type[ast.operator], str] = {
    ast.Add: "add",
    ast.Sub: "add",
    ast.Mult: "mul",
    ast.Div: "mul",
}


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
        problem = shape_problem(name, shape)
        if problem is None and size_of(shape) > DEFAULT_LIMITS.array_size:
            problem = (
                f"an array has at most {DEFAULT_LIMITS.array_size} components, got {size_of(shape)}"
            )
        if problem is not None:
            raise UsageError(f"--shape {shown}: {problem}")
        shapes[name] = shape
    return shapes


def declared_shapes(shapes: Mapping[str, Sequence[int]], limits: Limits) -> dict[str, Shape]:
    """The `shapes` given to parse, checked; raises UsageError or LimitError."""
    declared: dict[str, Shape] = {}
    for name, shape in shapes.items():
        dims = tuple(shape) if isinstance(shape, tuple | list) else (shape,)
        problem = shape_problem(name, dims)
        if problem is not None:
            raise UsageError(f"--shape {name}: {problem}")
        if size_of(dims) > limits.array_size:
            raise LimitError(f"components of the array {name}", limits.array_size, size_of(dims))
        declared[name] = dims
    total = sum(size_of(shape) for shape in declared.values())
    if total > limits.components:
        raise LimitError("number of scalar variables", limits.components, total)
    return declared


def shape_problem(name: object, shape: tuple[object, ...]) -> str | None:
    """Why `shape` cannot be the shape of an array variable `name`; None when it can."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
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


def check_characters(text: str) -> None:
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


def check_brackets_and_digits(text: str, limits: Limits) -> None:
    # Before ast.parse, which needs memory and recursion in proportion to both.
    depth = 0
    for index, char in enumerate(text):
        if char in OPEN:
            depth += 1
            if depth > limits.depth:
                raise LimitError("nesting depth", limits.depth, column=index + 1)
        elif char in CLOSE:
            depth -= 1
    for run in DIGIT_RUN.finditer(text):
        if len(run.group()) > limits.literal_digits:
            raise LimitError(
                "digits in a number",
                limits.literal_digits,
                len(run.group()),
                column=run.start() + 1,
            )


def check_node_estimate(text: str, limits: Limits) -> None:
    # Before ast.parse, which recurses once per link of a chain like x+x+...+x: the text's
    # node tokens never outnumber the nodes of its tree, so this refuses nothing that the
    # exact count after parsing would accept, and it keeps every chain short enough to parse.
    count = sum(1 for _ in NODE_TOKEN.finditer(text))
    if count > limits.nodes:
        raise LimitError("number of nodes", limits.nodes)


def caret_to_power(text: str) -> tuple[str, list[int]]:
    """Rewrite `^` as `**`; return the new text and each of its characters' original column."""
    pieces: list[str] = []
    columns: list[int] = []
    start = len(text) - len(text.lstrip(" \t"))  # ast.parse reads leading blanks as indent
    for index, char in enumerate(text[start:], start):
        pieces.append("**" if char == "^" else char)
        columns.extend([index + 1] * (2 if char == "^" else 1))
    columns.append(len(text) + 1)  # the end of the text, where a syntax error may point
    return "".join(pieces), columns


def ast_parse(source: str, columns: list[int], text: str, limits: Limits) -> ast.Expression:
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


def check_tree_size(tree: ast.Expression, columns: list[int], limits: Limits) -> None:
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
            same_chain = child is getattr(node, "left", None) and chain(child) == chain(node)
            stack.append((child, depth if same_chain else depth + 1))


def chain(node: ast.AST) -> str | None:
    """The op-table row of the chain that `node` links ("add" or "mul"), or None."""
    return CHAINS.get(type(node.op)) if isinstance(node, ast.BinOp) else None


def top_numbers(expr: sympy.Basic) -> list[sympy.Rational]:
    """The rationals among `expr`, its arguments and theirs."""
    candidates = [expr, *expr.args, *(a for arg in expr.args for a in arg.args)]
    return [c for c in candidates if c.is_Rational]


def digits(value: int) -> float:
    return abs(value).bit_length() * math.log10(2)


def number_digits(number: sympy.Rational) -> float:
    return max(digits(number.p), digits(number.q))
