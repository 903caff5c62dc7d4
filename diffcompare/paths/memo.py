"""A bounded, thread-safe least-recently-used memo for what depends only on the text and the
options (parsed problems, derivatives, compiled tapes), cleared with SymPy's own cache."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Memo(Generic[T]):
    """At most `size` results by key, the least recently used dropped first.

    `get(key, make)` returns the kept result or makes it outside the lock (two threads
    asking for the same new key may both make it; the first stored wins, so every caller
    gets the same object from then on). A failure is not kept. Kept results must be
    immutable or safe to share between threads. sympy.core.cache.clear_cache() clears it
    too: the results hold SymPy's derivatives, which a changed SymPy rule changes.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._kept: OrderedDict[Hashable, T] = OrderedDict()
        self.hits = self.misses = 0
        _register_with_sympy(self)

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                self.hits += 1
                return self._kept[key]
            self.misses += 1
        made = make()
        with self._lock:
            kept = self._kept.setdefault(key, made)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return kept

    def __len__(self) -> int:
        return len(self._kept)

    def cache_clear(self) -> None:
        with self._lock:
            self._kept.clear()


def _register_with_sympy(memo: Memo[object]) -> None:
    """SymPy's clear_cache() clears each registered function that has `__wrapped__` and
    `cache_clear` (as functools.lru_cache makes; print_cache() also reads `cache_info`): a
    small such function stands for the memo."""
    from sympy.core.cache import CACHE

    def clear() -> None:
        memo.cache_clear()

    def info() -> tuple[int, int, int, int]:
        return memo.hits, memo.misses, memo.size, len(memo)

    clear.__wrapped__ = clear  # type: ignore[attr-defined]
    clear.cache_clear = clear  # type: ignore[attr-defined]
    clear.cache_info = info  # type: ignore[attr-defined]
    CACHE.append(clear)
