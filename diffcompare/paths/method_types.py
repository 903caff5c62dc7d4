"""What the derivative paths share: the settings they run under, the prepared (compiled)
problem, a method's account of its error, and the running bound of a tape's own outputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import torch

from diffcompare.errors import UsageError
from diffcompare.paths.compiler import Tape
from diffcompare.paths.error_model import depends_on, rounded, running_bound, sensitivity
from diffcompare.paths.symbolic import SIMPLIFY_SECONDS
from diffcompare.paths.targets import Target, gradient_target

FD_SCHEMES = ("auto", "central", "richardson", "complex-step")

DTYPES: Mapping[str, torch.dtype] = MappingProxyType(
    {"float64": torch.float64, "float32": torch.float32}
)


@dataclass(frozen=True)
class Settings:
    """How to run the torch paths: the dtype, and the finite-difference scheme."""

    dtype: torch.dtype = torch.float64
    fd: str = "auto"
    simplify_seconds: float = SIMPLIFY_SECONDS  # for the derivative shown and evaluated

    def __post_init__(self) -> None:
        if self.fd not in FD_SCHEMES:
            raise UsageError(f"--fd {self.fd}: not a scheme (choose from {', '.join(FD_SCHEMES)})")
        if self.dtype not in DTYPES.values():
            raise UsageError(f"dtype {self.dtype}: choose float64 or float32")


def _no_note(i: int) -> str:
    return ""


@dataclass(frozen=True)
class Check:
    """A method's account of its values: the bound its error model allows at each point,
    shape (points, entries); which entries it could not compute (`skipped`); and `note(i)`,
    what it has to say about point i ('' when nothing: why it skipped, which scheme and
    step)."""

    bound: torch.Tensor
    skipped: torch.Tensor
    note: Callable[[int], str] = _no_note

    def subset(self, rows: Sequence[int]) -> Check:
        rows = list(rows)
        return Check(self.bound[rows], self.skipped[rows], lambda i: self.note(rows[i]))


@dataclass(frozen=True)
class CompiledPrepared:
    """The problem compiled for the torch paths: its tape (one output per component), what
    to differentiate, and the finite-difference scheme."""

    tape: Tape
    target: Target
    scheme: str = "central"  # the finite-difference scheme, resolved from Settings.fd
    auto: bool = False  # whether the scheme was chosen automatically (and may fall back)
    edged: bool = False  # whether the expression has kinks or domain edges
    # A higher derivative's unsimplified formulas, and those of one order less, for its bound.
    formulas: Tape | None = None
    inner: Tape | None = None

    @property
    def wrt(self) -> tuple[int, ...]:
        """The positions of the variables differentiated by."""
        return self.target.wrt

    def output(self, k: int) -> CompiledPrepared:
        """The same for output k alone, with its gradient by the wrt variables as target."""
        tape = self.tape
        single = Tape(tape.variables, tape.nodes, (tape.outputs[k],))
        return replace(self, tape=single, target=gradient_target(len(tape.variables), self.wrt))


def columns(points: torch.Tensor, requires_grad: bool = False) -> list[torch.Tensor]:
    """Points of shape (points, variables) as one tensor per variable, for Tape.run."""
    return [
        points[:, j].detach().clone().requires_grad_(requires_grad) for j in range(points.shape[1])
    ]


def tape_bound(tape: Tape, points: torch.Tensor) -> torch.Tensor:
    """The running error bound of each of the tape's own outputs, shape (points, outputs)."""
    run = tape.run(columns(points, requires_grad=True), keep=True, track_constants=True)
    pairs = rounded(tape, run)
    scales = sensitivity(run.outputs, pairs, depends_on(tape) if len(run.outputs) > 1 else None)
    values = torch.stack(run.outputs, dim=1).detach()
    relative = torch.stack([s[0] for s in scales], dim=1)
    absolute = torch.stack([s[1] for s in scales], dim=1)
    return running_bound(values, (relative, absolute), points.dtype)
