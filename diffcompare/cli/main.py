"""The command line: `diffcompare EXPR [--at x=2,y=3]... [--wrt x] [--json]`.

Exit status as diff(1): 0 when nothing disagrees, 1 on a disagreement, 2 on bad input or
usage, with one line on stderr and no traceback. Only click is imported at start-up, so
`--help` and `--version` never load torch or SymPy.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

from diffcompare.cli.compare import cli

__all__ = ["cli", "main"]


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script: `diffcompare explain ...` is the explain command, anything else
    the comparison."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["explain"]:
        from diffcompare.cli.explain import explain_command

        explain_command.main(args[1:], prog_name="diffcompare explain")
    cli.main(args, prog_name="diffcompare")
