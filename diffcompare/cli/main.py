"""The command line: `diffcompare EXPR [--at x=2,y=3]... [--wrt x] [--json]`.

Exit status as diff(1): 0 when nothing disagrees, 1 on a disagreement, 2 on bad input or
usage, with one line on stderr and no traceback. Only click is imported at start-up, so
`--help` and `--version` never load torch or SymPy.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import import_module
from typing import NoReturn

from diffcompare.cli.compare import cli

__all__ = ["cli", "main"]


SUBCOMMANDS = {
    "explain": ("diffcompare.cli.explain", "explain_command"),
    "conform": ("diffcompare.cli.conform", "conform_command"),
    "serve": ("diffcompare.cli.serve", "serve_command"),
    "batch": ("diffcompare.cli.batch", "batch_command"),
    "corpus": ("diffcompare.cli.batch", "corpus_command"),
}
"""`diffcompare NAME ...` runs the command NAME (module, click command), imported only then."""


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script: `diffcompare NAME ...` runs the subcommand NAME, anything else is
    the comparison."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] and args[0] in SUBCOMMANDS:
        module, name = SUBCOMMANDS[args[0]]
        command = getattr(import_module(module), name)
        command.main(args[1:], prog_name=f"diffcompare {args[0]}")
    cli.main(args, prog_name="diffcompare")
