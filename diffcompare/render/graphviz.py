"""DOT drawn by Graphviz's `dot` program: the one function the CLI (--format svg, --graph
g.svg) and the service (/v1/explain format svg) both call. It runs `dot` in a subprocess with
a timeout and caps on the DOT it sends and the drawing it reads back."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

from diffcompare.errors import LimitError, UsageError

KINDS = ("svg", "png", "pdf")
"""What `dot` draws here (its -T formats)."""

DOT_SECONDS = 20.0
"""How long `dot` may take to lay a graph out and draw it."""

MAX_DOT_BYTES = 1_000_000
"""The largest DOT text sent to `dot` (an explanation of a few thousand nodes)."""

MAX_DRAWING_BYTES = 16_000_000
"""The largest drawing read back; a larger one is refused, not held in memory."""


class GraphvizMissing(UsageError):
    """Graphviz's `dot` program is not installed (the service answers 503, the CLI exits 2)."""


def draw_dot(
    dot: str,
    kind: str = "svg",
    *,
    seconds: float = DOT_SECONDS,
    max_bytes: int = MAX_DRAWING_BYTES,
) -> bytes:
    """`dot` (DOT text this package generated, its labels escaped) drawn as `kind` (svg, png
    or pdf) by Graphviz. Raises GraphvizMissing when `dot` is not installed, LimitError when
    the DOT or the drawing is over its cap or `dot` takes longer than `seconds`, and
    UsageError when `dot` fails."""
    if kind not in KINDS:
        raise UsageError(f"Graphviz draws {', '.join(KINDS)} here, not {kind!r}")
    program = shutil.which("dot")
    if program is None:
        raise GraphvizMissing(
            f"drawing the graph as {kind.upper()} needs Graphviz's dot program, which is not "
            "installed (apt-get install graphviz); the DOT text (format dot) needs no Graphviz"
        )
    data = dot.encode("utf-8")
    if len(data) > MAX_DOT_BYTES:
        raise LimitError("the graph's DOT text (bytes)", MAX_DOT_BYTES, got=len(data))
    with tempfile.TemporaryFile() as out:
        try:
            result = subprocess.run(
                [program, f"-T{kind}"],
                input=data,
                stdout=out,
                stderr=subprocess.PIPE,
                timeout=seconds,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise LimitError("drawing the graph with Graphviz (seconds)", seconds) from None
        except OSError as error:
            raise UsageError(f"Graphviz's dot could not run: {error.strerror or error}") from None
        if result.returncode != 0:
            lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
            raise UsageError(f"Graphviz's dot failed: {lines[0] if lines else 'no message'}")
        size = out.tell()
        if size > max_bytes:
            raise LimitError("the graph's drawing (bytes)", max_bytes, got=size)
        out.seek(0)
        return out.read()


def dot_to_svg(dot: str) -> str:
    """The DOT text drawn as an SVG document (see draw_dot for what it raises)."""
    return draw_dot(dot, "svg").decode("utf-8")
