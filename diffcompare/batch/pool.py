"""The local backend: worker processes this module owns, one item at a time each, so a worker
that overruns its item's deadline can be killed and replaced while the run goes on
(concurrent.futures cannot cancel a task that has started)."""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from diffcompare.batch.work import BatchError, error_line, run_item, set_up_worker

PRELOAD = ["torch", "sympy", "diffcompare.engine", "diffcompare.sweep", __name__]
"""What the fork server imports once, so a new worker (the first ones, or one replacing a
worker killed at its deadline) starts in a fraction of a second instead of importing torch
again. The server only imports: torch and fork do not mix once torch has started threads,
and no torch op runs before a worker is forked."""

START_SECONDS = 300.0
"""How long a new worker may take to import torch and SymPy and run its warm-up item."""

READY = "ready"


def worker_main(conn: Connection) -> None:
    """A worker's life: warm up, say so, then run items until told to stop (None)."""
    # The parent owns Ctrl-C: it stops the run and kills its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_up_worker()
    conn.send(READY)
    while (task := conn.recv()) is not None:
        conn.send(run_item(task))


class _Worker:
    """One worker process, its end of the pipe and the item it is running (if any)."""

    def __init__(self, context: Any) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=worker_main, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.born = time.monotonic()
        self.ready = False
        self.task: dict[str, Any] | None = None
        self.started = 0.0

    def give(self, task: dict[str, Any]) -> None:
        self.task, self.started = task, time.monotonic()
        try:
            self.conn.send(task)
        except OSError:
            pass  # it has died: the pipe's end of file reports it, with this item

    def kill(self) -> None:
        self.process.kill()
        self.process.join(10)
        self.conn.close()

    def stop(self) -> None:
        """End the worker: told to stop when idle, killed when running an item (the run
        ended early: interrupted, or a worker failed to start)."""
        if self.task is not None or not self.ready:
            self.kill()
            return
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(5)
        if self.process.is_alive():
            self.kill()
        self.conn.close()


def run_local(
    tasks: Sequence[dict[str, Any]],
    workers: int,
    deadline: float,
    emit: Callable[[dict[str, Any]], None],
) -> None:
    """Run `tasks` on `workers` processes, calling `emit` with each output line as it comes;
    an item still running `deadline` seconds after it was handed over gets an error line,
    and its worker is killed and replaced. Raises BatchError if a worker cannot start."""
    context = _context()
    pending = deque(tasks)
    pool = [_Worker(context) for _ in range(min(workers, len(pending)))]
    try:
        while pending or any(w.task is not None for w in pool):
            for worker in pool:
                if worker.ready and worker.task is None and pending:
                    worker.give(pending.popleft())
            for conn in wait([w.conn for w in pool], timeout=_next_timeout(pool, deadline)):
                worker = next(w for w in pool if w.conn is conn)
                if not _receive(worker, emit):
                    pool.remove(worker)
                    if pending:
                        pool.append(_Worker(context))
            for worker in _overdue(pool, deadline):
                task = worker.task
                assert task is not None
                worker.kill()
                pool.remove(worker)
                emit(error_line(task, f"deadline exceeded after {deadline:g} s", deadline))
                if pending:
                    pool.append(_Worker(context))
    finally:
        for worker in pool:
            worker.stop()


def _context() -> Any:
    """A fork server with the heavy imports preloaded where the platform has one, else
    spawn (a fresh interpreter per worker)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _receive(worker: _Worker, emit: Callable[[dict[str, Any]], None]) -> bool:
    """Take one message from `worker`; False when it has died (its item, if any, is
    reported)."""
    try:
        message = worker.conn.recv()
    except (EOFError, OSError):
        worker.process.join(10)
        code = worker.process.exitcode
        worker.conn.close()
        if not worker.ready:
            raise BatchError(f"a worker process failed to start (exit code {code})") from None
        if worker.task is not None:
            emit(error_line(worker.task, f"the worker process died (exit code {code})"))
        return False
    if message == READY:
        worker.ready = True
    else:
        worker.task = None
        emit(message)
    return True


def _next_timeout(pool: Sequence[_Worker], deadline: float) -> float:
    """Seconds until the next deadline, of an item or of a worker's start."""
    now = time.monotonic()
    ends = [w.started + deadline for w in pool if w.task is not None]
    ends += [w.born + START_SECONDS for w in pool if not w.ready]
    return max(0.0, min(ends, default=now + 1.0) - now)


def _overdue(pool: Sequence[_Worker], deadline: float) -> list[_Worker]:
    now = time.monotonic()
    for worker in pool:
        if not worker.ready and now - worker.born > START_SECONDS:
            raise BatchError(f"a worker process did not start within {START_SECONDS:g} s")
    # A worker whose result is already waiting in the pipe finished in time.
    return [
        w for w in pool if w.task is not None and now - w.started > deadline and not w.conn.poll()
    ]
