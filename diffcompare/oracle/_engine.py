"""The engine internals the oracle uses, imported in this one place (so a move of the engine's
modules is one edit here)."""

from __future__ import annotations

from ..ops import FUNCTIONS, Op

__all__ = ["FUNCTIONS", "Op"]
