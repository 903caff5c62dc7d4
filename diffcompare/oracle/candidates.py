"""Asking a candidate for its derivative at the points, and what it should have said: a gradient
callable, a vjp callable with random cotangents, or a torch function by reverse mode (random
cotangents) and forward mode (random tangents), each entry with its truth and its bound."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffcompare.oracle._engine import Problem, UsageError
from diffcompare.oracle.points import Row, user_point


@dataclass(frozen=True)
class Truth:
    """The reference at each row (as the methods saw it) and a bound per entry: rows are
    points, columns the report's entries (output-major, then wrt components)."""

    rows: list[Row]
    reference: np.ndarray  # (points, outputs * wrt components), NaN where there is none
    bound: np.ndarray  # the chosen method's bound, same shape
    usable: np.ndarray  # (points,) bool: a smooth, defined point with a finite reference
    reasons: list[str]  # why a row is not usable ("" where it is)
    labels: tuple[str, ...]
    outputs: int
    wrt: tuple[str, ...]  # the wrt scalar components

    def usable_only(self) -> Truth:
        """The same truth at the usable rows alone (a candidate is never asked elsewhere)."""
        keep = np.nonzero(self.usable)[0]
        return Truth(
            rows=[self.rows[i] for i in keep],
            reference=self.reference[keep],
            bound=self.bound[keep],
            usable=self.usable[keep],
            reasons=[self.reasons[i] for i in keep],
            labels=self.labels,
            outputs=self.outputs,
            wrt=self.wrt,
        )


@dataclass(frozen=True)
class Asked:
    """What the candidate said and what it should have said, entry by entry."""

    values: np.ndarray  # (points, k); NaN where it returned nothing finite
    expected: np.ndarray  # (points, k)
    bound: np.ndarray  # (points, k)
    labels: tuple[str, ...]  # k entry names
    modes: tuple[str, ...]  # k modes: gradient, vjp, jvp
    vectors: list[list[tuple[float, ...]]]  # per point, per entry: the (co)tangent used
    notes: tuple[str, ...] = ()


def unit_roundoff(dtype: np.dtype[Any]) -> float:
    return float(np.finfo(dtype).eps) / 2


def gamma(count: int, dtype: np.dtype[Any]) -> float:
    """Higham's gamma_n: the relative error bound of a sum or product of `count` terms."""
    u = unit_roundoff(dtype)
    n = max(count, 1)
    return n * u / (1 - n * u)


def wrt_groups(problem: Problem, truth: Truth) -> list[tuple[str, list[int], tuple[int, ...]]]:
    """The candidate's keys: each user-level variable differentiated by (an array once), the
    columns of its components among the wrt components, and its shape."""
    groups: dict[str, list[int]] = {}
    for j, name in enumerate(truth.wrt):
        groups.setdefault(name.split("[", 1)[0] if "[" in name else name, []).append(j)
    out = []
    for key, columns in groups.items():
        if key in problem.shapes and len(columns) == len(problem.components(key)):
            out.append((key, columns, tuple(problem.shapes[key])))
        else:  # single components named in wrt: each its own scalar key
            for j in columns:
                out.append((truth.wrt[j], [j], ()))
    return out


def _kwargs(problem: Problem, rows: Sequence[Row], dtype: np.dtype[Any], batch: bool) -> Any:
    if batch:
        points = [user_point(problem, r) for r in rows]
        return {n: np.asarray([p[n] for p in points], dtype=dtype) for n in problem.user_names}
    return [
        {
            n: np.asarray(v, dtype=dtype) if isinstance(v, list) else dtype.type(v)
            for n, v in user_point(problem, r).items()
        }
        for r in rows
    ]


def _flatten(
    result: Any,
    groups: list[tuple[str, list[int], tuple[int, ...]]],
    lead: tuple[int, ...],
    width: int,
    out_shape: tuple[int, ...] = (),
) -> np.ndarray:
    """A candidate's answer (mapping key -> array, or sequence in wrt order, or the bare
    value for one key), each of shape (*lead, *out_shape, *variable's shape), as an array of
    shape (*lead, outputs * width): output-major, then the wrt components in order."""
    if isinstance(result, Mapping):
        missing = [key for key, _, _ in groups if key not in result]
        if missing:
            raise ValueError(f"no value for {', '.join(missing)} among {list(result)}")
        items = [result[key] for key, _, _ in groups]
    elif len(groups) == 1 and np.ndim(result) == len(lead) + len(out_shape) + len(groups[0][2]):
        items = [result]
    else:
        items = list(result)
        if len(items) != len(groups):
            raise ValueError(f"{len(items)} values for {len(groups)} variables")
    outputs = int(np.prod(out_shape, dtype=int))
    out = np.empty((*lead, outputs, width), dtype=np.float64)
    for (_, columns, shape), item in zip(groups, items, strict=True):
        array = np.broadcast_to(np.asarray(item, dtype=np.float64), (*lead, *out_shape, *shape))
        out[..., columns] = array.reshape((*lead, outputs, len(columns)))
    return out.reshape((*lead, outputs * width))


def _call_all(
    call: Callable[..., Any],
    problem: Problem,
    rows: Sequence[Row],
    dtype: np.dtype[Any],
    groups: list[tuple[str, list[int], tuple[int, ...]]],
    width: int,
    extra: Callable[[bool, Sequence[int]], tuple[Any, ...]],
    out_shape: tuple[int, ...] = (),
) -> np.ndarray:
    """The candidate at every row: one vectorised call when it works (arrays of points in,
    arrays out, of the right shapes), else one call per row."""
    n = len(rows)
    try:
        answer = call(*extra(True, range(n)), **_kwargs(problem, rows, dtype, True))
        return _flatten(answer, groups, (n,), width, out_shape)
    except Exception:  # noqa: BLE001 - any failure of the batched call means: ask per point
        pass
    out = np.empty((n, width * int(np.prod(out_shape, dtype=int))))
    for i, kwargs in enumerate(_kwargs(problem, rows, dtype, False)):
        answer = call(*extra(False, [i]), **kwargs)
        try:
            out[i] = _flatten(answer, groups, (), width, out_shape)
        except (ValueError, TypeError) as error:
            raise UsageError(
                f"the candidate's answer at {user_point(problem, rows[i])}: {error}"
            ) from None
    return out


def vectors(seed: int, row: Row, size: int, dtype: np.dtype[Any], salt: int = 0) -> np.ndarray:
    """A seeded random (co)tangent for `row`: the same point always gets the same one, never
    1 and never near 0, as numbers of two decimals exact in the dtype."""
    key = zlib.crc32(np.asarray(row, dtype=np.float64).tobytes())
    rng = np.random.default_rng([seed, salt, key])
    drawn = np.round(rng.normal(0.0, 1.5, size), 2)
    drawn = np.where(np.abs(drawn) < 0.25, drawn + np.where(drawn < 0, -0.5, 0.5), drawn)
    drawn = np.where(drawn == 1.0, 1.25, drawn)
    return drawn.astype(dtype).astype(np.float64)


def ask_gradient(
    gradient: Callable[..., Any], problem: Problem, truth: Truth, dtype: np.dtype[Any]
) -> Asked:
    groups = wrt_groups(problem, truth)
    width = len(truth.wrt)
    values = _call_all(
        gradient, problem, truth.rows, dtype, groups, width, lambda b, i: (), problem.output_shape
    )
    return Asked(
        values,
        truth.reference,
        truth.bound,
        truth.labels,
        ("gradient",) * len(truth.labels),
        [[()] * len(truth.labels) for _ in truth.rows],
    )


def contract(truth: Truth, cotangents: np.ndarray, dtype: np.dtype[Any]) -> tuple[Any, Any]:
    """c . J at each row and its bound: each Jacobian entry within its bound (and its float64
    rounding), and the contraction's own rounding in the dtype."""
    n = len(truth.rows)
    jac = truth.reference.reshape(n, truth.outputs, -1)
    bound = truth.bound.reshape(n, truth.outputs, -1)
    weights = np.abs(cotangents)[:, :, None]
    expected = np.einsum("no,now->nw", cotangents, jac)
    err = (weights * (bound + np.spacing(np.abs(jac)) / 2)).sum(axis=1)
    err += gamma(truth.outputs, dtype) * (weights * np.abs(jac)).sum(axis=1)
    return expected, err


def ask_vjp(
    vjp: Callable[..., Any], problem: Problem, truth: Truth, dtype: np.dtype[Any], seed: int
) -> Asked:
    groups = wrt_groups(problem, truth)
    out_shape = problem.output_shape
    cot = np.stack([vectors(seed, r, truth.outputs, dtype) for r in truth.rows])
    width = len(truth.wrt)

    def extra(batch: bool, rows: Sequence[int]) -> tuple[Any, ...]:
        if batch:
            return (cot.astype(dtype).reshape((len(truth.rows), *out_shape)),)
        c = cot[rows[0]].astype(dtype)
        return (c.reshape(out_shape) if out_shape else dtype.type(c[0]),)

    values = _call_all(vjp, problem, truth.rows, dtype, groups, width, extra)
    expected, bound = contract(truth, cot, dtype)
    labels = truth.wrt
    return Asked(
        values,
        expected,
        bound,
        labels,
        ("vjp",) * width,
        [[tuple(c)] * width for c in cot],
    )


def ask_function(
    function: Callable[..., Any],
    problem: Problem,
    truth: Truth,
    dtype: np.dtype[Any],
    seed: int,
) -> Asked:
    """Reverse mode with a random cotangent at every row, and forward mode (torch.func.jvp)
    with a random tangent where the function supports it."""
    import torch

    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    groups = wrt_groups(problem, truth)
    n, wrt_count = len(truth.rows), len(truth.wrt)
    cot = np.stack([vectors(seed, r, truth.outputs, dtype) for r in truth.rows])
    tan = np.stack([vectors(seed, r, wrt_count, dtype, salt=1) for r in truth.rows])
    reverse = np.full((n, wrt_count), np.nan)
    forward = np.full((n, truth.outputs), np.nan)
    notes: list[str] = []
    forward_ok = True
    for i, row in enumerate(truth.rows):
        point = user_point(problem, row)
        tensors = {k: torch.tensor(v, dtype=tdtype) for k, v in point.items()}
        leaves = {k: t.clone().requires_grad_(True) for k, t in tensors.items()}
        output = function(**leaves)
        if not isinstance(output, torch.Tensor) or tuple(output.shape) != problem.output_shape:
            raise UsageError(
                f"the function returned {type(output).__name__} of shape "
                f"{tuple(getattr(output, 'shape', ()))} where the expression's shape is "
                f"{problem.output_shape}"
            )
        c = torch.tensor(cot[i], dtype=tdtype).reshape(problem.output_shape)
        keys = [key for key, _, _ in groups]
        grads = torch.autograd.grad(
            output, [leaves[k.split("[", 1)[0]] for k in keys], c, allow_unused=True
        )
        grad_of = dict(zip(keys, grads, strict=True))
        answer = {
            k: (torch.zeros(()) if g is None else g).detach().double().numpy()
            for k, g in grad_of.items()
        }
        reverse[i] = _flatten(_pick_components(answer, groups, problem), groups, (), wrt_count)
        if forward_ok:
            try:
                forward[i] = _forward(function, tensors, groups, tan[i], tdtype, problem)
            except Exception as error:  # noqa: BLE001 - many custom Functions lack a jvp
                forward_ok = False
                first = str(error).strip().splitlines()[0] if str(error).strip() else ""
                notes.append(f"forward mode not checked: {type(error).__name__}: {first[:160]}")
    expected_r, bound_r = contract(truth, cot, dtype)
    jac = truth.reference.reshape(n, truth.outputs, wrt_count)
    bnd = truth.bound.reshape(n, truth.outputs, wrt_count)
    weights = np.abs(tan)[:, None, :]
    expected_f = np.einsum("now,nw->no", jac, tan)
    bound_f = (weights * (bnd + np.spacing(np.abs(jac)) / 2)).sum(axis=2)
    bound_f += gamma(wrt_count, dtype) * (weights * np.abs(jac)).sum(axis=2)
    out_labels = _output_labels(problem)
    labels = tuple(truth.wrt)
    modes = ("vjp",) * wrt_count
    vecs = [[tuple(c)] * wrt_count for c in cot]
    values, expected, bound = reverse, expected_r, bound_r
    if forward_ok:
        labels += tuple(f"jvp {o}" for o in out_labels)
        modes += ("jvp",) * truth.outputs
        vecs = [v + [tuple(t)] * truth.outputs for v, t in zip(vecs, tan, strict=True)]
        values = np.concatenate([reverse, forward], axis=1)
        expected = np.concatenate([expected_r, expected_f], axis=1)
        bound = np.concatenate([bound_r, bound_f], axis=1)
    return Asked(values, expected, bound, labels, modes, vecs, tuple(notes))


def _pick_components(
    answer: dict[str, Any], groups: list[tuple[str, list[int], tuple[int, ...]]], problem: Problem
) -> dict[str, Any]:
    """Gradients by user variable, narrowed to the components named in wrt."""
    picked = {}
    for key, _, _ in groups:
        if "[" in key:
            base = key.split("[", 1)[0]
            names = [v.name for v in problem.components(base)]
            picked[key] = np.asarray(answer[key]).reshape(-1)[names.index(key)]
        else:
            picked[key] = answer[key]
    return picked


def _forward(
    function: Callable[..., Any],
    tensors: dict[str, Any],
    groups: list[tuple[str, list[int], tuple[int, ...]]],
    tangent: np.ndarray,
    tdtype: Any,
    problem: Problem,
) -> np.ndarray:
    import torch
    from torch.func import jvp

    tangents = {k: torch.zeros_like(t) for k, t in tensors.items()}
    for key, columns, _ in groups:
        base = key.split("[", 1)[0]
        flat = tangents[base].reshape(-1).clone()
        if "[" in key:
            names = [v.name for v in problem.components(base)]
            flat[names.index(key)] = float(tangent[columns[0]])
        else:
            flat[:] = torch.tensor(tangent[columns], dtype=tdtype)
        tangents[base] = flat.reshape(tensors[base].shape)
    keys = list(tensors)

    def positional(*args: Any) -> Any:
        return function(**dict(zip(keys, args, strict=True)))

    result = jvp(positional, tuple(tensors[k] for k in keys), tuple(tangents[k] for k in keys))
    out: np.ndarray = result[1].detach().double().reshape(-1).numpy()
    return out


def _output_labels(problem: Problem) -> list[str]:
    shape = problem.output_shape
    if not shape:
        return ["y"]
    labels = []
    for index in np.ndindex(*shape):
        labels.append("y[" + ",".join(map(str, index)) + "]")
    return labels
