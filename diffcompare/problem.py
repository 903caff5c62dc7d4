"""The parsed problem that every derivative path reads: one SymPy expression and its variables."""

from __future__ import annotations

from dataclasses import dataclass

import sympy


@dataclass(frozen=True)
class Problem:
    """What the parser returns: the user's text, its SymPy expression and its variables.

    Variables are real SymPy symbols in natural order (x2 before x10); they include every
    name the text uses, even one that cancels out of the expression.
    """

    text: str
    expr: sympy.Expr
    variables: tuple[sympy.Symbol, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    def symbol(self, name: str) -> sympy.Symbol:
        """The variable called `name`; raises KeyError when there is none."""
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(name)
