"""A time limit for SymPy work that can run away (simplification, evaluating constants)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class OutOfTime(BaseException):
    """Raised by the timer; a BaseException, so SymPy's own `except Exception` cannot eat it."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise OutOfTime in the block after `seconds`.

    Only the main thread can take the timer's signal, so elsewhere (and for seconds <= 0)
    it raises OutOfTime at once: callers treat that as "no time for this".
    """
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        raise OutOfTime

    def interrupt(signum: int, frame: object) -> None:
        raise OutOfTime

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
