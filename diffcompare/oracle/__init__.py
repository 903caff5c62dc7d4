"""The test oracle: checking other people's gradient code against the 50-digit truth."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from diffcompare.oracle.check import check
    from diffcompare.oracle.report import CheckReport, Failure

__all__ = ["CheckReport", "Failure", "check"]

_LAZY = {"check": "check", "CheckReport": "report", "Failure": "report"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'diffcompare.oracle' has no attribute {name!r}")
