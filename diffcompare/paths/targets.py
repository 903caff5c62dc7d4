"""What is differentiated: the entries of a gradient, Jacobian, Hessian, n-th derivative,
mixed partial, vector-Jacobian or Jacobian-vector product, one number each per point.

Every entry is a seed over the outputs and a list of directions over the variables,

    entry = sum_k seed_k D^n f_k [d_1, ..., d_n],

so one list of entries serves every kind, and each method reads only it:

    gradient, Jacobian   (e_k, (e_j,))        one row per output, one column per variable
    Hessian              (e_k, (e_i, e_j))
    n-th derivative      (e_k, (e_x,) * n)    mixed partials: (e_k, (e_x, e_y, ...))
    vector-Jacobian      (v, (e_j,))          what y.backward(gradient=v) computes
    Jacobian-vector      (e_k, (v,))          what a forward-mode pass with tangent v computes
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from diffcompare.errors import UsageError
from diffcompare.language.problem import Problem, split_names

MAX_ORDER = 6
"""The highest derivative order: beyond it no finite-difference stencil keeps any digits in
float64, and SymPy's formulas swell."""

MAX_ENTRIES = 10_000
"""The most numbers one comparison computes per point (a 100x100 Hessian)."""


@dataclass(frozen=True)
class Entry:
    """sum_k seed[k] D^n f_k [dirs[0], ..., dirs[n-1]]: a seed over the outputs, and one
    direction over the variables per order."""

    seed: tuple[float, ...]
    dirs: tuple[tuple[float, ...], ...]

    @property
    def order(self) -> int:
        return len(self.dirs)

    def partials(self) -> list[tuple[float, int, tuple[int, ...]]]:
        """The entry as a combination of plain partial derivatives: (coefficient, output,
        variable positions in the order taken)."""
        terms = []
        outputs = [(k, w) for k, w in enumerate(self.seed) if w]
        directions = [[(j, c) for j, c in enumerate(d) if c] for d in self.dirs]
        for k, weight in outputs:
            for combination in itertools.product(*directions):
                coefficient = weight
                for _, c in combination:
                    coefficient *= c
                terms.append((coefficient, k, tuple(j for j, _ in combination)))
        return terms

    def along(self) -> int | None:
        """The variable the last derivative is taken along, where it is one variable."""
        if not self.dirs:
            return None
        used = [j for j, c in enumerate(self.dirs[-1]) if c]
        return used[0] if len(used) == 1 else None


@dataclass(frozen=True)
class Target:
    """The entries a comparison computes at each point, the array shape they fill in
    row-major order, a label for each, and the kind of derivative they make up."""

    kind: str  # "gradient", "jacobian", "hessian", "derivative", "vjp", "jvp"
    entries: tuple[Entry, ...]
    shape: tuple[int, ...]
    labels: tuple[str, ...]
    wrt: tuple[int, ...]  # the positions of the variables differentiated by, each once
    order: int
    vector: tuple[float, ...] = ()  # the v of a vjp or jvp


def make_target(
    problem: Problem,
    wrt: str | Sequence[str] | None = None,
    *,
    order: int = 1,
    hessian: bool = False,
    vjp: Sequence[float] | None = None,
    jvp: Sequence[float] | None = None,
) -> Target:
    """The entries for the options: `wrt` names variables (an array's name stands for its
    components; a name given twice, as "x,x,y", asks for that mixed partial), `order` the
    derivative's order, `hessian` every second partial, `vjp` and `jvp` a vector to contract
    the Jacobian with. Raises UsageError for options that do not fit together or the problem."""
    if not isinstance(order, int) or isinstance(order, bool) or not 1 <= order <= MAX_ORDER:
        raise UsageError(f"--order {order}: give a whole number from 1 to {MAX_ORDER}")
    names = _names(problem, wrt)
    given = sum((hessian, vjp is not None, jvp is not None))
    if given > 1:
        raise UsageError("--hessian, --vjp and --jvp each ask for a different derivative: give one")
    mixed = wrt is not None and (len(set(names)) < len(names) or order == len(names) > 1)
    if (
        (hessian or vjp is not None or jvp is not None)
        and order != 1
        and not (hessian and order == 2)
    ):
        raise UsageError("--order goes with --wrt, not with --hessian, --vjp or --jvp")
    if mixed and (hessian or vjp is not None or jvp is not None):
        raise UsageError("a repeated --wrt name asks for a mixed partial: not with --hessian")
    if hessian:
        return _checked(_hessian(problem, _variables(problem, names)))
    if vjp is not None:
        return _checked(_vjp(problem, _variables(problem, names), vjp))
    if jvp is not None:
        return _checked(_jvp(problem, _variables(problem, names), jvp))
    if mixed:
        if len(names) > MAX_ORDER:
            raise UsageError(
                f"--wrt {','.join(names)}: a mixed partial of order {len(names)}; the highest "
                f"order is {MAX_ORDER}, as for --order: name at most {MAX_ORDER} variables"
            )
        if order not in (1, len(names)):
            raise UsageError(
                f"--order {order} --wrt {','.join(names)}: a mixed partial's order is the "
                f"number of names ({len(names)})"
            )
        return _checked(_mixed(problem, [_scalar(problem, n) for n in names]))
    if order > 1:
        if len(names) != 1:
            raise UsageError(
                f"--order {order}: name one variable with --wrt (its variables: "
                f"{', '.join(problem.user_names)}), list one per derivative for a mixed "
                f"partial (--wrt x,y), or ask for --hessian"
            )
        return _checked(_mixed(problem, [_scalar(problem, names[0])] * order))
    return _checked(_jacobian(problem, _variables(problem, names), names))


def _names(problem: Problem, wrt: str | Sequence[str] | None) -> list[str]:
    if wrt is None:
        return list(problem.user_names)
    names = split_names(wrt) if isinstance(wrt, str) else [n.strip() for n in wrt]
    if not names or not all(names):
        raise UsageError("--wrt: name the variables, separated by commas, e.g. --wrt x,y")
    for name in names:
        try:
            problem.components(name)
        except KeyError:
            raise UsageError(
                f"--wrt {name}: not a variable of the expression (its variables: "
                f"{', '.join(problem.user_names)})"
            ) from None
    return names


def _variables(problem: Problem, names: list[str]) -> list[int]:
    """The positions of the named variables' components, each once, in the order given."""
    position = {v: j for j, v in enumerate(problem.variables)}  # not .index: O(n) each
    chosen = [position[v] for n in names for v in problem.components(n)]
    return list(dict.fromkeys(chosen))


def _scalar(problem: Problem, name: str) -> int:
    (variable, *more) = problem.components(name)
    if more:
        raise UsageError(
            f"--wrt {name}: a higher or mixed derivative is taken by scalar variables; "
            f"name a component such as {variable.name}, or ask for --hessian"
        )
    return problem.variables.index(variable)


def unit(size: int, position: int) -> tuple[float, ...]:
    if not 0 <= position < size:
        return (0.0,) * size
    # Built by tuple repetition, not element by element: a gradient by n variables makes n
    # of these.
    return (0.0,) * position + (1.0,) + (0.0,) * (size - position - 1)


def _output_labels(problem: Problem) -> list[str]:
    """'' for a scalar expression, else y[0], y[1, 2], ... for each output component."""
    if not problem.output_shape:
        return [""]
    return [
        "y[" + ",".join(map(str, index)) + "]"
        for index in itertools.product(*(range(n) for n in problem.output_shape))
    ]


def _label(output: str, by: str) -> str:
    return f"{output}/{by}" if output else by


def _wrt_shape(problem: Problem, names: list[str], columns: list[int]) -> tuple[int, ...]:
    """A single array variable keeps its shape; anything else is one axis of variables."""
    if len(set(names)) == 1 and names[0] in problem.shapes:
        return tuple(problem.shapes[names[0]])
    return (len(columns),)


def _jacobian(problem: Problem, columns: list[int], names: list[str]) -> Target:
    m, n = len(problem.outputs), len(problem.variables)
    entries, labels = [], []
    for k, out in enumerate(_output_labels(problem)):
        for j in columns:
            entries.append(Entry(unit(m, k), (unit(n, j),)))
            labels.append(_label(out, problem.variables[j].name))
    kind = "gradient" if not problem.output_shape else "jacobian"
    shape = (*problem.output_shape, *_wrt_shape(problem, names, columns))
    return Target(kind, tuple(entries), shape, tuple(labels), tuple(columns), 1)


def _hessian(problem: Problem, columns: list[int]) -> Target:
    m, n = len(problem.outputs), len(problem.variables)
    entries, labels = [], []
    for k, out in enumerate(_output_labels(problem)):
        for i in columns:
            for j in columns:
                entries.append(Entry(unit(m, k), (unit(n, i), unit(n, j))))
                by = f"{problem.variables[i].name},{problem.variables[j].name}"
                labels.append(_label(out, by))
    shape = (*problem.output_shape, len(columns), len(columns))
    return Target("hessian", tuple(entries), shape, tuple(labels), tuple(columns), 2)


def _mixed(problem: Problem, by: list[int]) -> Target:
    m, n = len(problem.outputs), len(problem.variables)
    dirs = tuple(unit(n, j) for j in by)
    name = ",".join(problem.variables[j].name for j in by)
    outputs = _output_labels(problem)
    entries = tuple(Entry(unit(m, k), dirs) for k in range(m))
    labels = tuple(_label(out, name) for out in outputs)
    wrt = tuple(dict.fromkeys(by))
    return Target("derivative", entries, problem.output_shape, labels, wrt, len(by))


def gradient_target(variables: int, wrt: Sequence[int]) -> Target:
    """The gradient of a one-output tape over `variables` variables by those at `wrt`."""
    entries = tuple(Entry((1.0,), (unit(variables, j),)) for j in wrt)
    labels = tuple(str(j) for j in wrt)
    return Target("gradient", entries, (len(wrt),), labels, tuple(wrt), 1)


def _vector(values: Sequence[float], size: int, option: str, what: str) -> tuple[float, ...]:
    vector = tuple(float(v) for v in values)
    if len(vector) != size:
        raise UsageError(
            f"--{option} {','.join(f'{v:g}' for v in vector)}: give {size} numbers, one per {what}"
        )
    if not all(abs(v) < float("inf") for v in vector) or not any(vector):
        raise UsageError(f"--{option}: the vector must be finite and not all zero")
    return vector


def _vjp(problem: Problem, columns: list[int], vjp: Sequence[float]) -> Target:
    m, n = len(problem.outputs), len(problem.variables)
    seed = _vector(vjp, m, "vjp", "output component")
    entries = tuple(Entry(seed, (unit(n, j),)) for j in columns)
    labels = tuple(problem.variables[j].name for j in columns)
    return Target("vjp", entries, (len(columns),), labels, tuple(columns), 1, seed)


def _jvp(problem: Problem, columns: list[int], jvp: Sequence[float]) -> Target:
    m, n = len(problem.outputs), len(problem.variables)
    given = _vector(jvp, len(columns), "jvp", "variable differentiated by")
    direction = [0.0] * n
    for j, c in zip(columns, given, strict=True):
        direction[j] = c
    entries = tuple(Entry(unit(m, k), (tuple(direction),)) for k in range(m))
    labels = tuple(_label(out, "jvp") for out in _output_labels(problem))
    return Target("jvp", entries, problem.output_shape, labels, tuple(columns), 1, given)


def _checked(target: Target) -> Target:
    if len(target.entries) > MAX_ENTRIES:
        raise UsageError(
            f"the {target.kind} has {len(target.entries)} entries per point, more than the "
            f"limit of {MAX_ENTRIES}; differentiate by fewer variables with --wrt"
        )
    return target
