"""The `diffcompare conform MODULE:ADAPTER` command: a whole AD engine's gradients on random
expressions, held to the truth, each failure shrunk to a minimal expression and point."""

from __future__ import annotations

import json

import click

from diffcompare.cli.options import Command


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("adapter", metavar="MODULE:ADAPTER")
@click.option(
    "--count",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="Random expressions to generate.",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=int,
    help="Seed of the expressions and their points.",
)
@click.option(
    "--points",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="Points per expression.",
)
@click.option(
    "--depth",
    default=3,
    show_default=True,
    type=click.IntRange(min=1, max=6),
    help="How deep expressions nest.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def conform_command(
    adapter: str, count: int, seed: int, points: int, depth: int, as_json: bool
) -> int:
    """Check an AD engine's gradients against the 50-digit truth on COUNT random expressions
    over the ops its adapter maps, and shrink each failure to a minimal expression and a
    simple point (a mis-accumulating `*` shows up as x*x). MODULE is a module name or a .py
    file; ADAPTER names a diffcompare.oracle.adapter.Adapter in it (or a function returning
    one). Exit status: 0 every gradient within its bound, 1 a failure, 2 bad input.

    \b
    Examples:
      diffcompare conform examples/adapters/torch_adapter.py:ADAPTER
      diffcompare conform examples/adapters/micrograd_adapter.py:BUGGY --count 30
      diffcompare conform my_engine.adapters:ADAPTER --seed 3 --json
    """
    from diffcompare.oracle.adapter import load_adapter  # deferred: loads SymPy and torch
    from diffcompare.oracle.conformance import conform

    report = conform(load_adapter(adapter), count=count, seed=seed, points=points, depth=depth)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else str(report))
    return 0 if report.ok else 1
