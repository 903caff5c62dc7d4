"""What an explanation records: the nodes of the torch graph autograd ran (value, grad_fn,
local derivative), the backward steps that accumulated each gradient, and the closed-form
chains; frozen, and drawn by the renderers in render/."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import sympy
import torch

LARGE = 200
"""Op nodes beyond which renderers fold the node-by-node passes (the model stays whole)."""

FACTOR_NODES = 60
"""Op nodes beyond which one factor of a closed-form chain is not written out."""

EPS = float(torch.finfo(torch.float64).eps)


@dataclass(frozen=True)
class Link:
    """One entry of a grad_fn's `next_functions`: where backward sends the gradient next.

    `fn` is the next grad_fn's class name, None where torch records None (a constant
    argument). `node` is the explained node that grad_fn belongs to. `inner` is set instead
    when the next grad_fn lies inside the same node (its index in that node's `grad_fns`):
    an n-ary op such as a + b + c runs as several torch calls, each with its own grad_fn.
    """

    fn: str | None
    node: int | None = None
    inner: int | None = None


@dataclass(frozen=True)
class GradFn:
    """A grad_fn torch recorded: its class name and its `next_functions`."""

    name: str
    links: tuple[Link, ...]


@dataclass(frozen=True)
class Partial:
    """A node's local derivative by one argument node: the op table's formula (in node
    names), torch's value (a vector-Jacobian product through the node's own grad_fn) and
    the formula's SymPy value at the forward values."""

    arg: int
    formula: sympy.Expr
    value: float
    symbolic: float


@dataclass(frozen=True)
class Node:
    """One node of the forward pass: an input variable or an op applied to earlier nodes.

    `formula` is the op in terms of its argument nodes' names (constants written in);
    `expr` is the same node in the variables. `op` is the op-table row's name, `names` and
    `rules` its display name and derivative rule by language, read from the table.
    """

    name: str
    kind: str  # "input" or "op"
    expr: sympy.Expr
    formula: sympy.Expr
    value: float
    op: str | None
    names: Mapping[str, str]
    rules: Mapping[str, str]
    args: tuple[int, ...]  # argument nodes, constants left out
    feeds: tuple[int, ...]  # the nodes that take this one as an argument
    grad_fns: tuple[GradFn, ...]  # its own grad_fn first, then any inside it; empty for an
    # input and for an op torch does not differentiate
    partials: tuple[Partial, ...]


@dataclass(frozen=True)
class Term:
    """One contribution to a node's gradient: a consumer's gradient times its local
    derivative by this node."""

    consumer: int
    grad: float
    local: float
    value: float


@dataclass(frozen=True)
class Step:
    """The gradient accumulated into one node in one backward pass.

    `value` is the sum of `terms` (1 for the output itself); `torch` is what torch kept
    there (`retain_grad()`, or `.grad` of an input); `bound` is the rounding allowance the
    two are compared within.
    """

    node: int
    terms: tuple[Term, ...]
    value: float
    torch: float
    bound: float

    @property
    def agrees(self) -> bool:
        return _close(self.value, self.torch, self.bound)


@dataclass(frozen=True)
class Ran:
    """One grad_fn as torch's backward ran it: its name and the node it belongs to
    (`inner` when it is one of the several torch calls of an n-ary node)."""

    fn: str
    node: int
    inner: bool


@dataclass(frozen=True)
class Factor:
    """d(of)/d(by) in a closed-form chain: a formula in `by` (and other variables)."""

    of: str
    by: str
    formula: sympy.Expr
    value: float


@dataclass(frozen=True)
class Chain:
    """The derivative of an output by one variable as a product of factors through the
    nodes every path from the output to the variable passes (as seed 001's
    dg/dx = dg/df * df/dx), with the numbers it is checked against."""

    wrt: str
    factors: tuple[Factor, ...]  # empty where the output does not depend on `wrt`, or folded
    value: float  # the product of the factors' values (nan when folded)
    torch: float  # the variable's .grad after backward
    reference: float | None  # the SymPy derivative at 50 digits; None outside the domain
    derivative: sympy.Expr  # the SymPy derivative, as shown (simplified when in time)
    bound: float
    folded: int = 0  # when > 0: the op nodes of the largest factor, too many to write out

    @property
    def agrees(self) -> bool:
        ref = self.reference if self.reference is not None else math.nan
        chained = self.folded > 0 or _close(self.value, self.torch, self.bound)
        return chained and _close(self.torch, ref, self.bound)


@dataclass(frozen=True)
class Row:
    """The backward pass from one output (a vector-valued expression has one per element):
    grad_fns in the order torch ran them, the gradient at every node in that order, and
    one chain per wrt variable."""

    output: int | None  # None for a constant output, which has no graph
    ran: tuple[Ran, ...]
    steps: tuple[Step, ...]
    chains: tuple[Chain, ...]

    @property
    def agrees(self) -> bool:
        return all(step.agrees for step in self.steps) and all(c.agrees for c in self.chains)

    @property
    def largest_difference(self) -> float:
        """The largest |gradient - torch's retain_grad value| over the steps."""
        gaps = [abs(s.value - s.torch) for s in self.steps if not _close(s.value, s.torch, 0.0)]
        return max(gaps, default=0.0)


@dataclass(frozen=True)
class Explanation:
    """A worked chain-rule explanation of an expression at one point."""

    text: str
    variables: tuple[str, ...]
    wrt: tuple[str, ...]
    point: tuple[float, ...]  # one value per variable
    nodes: tuple[Node, ...]  # inputs, then ops in the order torch computed them
    rows: tuple[Row, ...]

    @property
    def large(self) -> bool:
        return sum(n.kind == "op" for n in self.nodes) > LARGE

    @property
    def agrees(self) -> bool:
        return all(row.agrees for row in self.rows)

    def render(self, fmt: str = "text", lang: str = "en") -> str:
        """The explanation as `text`, `markdown` or `latex` (a document), in `en` or `zh`."""
        from diffcompare.render.explanation import render

        return render(self, fmt, lang)

    def _repr_markdown_(self) -> str:
        from diffcompare.render.explanation import to_markdown

        return to_markdown(self, "en")

    def _repr_latex_(self) -> str:
        from diffcompare.render.explanation import latex_math

        return latex_math(self, "en")


def _close(a: float, b: float, bound: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= bound
