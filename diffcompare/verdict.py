"""The four verdicts a point can get, and how the verdicts of many points make one."""

from __future__ import annotations

AGREE, DISAGREE, UNDEFINED, NONDIFFERENTIABLE = (
    "agree",
    "disagree",
    "undefined",
    "nondifferentiable",
)
VERDICTS = (AGREE, DISAGREE, UNDEFINED, NONDIFFERENTIABLE)


def overall(verdicts: set[str]) -> str:
    """One verdict for many points: disagree if any point disagrees, else agree if any
    agrees, else nondifferentiable if any point is, else undefined."""
    for verdict in (DISAGREE, AGREE, NONDIFFERENTIABLE):
        if verdict in verdicts:
            return verdict
    return UNDEFINED
