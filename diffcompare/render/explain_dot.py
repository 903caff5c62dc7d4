"""An explanation's graph as Graphviz DOT: each node with its formula, value, grad_fn and
gradient, each edge with its local derivative."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffcompare.explanation.model import Explanation
from diffcompare.render.explain_words import (
    WORDS,
    language,
    number,
    point_text,
    shortened,
    text_formula,
)


def to_dot(explanation: Explanation, lang: str = "en") -> str:
    """The graph as Graphviz DOT: inputs at the bottom, the output at the top; each node with
    its formula, value, grad_fn and gradient, each edge with its local derivative."""
    lang = language(lang)
    nodes = explanation.nodes
    outputs = {row.output for row in explanation.rows}
    grads: dict[int, list[str]] = {}
    for row in explanation.rows:
        for step in row.steps:
            grads.setdefault(step.node, []).append(number(step.value))
    title = WORDS[lang]["title"].format(
        expr=shortened(explanation.text), point=point_text(explanation)
    )
    lines = [
        "digraph explanation {",
        "  rankdir=BT;",
        '  node [shape=box, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        f"  label={_dot_string(title)};",
        "  labelloc=t;",
    ]
    for p, node in enumerate(nodes):
        label = [f"{node.name} = {number(node.value)}"]
        if node.kind == "op":
            label.insert(0, f"{node.name} = {text_formula(node.formula, lang)}")
            label[1] = f"= {number(node.value)}"
            label.append(
                f"{node.names.get(lang, '')}: {node.grad_fns[0].name if node.grad_fns else '—'}"
            )
        if p in grads:
            label.append(f"{node.name}.grad = {', '.join(grads[p])}")
        shape = "ellipse" if node.kind == "input" else "box"
        style = ", peripheries=2" if p in outputs else ""
        lines.append(f"  n{p} [shape={shape}{style}, label={_dot_string(chr(10).join(label))}];")
    for p, node in enumerate(nodes):
        for partial in node.partials:
            arg = nodes[partial.arg].name
            text = f"∂{node.name}/∂{arg} = {number(partial.value)}"
            lines.append(f"  n{partial.arg} -> n{p} [label={_dot_string(text)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
