"""`run(items, ...)`: a batch of expressions on the local process pool or a Dask cluster,
each item's output line appended to the output as it finishes, resumable, with a
per-item deadline and a summary."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import IO, Any

from diffcompare.batch.items import Item, read_items
from diffcompare.batch.summary import Summary, summarize
from diffcompare.batch.work import BatchError, error_line

DEADLINE = 60.0
"""Seconds one item may run before it is reported as overdue and its worker is stopped."""


def run(
    items: Iterable[str | Mapping[str, Any] | Item],
    *,
    workers: int | None = None,
    dask: Any = None,
    deadline: float = DEADLINE,
    output: str | Path | IO[str] | None = None,
    resume: bool = True,
    progress: bool | Callable[[dict[str, Any]], None] = False,
) -> Summary:
    """Compare every item (a JSON line, a decoded mapping, or an Item: see items.py for the
    fields) and return the Summary, whose `lines` are the output lines in the order the
    items finished (sort by `id` to compare runs).

    `workers`: processes of the local pool (default: the cores), or of a `dask="local"`
    LocalCluster; `dask`: None (the local pool), "local", a scheduler address
    ("tcp://HOST:8786") or a distributed.Client. `deadline`: seconds an item may run
    before it gets the error line "deadline exceeded" and its worker is replaced.
    `output`: a path the lines are appended to (or a text stream they are written to);
    with `resume`, the ids already in that file are skipped, else it is overwritten.
    `progress`: True for a bar on stderr when it is a terminal, or a callable given each
    line. A malformed item is its error line, never an exception; raises BatchError when
    the run itself cannot go on (a worker cannot start, a scheduler cannot be reached).
    """
    start = time.perf_counter()
    if deadline <= 0:
        raise BatchError(f"--deadline {deadline:g}: give a positive number of seconds")
    given = list(items)
    if all(isinstance(item, Item) for item in given):
        everything: list[Item] = given  # type: ignore[assignment]
    else:
        everything = read_items(given)  # type: ignore[arg-type]
    previous = _done_lines(output) if resume and isinstance(output, str | Path) else []
    done = {line.get("id") for line in previous}
    todo = [item for item in everything if item.id not in done]
    workers = _cores() if workers is None else workers
    if workers < 1:
        raise BatchError(f"--workers {workers}: give at least 1")
    lines: list[dict[str, Any]] = []
    with _writer(output, append=resume) as write, _bar(progress, len(todo)) as tick:

        def emit(line: dict[str, Any]) -> None:
            write(line)
            lines.append(line)
            tick(line)

        for item in todo:
            if item.error is not None:
                emit(error_line({"id": item.id, "line": item.line, "expr": item.expr}, item.error))
        tasks = [item.task() for item in todo if item.error is None]
        where = _execute(tasks, workers, dask, deadline, emit)
    return summarize(previous, lines, time.perf_counter() - start, where)


def _execute(
    tasks: list[dict[str, Any]],
    workers: int,
    dask: Any,
    deadline: float,
    emit: Callable[[dict[str, Any]], None],
) -> str:
    """Run `tasks` on the chosen backend; what it ran on, for the summary."""
    if dask is None:
        from diffcompare.batch.pool import run_local

        if tasks:
            run_local(tasks, workers, deadline, emit)
        return f"{workers} local worker{'s' if workers != 1 else ''}"
    try:
        from diffcompare.batch import cluster
    except ImportError:
        raise BatchError(
            "--dask needs Dask's distributed scheduler: pip install 'diffcompare[batch]'"
        ) from None
    if not isinstance(dask, str):  # a distributed.Client the caller made
        if tasks:
            cluster.run_dask(tasks, dask, deadline, emit)
        return "a Dask cluster"
    with cluster.connect(dask, workers) as client:
        if tasks:
            cluster.run_dask(tasks, client, deadline, emit)
        count = cluster.worker_count(client)
    workers_text = f"{count} worker{'s' if count != 1 else ''}"
    if dask == "local":
        return f"a Dask LocalCluster of {workers_text}"
    return f"the Dask scheduler {dask} ({workers_text})"


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _done_lines(output: str | Path) -> list[dict[str, Any]]:
    """The output lines already in `output` (none if it does not exist). A last line cut
    short by an interrupted run is removed from the file, so appending starts clean."""
    path = Path(output)
    if not path.exists():
        return []
    try:
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            with path.open("r+b") as file:
                file.truncate(end)
    except OSError as error:
        raise BatchError(f"--output {output}: {error.strerror or error}") from None
    lines = []
    for text in data[:end].decode("utf-8", "replace").splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict) and "id" in line:
            lines.append(line)
    return lines


@contextmanager
def _writer(
    output: str | Path | IO[str] | None, append: bool
) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Writes each output line as one JSON line and flushes it, so an interrupted run
    keeps every finished item."""
    if output is None:
        yield lambda line: None
        return
    if not isinstance(output, str | Path):
        yield partial(_write, output)
        return
    try:
        file = open(output, "a" if append else "w", encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        raise BatchError(f"--output {output}: {error.strerror or error}") from None
    with file:
        yield partial(_write, file)


def _write(stream: IO[str], line: dict[str, Any]) -> None:
    stream.write(json.dumps(line, allow_nan=False) + "\n")
    stream.flush()


@contextmanager
def _bar(
    progress: bool | Callable[[dict[str, Any]], None], total: int
) -> Iterator[Callable[[dict[str, Any]], None]]:
    """The progress: a tqdm bar on stderr (shown only on a terminal), a callable, or none."""
    if callable(progress):
        yield progress
    elif not progress:
        yield lambda line: None
    else:
        from tqdm import tqdm

        with tqdm(total=total, file=sys.stderr, disable=None, unit="item", desc="batch") as bar:
            yield lambda line: bar.update(1)
