"""The engine internals the oracle uses (check, gradcheck, conform), imported in this one
place, so a move of the engine's modules is one edit here."""

from __future__ import annotations

from diffcompare.engine import Setup, compare
from diffcompare.engine import prepared_setup as prepare
from diffcompare.errors import DiffCompareError, UsageError
from diffcompare.language.ops import BY_NODE, FUNCTIONS, OPS, Op
from diffcompare.language.parser import parse
from diffcompare.language.problem import Problem, point_values
from diffcompare.paths.error_model import SAFETY, eps
from diffcompare.paths.fd_steps import COMPLEX_STEP, FD_SAFETY, STEP_SCALES
from diffcompare.paths.fd_steps import choose as choose_step
from diffcompare.paths.fd_steps import truncation_estimate as truncation
from diffcompare.paths.reference import reference
from diffcompare.report import Report
from diffcompare.sampling import usable
from diffcompare.sweep import parse_domain

__all__ = [
    "BY_NODE",
    "COMPLEX_STEP",
    "FD_SAFETY",
    "FUNCTIONS",
    "OPS",
    "SAFETY",
    "STEP_SCALES",
    "DiffCompareError",
    "Op",
    "Problem",
    "Report",
    "Setup",
    "UsageError",
    "choose_step",
    "compare",
    "eps",
    "parse",
    "parse_domain",
    "point_values",
    "prepare",
    "reference",
    "truncation",
    "usable",
]
