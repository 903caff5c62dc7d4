"""Renderers for explanations: plain text, Markdown, LaTeX, Graphviz DOT and SVG (DOT drawn
by Graphviz), in English and Chinese. They format what the explanation model recorded; they
never compute a number."""

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
from diffcompare.render.graphviz import dot_to_svg

__all__ = ["latex_math", "render", "to_dot", "to_latex", "to_markdown", "to_svg", "to_text"]


def to_svg(explanation: Explanation, lang: str = "en") -> str:
    """The graph (to_dot) drawn as SVG by Graphviz's dot; GraphvizMissing without it."""
    return dot_to_svg(to_dot(explanation, lang))


def render(explanation: Explanation, fmt: str = "text", lang: str = "en") -> str:
    """The explanation in `fmt` (text, markdown, latex, dot, svg) and `lang` (en, zh)."""
    renderers: dict[str, Callable[[Explanation, str], str]] = {
        "text": to_text,
        "markdown": to_markdown,
        "latex": to_latex,
        "dot": to_dot,
        "svg": to_svg,
    }
    if fmt not in renderers:
        raise UsageError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    return renderers[fmt](explanation, language(lang))
