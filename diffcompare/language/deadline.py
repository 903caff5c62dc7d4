"""A time limit for SymPy work that can run away (simplification, evaluating constants)."""

from __future__ import annotations

import gc
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class OutOfTime(BaseException):
    """Raised by the timer; a BaseException, so SymPy's own `except Exception` cannot eat it."""


RETRY_SECONDS = 0.001
"""How soon the timer fires again when it interrupted a garbage-collector callback."""


def _in_gc_callback(frame: FrameType | None) -> bool:
    codes = {getattr(callback, "__code__", None) for callback in gc.callbacks}
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise OutOfTime in the block after `seconds`.

    Only the main thread can take the timer's signal, so elsewhere (and for seconds <= 0)
    it raises OutOfTime at once: callers treat that as "no time for this". Limits nest: an
    inner one never outlives an outer one, and the outer timer is restored on exit.
    """
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        raise OutOfTime

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if _in_gc_callback(frame):
            # An exception raised inside a garbage-collector callback (hypothesis installs
            # one) is printed and dropped, so the limit would be lost: try again shortly.
            signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
            return
        raise OutOfTime

    outer, _ = signal.getitimer(signal.ITIMER_REAL)
    start = time.monotonic()
    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer) if outer else seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            left = outer - (time.monotonic() - start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6))
