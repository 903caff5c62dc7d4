"""The service's limits: workers, per-request deadline, memory cap, queue and body size."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


@dataclass(frozen=True)
class ServiceLimits:
    """What the service allows; every field is a `diffcompare serve` flag of the same name.

    workers: worker processes, each computing one request at a time (the concurrency).
    deadline: seconds one request may compute in its worker before the worker is killed and
        replaced and the request answered 504; also the longest a request waits for a worker
        before it is answered 503.
    memory_mb: each worker's address-space cap (RLIMIT_AS), in MiB; 0 for none.
    queue: requests that may wait for a worker (at least 1); one more is answered 503 at once.
    max_body: bytes of one request body; a larger one is answered 413.
    """

    workers: int = 2
    deadline: float = 30.0
    memory_mb: int = 4096
    queue: int = 64
    max_body: int = 65_536

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if not self.deadline > 0:
            raise ValueError("deadline must be positive")
        if self.memory_mb < 0 or self.queue < 1 or self.max_body < 1:
            raise ValueError("memory_mb must be >= 0, queue and max_body >= 1")

    @property
    def retry_after(self) -> int:
        """Seconds a refused client is told to wait (the Retry-After header)."""
        return max(1, min(30, round(self.deadline / 4)))
