"""A bounded, thread-safe least-recently-used memo for what depends only on the text and the
options (parsed problems, derivatives, compiled tapes)."""

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
    immutable or safe to share between threads. `cache_clear()` empties it (after changing
    a SymPy rule, say: the results hold SymPy's derivatives). It is not tied to SymPy's
    clear_cache(), which SymPy itself calls whenever evaluate or distribute is switched,
    as the parser does on every parse.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._kept: OrderedDict[Hashable, T] = OrderedDict()
        self.hits = self.misses = 0

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
