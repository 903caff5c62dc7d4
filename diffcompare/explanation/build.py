"""Worked chain-rule explanations, read off the torch graph that autograd really runs.

`explain` compiles the expression with the same compiler as the comparison, runs it at one
point, and records what PyTorch did: each node's value and `grad_fn` (with its
`next_functions`), the order in which backward ran those functions, each node's local
derivative (as a SymPy formula from the op table and as torch's own value), and the
gradient accumulated into each node. Every gradient is then checked against the value
torch keeps with `retain_grad()` and against the SymPy derivative at 50 digits."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import sympy
import torch
from sympy.core.parameters import distribute

from diffcompare.explanation.model import (
    EPS,
    FACTOR_NODES,
    Chain,
    Explanation,
    Factor,
    GradFn,
    Link,
    Node,
    Partial,
    Ran,
    Row,
    Step,
    Term,
)
from diffcompare.explanation.prepared import prepared
from diffcompare.language.problem import Problem, point_values
from diffcompare.paths.compiler import Node as TapeNode
from diffcompare.paths.compiler import Tape
from diffcompare.paths.reference import reference
from diffcompare.paths.symbolic import SIMPLIFY_SECONDS, Gradient

Point = Mapping[str, float] | float


def explain(
    expr: str | Problem,
    at: Point,
    wrt: str | Sequence[str] | None = None,
    *,
    shapes: Mapping[str, Sequence[int]] | None = None,
    simplify_seconds: float = SIMPLIFY_SECONDS,
) -> Explanation:
    """Explain the derivative of `expr` at the point `at` (variable -> number, or a nested
    list for an array variable; a bare number for a one-variable expression) by the
    variables `wrt` (default: all); a vector-valued expression row by row. `shapes` makes
    variables arrays, as in compare().
    `simplify_seconds` bounds the time spent simplifying the SymPy derivative it shows.

    Raises InputError for text outside the input language and UsageError for a point or
    `wrt` that does not fit the expression.
    """
    problem, tape, derivatives = prepared(expr, wrt, shapes, simplify_seconds)
    point = point_values(problem, at)
    return explain_tape(problem.text, tape, derivatives, point)


def explain_tape(
    text: str,
    tape: Tape,
    derivatives: Sequence[Gradient],
    point: Sequence[float],
) -> Explanation:
    """Explain the compiled `tape` at `point` (one value per tape variable): one row per
    tape output, each checked against the SymPy derivatives of the matching output (all by
    the same variables)."""
    if len(derivatives) != len(tape.outputs):
        raise ValueError(f"{len(tape.outputs)} outputs but {len(derivatives)} derivatives")
    variables = tape.variables
    wrt = derivatives[0].wrt
    graph = _Graph(tape, point)
    rows = tuple(graph.row(k, derivative) for k, derivative in enumerate(derivatives))
    return Explanation(
        text=text,
        variables=tuple(v.name for v in variables),
        wrt=tuple(v.name for v in wrt),
        point=tuple(float(x) for x in point),
        nodes=graph.nodes,
        rows=rows,
    )


class _Graph:
    """One forward run of a tape at one point, with its recorded grad_fns."""

    def __init__(self, tape: Tape, point: Sequence[float]) -> None:
        self.tape = tape
        self.inputs = [
            torch.tensor([float(x)], dtype=torch.float64, requires_grad=True) for x in point
        ]
        run = tape.run(self.inputs, keep=True)
        self.outputs = run.outputs
        # Explained nodes: every input, then the op nodes in tape order; constants are
        # written into their consumers' formulas.
        self.position: dict[int, int] = {}
        order = [i for i, n in enumerate(tape.nodes) if n.input is not None]
        order.sort(key=lambda i: tape.nodes[i].input or 0)
        order += [i for i, n in enumerate(tape.nodes) if n.op is not None]
        self.position = {tape_index: p for p, tape_index in enumerate(order)}
        self.order = order
        self.tensors: list[torch.Tensor] = [self.inputs[tape.nodes[i].input or 0] for i in order]
        self.tensors[len(self.inputs) :] = run.intermediates
        for tensor in self.tensors[len(self.inputs) :]:
            if tensor.requires_grad:
                tensor.retain_grad()
        self.values = [float(t.detach()[0]) for t in self.tensors]
        self.names = _names(tape, order, variables=[v.name for v in tape.variables])
        self.symbols = [sympy.Symbol(name, real=True) for name in self.names]
        self.owner: dict[int, int] = {}  # id(grad_fn) -> node
        for p, tensor in enumerate(self.tensors):
            fn = tensor.grad_fn
            if fn is not None:
                self.owner.setdefault(id(fn), p)
        self.functions = _reachable(
            [t.grad_fn for t in self.tensors] + [o.grad_fn for o in self.outputs]
        )
        for fn in self.functions:
            variable = getattr(fn, "variable", None)  # AccumulateGrad: the leaf it fills
            for p, tensor in enumerate(self.tensors[: len(self.inputs)]):
                if variable is tensor:
                    self.owner[id(fn)] = p
        self.inner: dict[int, int] = {}  # id(grad_fn) -> the node it lies inside
        self.nodes = tuple(self._node(p) for p in range(len(order)))

    # -- the forward pass ----------------------------------------------------------------

    def _node(self, p: int) -> Node:
        entry = self.tape.nodes[self.order[p]]
        value = self.values[p]
        feeds = tuple(q for q in range(p + 1, len(self.order)) if p in self._args(q))
        if entry.op is None:
            return Node(
                name=self.names[p],
                kind="input",
                expr=entry.expr,
                formula=entry.expr,
                value=value,
                op=None,
                names={},
                rules={},
                args=(),
                feeds=feeds,
                grad_fns=(),
                partials=(),
            )
        row = entry.op
        forms = [self._form(i) for i in entry.args]
        with distribute(False):
            formula = row.build(*forms)
            locals_ = row.partials(*forms)
        args = self._args(p)
        fn = self.tensors[p].grad_fn
        return Node(
            name=self.names[p],
            kind="op",
            expr=entry.expr,
            formula=formula,
            value=value,
            op=row.name,
            names={"en": row.en, "zh": row.zh},
            rules={"en": row.rule_en, "zh": row.rule_zh},
            args=args,
            feeds=feeds,
            grad_fns=self._grad_fns(fn, p) if fn is not None else (),
            partials=self._partials(p, entry.args, locals_),
        )

    def _args(self, p: int) -> tuple[int, ...]:
        entry = self.tape.nodes[self.order[p]]
        found = (self.position[i] for i in entry.args if i in self.position)
        return tuple(dict.fromkeys(found))

    def _form(self, tape_index: int) -> sympy.Expr:
        if tape_index in self.position:
            return self.symbols[self.position[tape_index]]
        return self.tape.nodes[tape_index].expr  # a constant, written in

    def _grad_fns(self, fn: Any, p: int) -> tuple[GradFn, ...]:
        """Node p's grad_fn and those inside it, in a flat list (a sum of thousands of terms
        nests thousands deep)."""
        found = [fn]
        made: list[GradFn] = []
        for current in found:  # grows as inner grad_fns turn up
            links = []
            for following, _ in current.next_functions:
                if following is None:
                    links.append(Link(None))
                elif id(following) in self.owner:
                    links.append(Link(type(following).__name__, node=self.owner[id(following)]))
                else:
                    self.inner[id(following)] = p
                    links.append(Link(type(following).__name__, inner=len(found)))
                    found.append(following)
            made.append(GradFn(type(current).__name__, tuple(links)))
        return tuple(made)

    def _partials(
        self, p: int, tape_args: tuple[int, ...], formulas: tuple[sympy.Expr, ...]
    ) -> tuple[Partial, ...]:
        args = self._args(p)
        values = self._local(p, args)
        partials = []
        for k, a in enumerate(args):
            # An argument that appears more than once contributes each of its partials.
            formula = sympy.Add(
                *(f for i, f in zip(tape_args, formulas, strict=True) if self.position.get(i) == a)
            )
            partials.append(
                Partial(arg=a, formula=formula, value=values[k], symbolic=self._evaluate(formula))
            )
        return tuple(partials)

    def _local(self, p: int, args: tuple[int, ...]) -> list[float]:
        """Torch's local derivatives of node p by its argument nodes: the node's op run again
        by the tape's own code on detached copies of its arguments, so the gradient cannot
        reach an argument along another path (a + f(a) by a is 1, not 1 + f'(a))."""
        entry = self.tape.nodes[self.order[p]]
        leaves = [self.tensors[a].detach().clone().requires_grad_(True) for a in args]
        nodes: list[TapeNode] = []
        remap: dict[int, int] = {}
        for i in dict.fromkeys(entry.args):
            remap[i] = len(nodes)
            if i in self.position:
                position = self.position[i]
                nodes.append(TapeNode(self.tape.nodes[i].expr, input=args.index(position)))
            else:
                nodes.append(self.tape.nodes[i])
        nodes.append(TapeNode(entry.expr, entry.op, tuple(remap[i] for i in entry.args)))
        symbols = tuple(sympy.Dummy() for _ in args)
        single = Tape(variables=symbols, nodes=tuple(nodes), outputs=(len(nodes) - 1,))
        (result,) = single.run(leaves).outputs
        if not result.requires_grad:
            return [0.0] * len(args)
        grads = torch.autograd.grad(
            result, leaves, grad_outputs=torch.ones_like(result), allow_unused=True
        )
        return [0.0 if g is None else float(g[0]) for g in grads]

    def _evaluate(self, formula: sympy.Expr) -> float:
        """A formula in node names, at the forward values."""
        names = formula.free_symbols
        subs = {s: _exact(x) for s, x in zip(self.symbols, self.values, strict=True) if s in names}
        return _float(formula, subs)

    # -- the backward pass ---------------------------------------------------------------

    def row(self, k: int, derivative: Gradient) -> Row:
        """The backward pass from output `k`, checked against its SymPy `derivative`."""
        out = self.position.get(self.tape.outputs[k])
        result = self.outputs[k]
        for tensor in self.tensors:
            tensor.grad = None
        ran: list[Ran] = []
        if out is not None and result.requires_grad:
            ran = self._backward(result)
        torch_grads = [0.0 if t.grad is None else float(t.grad[0]) for t in self.tensors]
        steps = self._steps(out, ran, torch_grads)
        truth = reference(derivative.raw, self.tape.variables, [list(self.point)])[0]
        chains = tuple(
            self._chain(out, variable, torch_grads, shown, exact, steps)
            for variable, shown, exact in zip(derivative.wrt, derivative.shown, truth, strict=True)
        )
        return Row(output=out, ran=tuple(ran), steps=steps, chains=chains)

    @property
    def point(self) -> tuple[float, ...]:
        return tuple(float(t.detach()[0]) for t in self.inputs)

    def _backward(self, result: torch.Tensor) -> list[Ran]:
        ran: list[Ran] = []

        def record(fn: Any) -> None:
            if id(fn) in self.owner:
                ran.append(Ran(type(fn).__name__, self.owner[id(fn)], inner=False))
            elif id(fn) in self.inner:
                ran.append(Ran(type(fn).__name__, self.inner[id(fn)], inner=True))

        handles = [fn.register_prehook(lambda grads, fn=fn: record(fn)) for fn in self.functions]
        try:
            torch.autograd.backward(result, torch.ones_like(result), retain_graph=True)
        finally:
            for handle in handles:
                handle.remove()
        return ran

    def _steps(self, out: int | None, ran: list[Ran], torch_grads: list[float]) -> tuple[Step, ...]:
        if out is None:
            return ()
        grads = [0.0] * len(self.nodes)
        size = [0.0] * len(self.nodes)  # the same sum over |terms|: what rounding scales with
        terms: list[list[Term]] = [[] for _ in self.nodes]
        grads[out], size[out] = 1.0, 1.0
        # Reverse topological order: each node's gradient is complete before it is passed on.
        for p in range(out, -1, -1):
            if p != out and not terms[p]:
                continue  # out does not depend on this node
            for partial in self.nodes[p].partials:
                term = grads[p] * partial.value
                terms[partial.arg].append(Term(p, grads[p], partial.value, term))
                grads[partial.arg] += term
                size[partial.arg] += size[p] * abs(partial.value)
        reached = [p for p in range(len(self.nodes)) if p == out or terms[p]]
        order = list(dict.fromkeys(r.node for r in ran if not r.inner and r.node in reached))
        order += [p for p in sorted(reached, reverse=True) if p not in order]
        allowance = 16 * EPS * (len(self.nodes) + 1)
        return tuple(
            Step(
                node=p,
                terms=tuple(sorted(terms[p], key=lambda t: t.consumer)),
                value=grads[p],
                torch=torch_grads[p],
                bound=allowance * size[p],
            )
            for p in order
        )

    def _chain(
        self,
        out: int | None,
        variable: sympy.Symbol,
        torch_grads: list[float],
        shown: sympy.Expr,
        exact: Any,
        steps: tuple[Step, ...],
    ) -> Chain:
        ref = None if exact is None else float(exact)
        if variable.name not in self.names:  # it cancelled out: the graph never reads it
            return Chain(variable.name, (), 0.0, 0.0, ref, shown, 1e-300)
        v = self.names.index(variable.name)
        size = next((s.bound for s in steps if s.node == v), 0.0)
        bound = max(size, 1e-8 * abs(ref) if ref is not None else 0.0)
        dominators = self._dominators(out, v) if out is not None else []
        spans = list(zip(dominators, dominators[1:], strict=False))
        folded = max((self._span(of, by) for of, by in spans), default=0)
        if dominators == [v]:  # the output is the variable itself
            one = Factor(self.names[v], self.names[v], sympy.S.One, 1.0)
            return Chain(variable.name, (one,), 1.0, torch_grads[v], ref, shown, bound)
        if folded > FACTOR_NODES:
            factors: tuple[Factor, ...] = ()
            value = math.nan
        else:
            folded = 0
            factors = tuple(self._factor(of, by) for of, by in spans)
            value = math.prod(f.value for f in factors) if factors else 0.0
        return Chain(
            folded=folded,
            wrt=variable.name,
            factors=factors,
            value=value,
            torch=torch_grads[v],
            reference=ref,
            derivative=shown,
            bound=bound,
        )

    def _span(self, of: int, by: int) -> int:
        """How many op nodes d(of)/d(by) writes out: those below `of` down to `by`."""
        seen: set[int] = set()
        stack = [of]
        while stack:
            p = stack.pop()
            if p in seen or p == by or self.nodes[p].kind != "op":
                continue
            seen.add(p)
            stack.extend(self.nodes[p].args)
        return len(seen)

    def _dominators(self, out: int, v: int) -> list[int]:
        """The nodes every path from `out` down to `v` passes through, from `out` to `v`."""
        down = [0] * len(self.nodes)  # paths from out to each node
        down[out] = 1
        for p in range(out, -1, -1):
            for a in self.nodes[p].args:
                down[a] += down[p]
        up = [0] * len(self.nodes)  # paths from each node to v
        up[v] = 1
        for p in range(len(self.nodes)):
            up[p] += sum(up[a] for a in self.nodes[p].args)
        total = up[out]
        if total == 0:
            return []
        return [p for p in range(out, -1, -1) if down[p] * up[p] == total]

    def _factor(self, of: int, by: int) -> Factor:
        """d(of)/d(by), with `of` written out down to `by` (which every path passes)."""
        memo: dict[int, sympy.Expr] = {}
        by_symbol = self.symbols[by]

        def written(p: int) -> sympy.Expr:
            if p == by:
                return by_symbol
            if p not in memo:
                entry = self.tape.nodes[self.order[p]]
                if entry.op is None:
                    memo[p] = entry.expr
                else:
                    args = [
                        written(self.position[i]) if i in self.position else self.tape.nodes[i].expr
                        for i in entry.args
                    ]
                    with distribute(False):
                        memo[p] = entry.op.build(*args)
            return memo[p]

        formula = sympy.diff(written(of), by_symbol)
        subs = {by_symbol: _exact(self.values[by])}
        subs.update({n.expr: _exact(n.value) for n in self.nodes if n.kind == "input"})
        return Factor(
            of=self.names[of], by=self.names[by], formula=formula, value=_float(formula, subs)
        )


def _names(tape: Tape, order: list[int], variables: list[str]) -> list[str]:
    """Inputs keep their names; op nodes are v1, v2, ... (another letter if a variable is
    already called like that)."""
    taken = set(variables)
    prefix = next(
        p
        for p in ("v", "u", "w", "h", "t", "node")
        if not any(re.fullmatch(rf"{p}\d+", name) for name in taken)
    )
    names = []
    count = 0
    for tape_index in order:
        entry = tape.nodes[tape_index]
        if entry.input is not None:
            names.append(variables[entry.input])
        else:
            count += 1
            names.append(f"{prefix}{count}")
    return names


def _reachable(roots: Sequence[Any]) -> list[Any]:
    """Every grad_fn reachable from `roots` through next_functions, each once."""
    seen: set[int] = set()
    found = []
    stack = [fn for fn in roots if fn is not None]
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        found.append(fn)
        stack.extend(following for following, _ in fn.next_functions if following is not None)
    return found


def _exact(value: float) -> sympy.Expr:
    if not math.isfinite(value):
        return sympy.nan
    return sympy.Rational(*Fraction(value).as_integer_ratio())


def _float(formula: sympy.Expr, subs: Mapping[sympy.Symbol, sympy.Expr]) -> float:
    """`formula` at `subs`, to 30 digits then rounded to float64; nan where it has no finite
    real value."""
    if any(value is sympy.nan for value in subs.values()):
        return math.nan
    try:
        value = formula.xreplace(dict(subs)).evalf(30)
    except (ZeroDivisionError, ValueError, TypeError):
        return math.nan
    if not (value.is_number and value.is_real):
        return math.nan
    try:
        return float(value)
    except (TypeError, OverflowError):
        return math.nan
