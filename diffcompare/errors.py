"""The exceptions diffcompare raises: each knows its exit code and shows itself in one line."""

from __future__ import annotations


class DiffCompareError(Exception):
    """Base of every error diffcompare raises on purpose; `exit_code` is what the CLI exits with."""

    exit_code = 2

    def format_message(self) -> str:
        return str(self)


class InputError(DiffCompareError):
    """The user's expression or options cannot be used as given."""


class ParseError(InputError):
    """The expression text is not in the input language.

    The message names the offending piece, the 1-based column where it starts, and what
    is allowed instead.
    """

    def __init__(
        self,
        reason: str,
        *,
        column: int | None = None,
        piece: str | None = None,
        allowed: str | None = None,
    ) -> None:
        self.reason = reason
        self.column = column
        self.piece = piece
        self.allowed = allowed
        where = f"column {column}: " if column is not None else ""
        what = f"{piece!r}: " if piece else ""
        tail = f"; allowed: {allowed}" if allowed else ""
        super().__init__(f"{where}{what}{reason}{tail}")


class LimitError(InputError):
    """The input would cost more than one input may: too long, too deep, too large a number."""

    def __init__(
        self, what: str, limit: object, got: object | None = None, column: int | None = None
    ) -> None:
        self.what = what
        self.limit = limit
        self.got = got
        self.column = column
        where = f"column {column}: " if column is not None else ""
        seen = f" (got {got})" if got is not None else ""
        super().__init__(f"{where}{what} exceeds the limit of {limit}{seen}")


class UsageError(InputError):
    """An option's value is malformed or does not fit the expression (e.g. `--at`, `--wrt`)."""
