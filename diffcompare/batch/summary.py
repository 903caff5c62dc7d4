"""What a batch run found, over its output file: items per verdict, the slowest items and
the worst (whose error came nearest its bound), and the exit status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

VERDICT_ORDER = ("agree", "disagree", "undefined", "nondifferentiable", "error")
SHOWN = 3
"""Items named in each of the summary's lists."""


@dataclass(frozen=True)
class Summary:
    """A finished run: `lines` are the output lines this run wrote (in the order their items
    finished), `resumed` how many the output already held; the rest covers both."""

    lines: tuple[dict[str, Any], ...]
    resumed: int
    counts: dict[str, int]
    slowest: tuple[dict[str, Any], ...]
    worst: tuple[dict[str, Any], ...]
    disagree: tuple[str | int, ...]
    seconds: float
    where: str

    @property
    def exit_code(self) -> int:
        """As the command line's: 1 when any item disagrees, else 0 (an item's error is
        counted, not an exit status)."""
        return 1 if self.counts.get("disagree") else 0

    def to_text(self) -> str:
        return render(self)


def summarize(
    previous: Sequence[dict[str, Any]],
    lines: Sequence[dict[str, Any]],
    seconds: float,
    where: str,
) -> Summary:
    """The summary of `lines` written now after `previous` ones already in the output."""
    every = [*previous, *lines]
    counts = {v: 0 for v in VERDICT_ORDER}
    for line in every:
        verdict = str(line.get("verdict", "error"))
        counts[verdict] = counts.get(verdict, 0) + 1
    timed = [line for line in every if isinstance(line.get("seconds"), int | float)]
    slowest = sorted(timed, key=lambda line: -line["seconds"])[:SHOWN]
    judged = [line for line in every if _share(line) is not None]
    worst = sorted(judged, key=lambda line: -(_share(line) or 0.0))[:SHOWN]
    disagree = tuple(line["id"] for line in every if line.get("verdict") == "disagree")
    return Summary(
        tuple(lines), len(previous), counts, tuple(slowest), tuple(worst), disagree, seconds, where
    )


def _share(line: dict[str, Any]) -> float | None:
    """The fraction of its bound the item's worst error reached."""
    worst = line.get("worst")
    if isinstance(worst, dict) and isinstance(worst.get("of_bound"), int | float):
        return float(worst["of_bound"])
    return None


def render(summary: Summary) -> str:
    """The summary as the few lines the command prints on stderr."""
    ran = len(summary.lines)
    total = ran + summary.resumed
    rate = f", {ran / summary.seconds:.3g} items/s" if ran and summary.seconds > 0 else ""
    head = f"batch: {total} items ({ran} run now"
    head += f", {summary.resumed} already in the output)" if summary.resumed else ")"
    head += f" in {summary.seconds:.1f} s on {summary.where}{rate}"
    counts = " · ".join(f"{v} {n}" for v, n in summary.counts.items() if n or v != "error")
    out = [head, f"  {counts}"]
    if summary.slowest:
        out.append("  slowest:")
        out += [f"    {x['seconds']:8.2f} s  {_name(x)}" for x in summary.slowest]
    if summary.worst:
        out.append("  worst (error as a fraction of its bound):")
        out += [
            f"    {x['worst']['of_bound']:8.2g}    {_name(x)}  ({x['worst']['method']}"
            + _ulps(x["worst"].get("ulps"))
            + ")"
            for x in summary.worst
        ]
    if summary.disagree:
        shown = ", ".join(str(i) for i in summary.disagree[:10])
        more = f" and {len(summary.disagree) - 10} more" if len(summary.disagree) > 10 else ""
        out.append(f"  disagree: {shown}{more}")
    return "\n".join(out)


def _ulps(value: Any) -> str:
    return f", {value:.3g} ulps" if isinstance(value, int | float) else ""


def _name(line: dict[str, Any]) -> str:
    text = str(line.get("expression", ""))
    return f"{line['id']}: {text if len(text) <= 50 else text[:47] + '...'}"
