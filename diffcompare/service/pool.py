"""The worker pool: one worker process per slot, each request with a hard deadline.

A request is a job on a bounded queue; one thread per slot takes a job, sends it to its
worker process over a pipe and waits at most the deadline. Past it the worker is killed
(SIGKILL) and the job answered 504 with what the worker was doing; a worker that dies is
answered 503 (try again). Either way the slot starts a fresh worker before it takes the next
job, so the pool recovers by itself. Workers come from a forkserver that has already imported
the engine, so a replacement starts in well under a second, and keep their caches warm.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

from diffcompare.service.config import ServiceLimits

log = logging.getLogger("diffcompare.service")

PHASE_BYTES = 240
"""Room for what a worker says it is doing (read when its deadline passes)."""

SAMPLE_SECONDS = 0.2
"""How long a worker past its deadline gets to name the function it is in before it is killed."""

START_SECONDS = 120.0
"""How long a new worker may take to import the engine and warm up."""


@dataclass(frozen=True)
class Outcome:
    """A job's answer: the HTTP status, the JSON body (text), and Retry-After if any."""

    status: int
    body: str
    retry_after: int | None = None


def error_body(error: str, message: str, **fields: Any) -> str:
    """The JSON of an error answer: its kind, a one-line message and any further fields."""
    return json.dumps({"error": error, "message": " ".join(message.split()), **fields})


@dataclass
class _Job:
    kind: str
    params: dict[str, Any]
    future: Future[Outcome]
    enqueued: float = field(default_factory=time.monotonic)


def _settle(job: _Job, outcome: Outcome) -> None:
    # A client that went away cancelled its future; its answer has nowhere to go.
    try:
        job.future.set_result(outcome)
    except InvalidStateError:
        pass


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: Any, memory_mb: int) -> None:
        from diffcompare.service import worker

        self.phase = context.Array("c", PHASE_BYTES, lock=False)
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=worker.main, args=(child, self.phase, memory_mb), daemon=True
        )
        self.process.start()
        child.close()
        self.info: dict[str, Any] = {}

    @property
    def pid(self) -> int | None:
        pid: int | None = self.process.pid
        return pid

    def wait_ready(self, seconds: float) -> bool:
        """Wait for the worker's ready message (its versions); False if it died or hung."""
        try:
            if not self.conn.poll(seconds):
                return False
            kind, info = self.conn.recv()
        except (EOFError, OSError):
            return False
        self.info = info
        return bool(kind == "ready")

    def doing(self) -> str:
        return bytes(self.phase.raw).split(b"\0", 1)[0].decode("utf-8", "replace") or "starting"

    def kill(self) -> None:
        if self.process.is_alive():
            try:
                os.kill(self.process.pid or 0, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.join(5)
        # The pool's close() and the worker's own slot thread may both kill it at shutdown:
        # closing the pipe twice is harmless, but the second close finds the handle gone.
        with contextlib.suppress(OSError):
            self.conn.close()

    def run(self, job: _Job, limits: ServiceLimits) -> tuple[Outcome, bool]:
        """Send the job, wait at most the deadline; the Outcome and whether the worker lives."""
        try:
            self.conn.send((job.kind, job.params))
            ready = self.conn.poll(limits.deadline)
            reply = self.conn.recv() if ready else None
        except (EOFError, OSError, BrokenPipeError):
            return self._died(), False
        if reply is None:
            return self._late(limits), False
        status, body, keep = reply
        return Outcome(status, body), keep

    def _late(self, limits: ServiceLimits) -> Outcome:
        # Ask the worker where it is (a SIGUSR1 handler writes the function it is in), then
        # kill it whatever it answers: a long C call never runs the handler.
        before = self.doing()
        try:
            os.kill(self.process.pid or 0, signal.SIGUSR1)
            time.sleep(SAMPLE_SECONDS)
        except ProcessLookupError:
            pass
        doing = self.doing()
        if doing == before:
            doing = f"{before} (in a call that does not return to Python)"
        self.kill()
        return Outcome(
            504,
            error_body(
                "deadline",
                f"the request's deadline of {limits.deadline:g} s passed while {doing}; "
                "its worker was stopped and replaced",
                deadline=limits.deadline,
                doing=doing,
            ),
        )

    def _died(self) -> Outcome:
        doing = self.doing()
        self.process.join(5)
        code = self.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit {code}"
        return Outcome(
            503,
            error_body(
                "worker_died",
                f"the worker computing this request died ({how}) while {doing}; "
                "it has been replaced: try again",
                doing=doing,
            ),
            retry_after=1,
        )


class WorkerPool:
    """A fixed number of worker slots fed from one bounded queue.

    submit() never blocks and never raises: it returns a Future of the Outcome, already
    answered 503 when the queue is full or the pool is closed.
    """

    def __init__(self, limits: ServiceLimits) -> None:
        self.limits = limits
        self._jobs: queue.Queue[_Job] = queue.Queue(maxsize=limits.queue)
        self._lock = threading.Lock()
        self._workers: dict[int, _Worker | None] = {}
        self._busy: set[int] = set()
        self._threads: list[threading.Thread] = []
        self._starting: dict[int, _Worker] = {}
        self._closed = True
        self.info: dict[str, Any] = {}
        self.counts = {"answered": 0, "deadline": 0, "died": 0, "started": 0, "refused": 0}

    def start(self) -> None:
        """Start the worker slots; each starts its worker in its own thread (no waiting)."""
        method = (
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
        self._context = multiprocessing.get_context(method)
        if method == "forkserver":
            # The forkserver imports the engine once; every worker forks from it, warm.
            self._context.set_forkserver_preload(["diffcompare.service.preload"])
        self._closed = False
        for slot in range(self.limits.workers):
            thread = threading.Thread(
                target=self._serve, args=(slot,), name=f"diffcompare-slot-{slot}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def submit(self, kind: str, params: dict[str, Any]) -> Future[Outcome]:
        job = _Job(kind, params, Future())
        if self._closed:
            job.future.set_result(self._refusal("the service is shutting down"))
            return job.future
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            with self._lock:
                self.counts["refused"] += 1
            job.future.set_result(
                self._refusal(
                    f"all {self.limits.workers} workers are busy and {self.limits.queue} "
                    "requests are already waiting"
                )
            )
        return job.future

    def _refusal(self, why: str) -> Outcome:
        return Outcome(
            503,
            error_body("saturated", f"{why}: try again later", retry_after=self.limits.retry_after),
            retry_after=self.limits.retry_after,
        )

    def stats(self) -> dict[str, Any]:
        with self._lock:
            ready = sum(1 for w in self._workers.values() if w is not None)
            return {
                "workers": self.limits.workers,
                "ready": ready,
                "busy": len(self._busy),
                "waiting": self._jobs.qsize(),
                "queue": self.limits.queue,
                **self.counts,
            }

    def pids(self) -> dict[int, int | None]:
        """Slot -> its worker's process id (None while it starts); for tests and operators."""
        with self._lock:
            return {s: (w.pid if w else None) for s, w in self._workers.items()}

    def busy_pids(self) -> list[int]:
        with self._lock:
            return [w.pid for s, w in self._workers.items() if w and s in self._busy and w.pid]

    def close(self) -> None:
        """Stop taking jobs, answer the waiting ones 503, and stop every worker (a request
        still computing is answered 503 as its worker dies)."""
        self._closed = True
        while True:
            try:
                _settle(self._jobs.get_nowait(), self._refusal("the service is shutting down"))
            except queue.Empty:
                break
        with self._lock:
            workers = [w for w in self._workers.values() if w] + list(self._starting.values())
        for worker in workers:
            worker.kill()
        for thread in self._threads:
            thread.join(10)
        self._threads.clear()

    def _start_worker(self, slot: int) -> _Worker:
        """A ready worker for the slot, retrying (with a pause) until one starts."""
        while not self._closed:
            worker = _Worker(self._context, self.limits.memory_mb)
            with self._lock:
                self._starting[slot] = worker
            ready = worker.wait_ready(START_SECONDS)
            with self._lock:
                self._starting.pop(slot, None)
                if ready and not self._closed:
                    self._workers[slot] = worker
                    self.counts["started"] += 1
                    self.info = worker.info
                    return worker
            worker.kill()
            if not self._closed:
                log.error(
                    "worker for slot %d failed to start (exit %s)", slot, worker.process.exitcode
                )
                time.sleep(1.0)
        raise SystemExit

    def _serve(self, slot: int) -> None:
        with self._lock:
            self._workers[slot] = None
        try:
            worker = self._start_worker(slot)
        except SystemExit:
            return
        while not self._closed:
            try:
                job = self._jobs.get(timeout=0.2)
            except queue.Empty:
                continue
            if job.future.cancelled():
                continue  # its client went away while it waited
            if time.monotonic() - job.enqueued > self.limits.deadline:
                _settle(
                    job,
                    self._refusal(
                        f"the request waited {self.limits.deadline:g} s for a free worker"
                    ),
                )
                continue
            with self._lock:
                self._busy.add(slot)
            try:
                outcome, alive = worker.run(job, self.limits)
            except Exception as error:  # a bug here must not cost the slot its thread
                log.exception("slot %d failed on a %s job", slot, job.kind)
                outcome = Outcome(
                    503, error_body("pool", f"the worker pool failed: {error}"), retry_after=1
                )
                alive = False
            with self._lock:
                self._busy.discard(slot)
                self.counts["answered"] += 1
                if outcome.status == 504:
                    self.counts["deadline"] += 1
                elif outcome.status == 503:
                    self.counts["died"] += 1
            _settle(job, outcome)
            if not alive:
                worker.kill()
                with self._lock:
                    self._workers[slot] = None
                try:
                    worker = self._start_worker(slot)
                except SystemExit:
                    return
        worker.kill()
        with self._lock:
            self._workers.pop(slot, None)
