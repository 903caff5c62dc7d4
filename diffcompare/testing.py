"""Assertions for test suites: assert_gradient (diffcompare.check that raises), GradientMismatch,
and the gradcheck drop-in when diffcompare.oracle.gradcheck is present."""

from __future__ import annotations

from typing import Any

__all__ = ["GradientMismatch", "assert_gradient"]


class GradientMismatch(AssertionError):
    """A candidate derivative off the 50-digit truth by more than its bound; str() is the
    CheckReport's message, and `.report` the CheckReport itself."""

    def __init__(self, report: Any) -> None:
        super().__init__(str(report))
        self.report = report


def assert_gradient(expr: Any, **options: Any) -> Any:
    """diffcompare.check(expr, **options) (the same arguments), raising GradientMismatch with
    the report's message when the candidate fails; returns the CheckReport when it passes."""
    __tracebackhide__ = True
    from diffcompare.oracle.check import check

    report = check(expr, **options)
    if not report.ok:
        raise GradientMismatch(report)
    return report


def __getattr__(name: str) -> Any:
    # The gradcheck drop-in lives in the oracle package; import it only when asked for.
    if name == "gradcheck":
        from importlib import import_module

        try:
            module = import_module(".oracle.gradcheck", __package__)
        except ModuleNotFoundError as error:
            if error.name != f"{__package__}.oracle.gradcheck":
                raise
            raise AttributeError("diffcompare.testing.gradcheck is not available") from None
        return module.gradcheck
    raise AttributeError(f"module 'diffcompare.testing' has no attribute {name!r}")
