"""A worker process's main loop: warm up, cap memory, then answer jobs one at a time.

The module itself is light (the app process imports it to name `main` as the process
target); `main` imports the engine. Each reply is (status, JSON text, keep-this-worker).
"""

from __future__ import annotations

import json
import logging
import math
import resource
import signal
import sys
import traceback
from multiprocessing.connection import Connection
from types import FrameType
from typing import Any

from diffcompare.service import phase
from diffcompare.service.phase import set_phase

log = logging.getLogger("diffcompare.service.worker")


def _where(signum: int, frame: FrameType | None) -> None:
    # SIGUSR1 from the parent: the deadline passed. Add the innermost frames to the phase.
    names: list[str] = []
    while frame is not None and len(names) < 40:
        module = frame.f_globals.get("__name__", "?")
        names.append(f"{module}.{frame.f_code.co_name}")
        frame = frame.f_back
    ours = [n for n in names if n.startswith("diffcompare.") and ".service." not in n]
    inner = names[0] if names else "?"
    here = f"{ours[0]} -> {inner}" if ours and ours[0] != inner else inner
    set_phase(f"{phase.current()} (in {here})")


def strict_json(value: Any) -> str:
    """JSON with no NaN or Infinity tokens: a non-finite float becomes null."""
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"))
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False, separators=(",", ":"))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def main(conn: Connection, phase_buffer: Any, memory_mb: int) -> None:
    """Run in the worker process until the pipe closes."""
    phase.install(phase_buffer)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server; it stops us
    signal.signal(signal.SIGUSR1, _where)
    set_phase("starting: importing the engine")
    import torch

    from diffcompare.service import tasks

    torch.set_num_threads(1)  # the pool is the parallelism; threads per worker would fight
    set_phase("starting: warming up")
    tasks.warm_up()
    if memory_mb:
        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    conn.send(("ready", tasks.versions()))
    set_phase("idle")
    while True:
        try:
            kind, params = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        conn.send(answer(kind, params, memory_mb))
        set_phase("idle")


def answer(kind: str, params: dict[str, Any], memory_mb: int = 0) -> tuple[int, str, bool]:
    """Run one job: (HTTP status, JSON text, whether this worker may take another job)."""
    from diffcompare.service import tasks

    try:
        return 200, strict_json(tasks.TASKS[kind](params)), True
    except tasks.GraphvizMissing as error:  # the server lacks a program: not the input's fault
        body = {"error": "unavailable", "message": " ".join(str(error).split())}
        return 503, strict_json(body), True
    except tasks.DiffCompareError as error:
        return 422, strict_json(tasks.error_fields(error)), True
    except MemoryError:
        return 422, _out_of_memory(memory_mb), False
    except RecursionError:
        body = {"error": "too_deep", "message": "the expression nests too deeply to compute"}
        return 422, strict_json(body), False
    except Exception as error:  # an engine failure is an answer too, and is logged
        if isinstance(error, RuntimeError) and "allocate memory" in str(error):
            return 422, _out_of_memory(memory_mb), False  # torch's allocator hit the cap
        text = f"{type(error).__name__}: {' '.join(str(error).split())}"[:400]
        print(f"diffcompare worker: {kind} failed:\n{traceback.format_exc()}", file=sys.stderr)
        body = {"error": "engine", "message": f"the engine could not compute this: {text}"}
        return 422, strict_json(body), False


def _out_of_memory(memory_mb: int) -> str:
    cap = f" of {memory_mb} MiB" if memory_mb else ""
    message = f"the request needed more memory than the worker's cap{cap} allows"
    return strict_json({"error": "memory", "message": message})
