"""Renderers for explanations: plain text, Markdown, LaTeX and Graphviz DOT, in English and
Chinese. They format what the explanation model recorded; they never compute a number."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from diffcompare.errors import UsageError

if TYPE_CHECKING:
    from diffcompare.explanation.model import Explanation
from diffcompare.render.explain_dot import to_dot
from diffcompare.render.explain_marked import latex_math, to_latex, to_markdown
from diffcompare.render.explain_text import to_text
from diffcompare.render.explain_words import FORMATS, language

__all__ = ["latex_math", "render", "to_dot", "to_latex", "to_markdown", "to_text"]


def render(explanation: Explanation, fmt: str = "text", lang: str = "en") -> str:
    """The explanation in `fmt` (text, markdown, latex) and `lang` (en, zh)."""
    renderers: dict[str, Callable[[Explanation, str], str]] = {
        "text": to_text,
        "markdown": to_markdown,
        "latex": to_latex,
    }
    if fmt not in renderers:
        raise UsageError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    return renderers[fmt](explanation, language(lang))
