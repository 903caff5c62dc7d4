# distributed has no type annotations: its calls are untyped, not unchecked here.
# mypy: disable-error-code="no-untyped-call"
"""The Dask backend: the same items on a distributed cluster, a LocalCluster of process
workers (`--dask local`) or an existing scheduler (`--dask tcp://HOST:8786`).

At most one item per worker thread is in flight, so an item starts as soon as it is
submitted and its deadline counts from then. An item past its deadline gets its error line
and its future is cancelled; Dask cannot stop a task that has started, so the worker
running it is restarted through its nanny (`Client.restart_workers`), which kills the
process and starts a fresh one (warmed up again by the plugin below). A worker without a
nanny cannot be restarted: it stays busy until the item ends by itself, and the run goes on
with the others (a warning says so on stderr).
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from distributed import Client, Future, LocalCluster, WorkerPlugin, wait

from diffcompare.batch.work import BatchError, error_line, run_item, set_up_worker

CONNECT_SECONDS = 30
RESTART_SECONDS = 300


class WarmUp(WorkerPlugin):
    """Sets up every worker, present and future (a restarted one too), as the local pool
    does: one torch thread, then the warm-up item."""

    def setup(self, worker: Any) -> None:
        set_up_worker()


@contextmanager
def connect(address: str, workers: int) -> Iterator[Client]:
    """A client of a new LocalCluster of `workers` single-threaded process workers
    ("local"), or of the scheduler at `address`."""
    if address == "local":
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # The scheduler serves HTTP (metrics) even without a dashboard, on 8787 by
                # default: where that port is taken it warns and moves. A free loopback
                # port from the start: two clusters, or one beside another program, never meet.
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as error:
        message = " ".join(str(error).split())
        raise BatchError(f"--dask {address}: cannot reach the scheduler: {message}") from None
    with client:
        yield client


def worker_count(client: Client) -> int:
    return len(client.nthreads())


def run_dask(
    tasks: Sequence[dict[str, Any]],
    client: Client,
    deadline: float,
    emit: Callable[[dict[str, Any]], None],
) -> None:
    """Run `tasks` on the cluster behind `client`, calling `emit` with each output line."""
    client.register_plugin(WarmUp(), name="diffcompare-batch-warm-up")
    pending = list(reversed(tasks))
    running: dict[Future[Any], tuple[dict[str, Any], float]] = {}
    try:
        while pending or running:
            capacity = max(1, sum(client.nthreads().values()))
            while pending and len(running) < capacity:
                task = pending.pop()
                key = f"diffcompare-item-{uuid.uuid4().hex}"
                future = client.submit(run_item, task, key=key, pure=False, retries=0)
                running[future] = (task, time.monotonic())
            _collect(running, deadline, emit)
            for future in _overdue(running, deadline):
                task, _ = running.pop(future)
                _stop(client, future)
                emit(error_line(task, f"deadline exceeded after {deadline:g} s", deadline))
    finally:
        client.cancel(list(running))


def _collect(
    running: dict[Future[Any], tuple[dict[str, Any], float]],
    deadline: float,
    emit: Callable[[dict[str, Any]], None],
) -> None:
    """Wait for the first item to finish or the next deadline; emit every finished one."""
    now = time.monotonic()
    timeout = max(0.05, min(started + deadline for _, started in running.values()) - now)
    try:
        wait(list(running), timeout=timeout, return_when="FIRST_COMPLETED")
    except TimeoutError:
        pass
    for future in [f for f in running if f.done()]:
        task, _ = running.pop(future)
        if future.status == "finished":
            emit(future.result())
        else:  # the worker died under it (out of memory, killed) or Dask failed it
            error = future.exception() if future.status == "error" else future.status
            emit(error_line(task, f"the Dask worker failed: {error}"))


def _overdue(
    running: dict[Future[Any], tuple[dict[str, Any], float]], deadline: float
) -> list[Future[Any]]:
    now = time.monotonic()
    return [f for f, (_, started) in running.items() if now - started > deadline and not f.done()]


def _stop(client: Client, future: Future[Any]) -> None:
    """Cancel an overdue item and restart the worker stuck in it."""
    holders = [w for w, keys in client.processing().items() if future.key in keys]
    client.cancel([future], force=True)
    if not holders:
        return
    status = client.restart_workers(holders, timeout=RESTART_SECONDS, raise_for_error=False)
    failed = {w: s for w, s in status.items() if s != "OK"}
    if failed:
        print(
            "diffcompare: warning: could not restart the Dask worker stuck past its deadline "
            f"({', '.join(f'{w}: {s}' for w, s in failed.items())}); it stays busy until "
            "its item ends",
            file=sys.stderr,
        )
