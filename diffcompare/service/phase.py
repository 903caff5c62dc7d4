"""What a worker process is doing now, in a shared buffer the parent reads when a deadline
passes (so a 504 can say what the request was doing)."""

from __future__ import annotations

from typing import Any

_buffer: Any = None


def install(buffer: Any) -> None:
    """Use `buffer` (a multiprocessing char array shared with the parent) from now on."""
    global _buffer
    _buffer = buffer


def set_phase(text: str) -> None:
    """Say what this worker is doing now (the parent quotes it when the deadline passes)."""
    if _buffer is not None:
        data = text.encode("utf-8")[: len(_buffer) - 1]
        _buffer.raw = data + b"\0" * (len(_buffer) - len(data))


def current() -> str:
    """What the worker said it is doing, or "" before any phase."""
    if _buffer is None:
        return ""
    return bytes(_buffer.raw).split(b"\0", 1)[0].decode("utf-8", "replace")
