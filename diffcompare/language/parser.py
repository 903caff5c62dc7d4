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

import re
from collections.abc import Mapping, Sequence

from sympy.core.parameters import distribute

from diffcompare.errors import LimitError, ParseError, UsageError
from diffcompare.language.arrays import (
    components,
    shape_of,
)
from diffcompare.language.builder import Builder
from diffcompare.language.constants import check_result
from diffcompare.language.limits import (
    ALLOWED,
    DEFAULT_LIMITS,
    Limits,
    ast_parse,
    caret_to_power,
    check_brackets_and_digits,
    check_characters,
    check_node_estimate,
    check_tree_size,
    declared_shapes,
    parse_shapes,
)
from diffcompare.language.problem import Problem

__all__ = ["DEFAULT_LIMITS", "Limits", "parse", "parse_shapes"]


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
    declared = declared_shapes(shapes or {}, limits)
    if len(text) > limits.length:
        raise LimitError("expression length", f"{limits.length} characters", len(text))
    check_characters(text)
    check_brackets_and_digits(text, limits)
    check_node_estimate(text, limits)
    if not text.strip():
        raise ParseError("the expression is empty", allowed=ALLOWED)
    source, columns = caret_to_power(text)
    tree = ast_parse(source, columns, text, limits)
    check_tree_size(tree, columns, limits)
    builder = Builder(text, source, columns, limits, declared)
    # Keep 4*(x**2+3*x+1) as written: SymPy would distribute the 4 and lose the shared
    # subexpression that the torch graph and the chain-rule explanation are built around.
    try:
        with distribute(False):
            value = builder.build(tree.body)
    except RecursionError:
        # SymPy's own rules recurse (cosh.eval on some sums of constants does without end).
        raise ParseError(
            "SymPy ran out of Python's recursion depth building this expression; nest it "
            "less deeply or write it another way"
        ) from None
    unused = [name for name in declared if name not in builder.arrays]
    if unused:
        raise UsageError(f"--shape {unused[0]}: the expression has no variable {unused[0]}")
    parts = components(value)
    check_result(parts, builder.constants)
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


def _natural_key(name: str) -> list[tuple[int, int | str]]:
    return [
        (0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part
    ]
