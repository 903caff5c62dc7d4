"""The `diffcompare batch INPUT.jsonl --output OUT.jsonl` and `diffcompare corpus --count N`
commands: corpora of expressions compared on a process pool or a Dask cluster."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from diffcompare.cli.options import Command
from diffcompare.errors import UsageError

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.command(cls=Command, context_settings=CONTEXT)
@click.argument("input_path", metavar="INPUT.jsonl")
@click.option(
    "--output",
    metavar="OUT.jsonl",
    help="Append each item's output line here; ids already in it are skipped (resume). "
    "Default: standard output, no resume.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 4096),
    help="Worker processes (default: the cores); with --dask local, the cluster's workers.",
)
@click.option(
    "--dask",
    metavar="local|tcp://HOST:8786",
    help="Run on Dask: a new LocalCluster of process workers, or an existing scheduler.",
)
@click.option(
    "--deadline",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds one item may run; past it the item is an error line and its worker is replaced.",
)
@click.option(
    "--no-resume",
    is_flag=True,
    help="Overwrite --output instead of skipping the ids already in it.",
)
def batch_command(
    input_path: str,
    output: str | None,
    workers: int | None,
    dask: str | None,
    deadline: float,
    no_resume: bool,
) -> int:
    """Compare every expression of INPUT.jsonl (- reads standard input), one JSON object a
    line: {"id": 1, "expr": "sin(x)*y", "at": {"x": 1, "y": 2}} with any of the fields
    id, expr, at, domain, samples, grid, wrt, order, hessian, vjp, jvp, shapes, dtype, fd,
    seed. Each output line is that item's report (a sweep's summary for a domain) or its
    one-line error, with its id and seconds; a summary goes to stderr. Exit status: 1 when
    an item disagrees, else 0 (item errors are counted in the summary); 2 bad usage.

    \b
    Examples:
      diffcompare corpus --count 200 | diffcompare batch - --output out.jsonl
      diffcompare batch in.jsonl --output out.jsonl --workers 2 --deadline 30
      diffcompare batch in.jsonl --output out.jsonl --dask local --workers 4
      diffcompare batch in.jsonl --output out.jsonl --dask tcp://scheduler:8786
    """
    from diffcompare.batch import run

    if dask is not None and dask != "local" and "://" not in dask:
        raise UsageError(f"--dask {dask}: give local or a scheduler address tcp://HOST:8786")
    if no_resume and output is None:
        raise UsageError("--no-resume goes with --output")
    lines = _read_lines(input_path)
    summary = run(
        lines,
        workers=workers,
        dask=dask,
        deadline=deadline,
        output=output if output is not None else sys.stdout,
        resume=not no_resume,
        progress=True,
    )
    click.echo(summary.to_text(), err=True)
    return summary.exit_code


def _read_lines(path: str) -> list[str]:
    if path == "-":
        return sys.stdin.read().splitlines()
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise UsageError(f"{path}: cannot read it ({reason})") from None


@click.command(cls=Command, context_settings=CONTEXT)
@click.option("--count", type=click.IntRange(1, 1_000_000), default=100, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--ops",
    metavar="sin,exp,...",
    help="Draw only these functions of the op table (default: all).",
)
@click.option(
    "--points",
    type=click.IntRange(1, 1000),
    default=3,
    show_default=True,
    help="In-domain points per expression.",
)
def corpus_command(count: int, seed: int, ops: str | None, points: int) -> int:
    """Write COUNT random valid expressions from the op table as JSON lines for `diffcompare
    batch`, each with in-domain points (chosen by the same sampler as a comparison without
    --at). The same seed gives the same corpus.

    \b
    Examples:
      diffcompare corpus --count 200 > corpus.jsonl
      diffcompare corpus --count 50 --seed 3 --ops sin,exp,log | diffcompare batch -
    """
    from diffcompare.batch.corpus import corpus, functions

    names = None if ops is None else [name.strip() for name in ops.split(",") if name.strip()]
    functions(names)  # refuse an unknown name before any work
    for item in corpus(count, seed, names, points):
        click.echo(json.dumps(item, allow_nan=False))
    return 0
