"""An explanation as plain text for a terminal: the passes as tables, the chain rule as lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffcompare.explanation.model import Chain, Explanation, Node, Row, Step
from diffcompare.render.explain_marked import Markup, equation, fn_lines
from diffcompare.render.explain_words import (
    HEAD,
    WORDS,
    failed_checks,
    folded,
    language,
    names_of,
    number,
    out_name,
    point_text,
    rule_of,
    shortened,
    some_of,
    text_formula,
)


def to_text(explanation: Explanation, lang: str = "en") -> str:
    """The explanation for a terminal."""
    words = WORDS[language(lang)]
    lines = [
        words["title"].format(expr=shortened(explanation.text), point=point_text(explanation)),
        "",
    ]
    ops = sum(n.kind == "op" for n in explanation.nodes)
    if explanation.large:
        lines += [words["large"].format(count=ops), ""]
    lines.append(words["forward"])
    table = [words["head"].split("|")]
    shown, hidden, tail = folded(explanation.nodes, explanation.large)
    outputs = {row.output for row in explanation.rows}
    for part in (shown, tail):
        for node in part:
            table.append(
                _text_node(explanation, node, node_index(explanation, node) in outputs, lang)
            )
        if part is shown and hidden:
            table.append([words["folded"].format(count=hidden), "", "", "", ""])
    lines += _table(table)
    for k, row in enumerate(explanation.rows, 1):
        out = out_name(explanation, row)
        lines.append("")
        if len(explanation.rows) > 1:
            lines += [words["row"].format(k=k, n=len(explanation.rows), out=out), ""]
        lines += _text_row(explanation, row, out, lang)
    return "\n".join(lines) + "\n"


def node_index(explanation: Explanation, node: Node) -> int:
    return explanation.nodes.index(node)


def _text_node(explanation: Explanation, node: Node, is_output: bool, lang: str) -> list[str]:
    words = WORDS[lang]
    notes = []
    if len(node.feeds) > 1:
        uses = ", ".join(names_of(explanation, node.feeds))
        notes.append(words["uses"].format(nodes=uses))
    if is_output:
        notes.append(words["output"])
    fn = "" if node.kind == "input" else node.grad_fns[0].name if node.grad_fns else "—"
    return [
        node.name,
        words["input"] if node.kind == "input" else text_formula(node.formula, lang),
        number(node.value),
        node.names.get(lang, ""),
        "  ".join(part for part in [fn, *(f"({n})" for n in notes)] if part),
    ]


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  "
        + "  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if "\u2e80" <= c <= "\uffef" else 1 for c in text)


def _text_row(explanation: Explanation, row: Row, out: str, lang: str) -> list[str]:
    words = WORDS[lang]
    lines = []
    if row.output is not None:
        lines.append(words["backward"].format(grad="v.grad", d=f"∂{out}/∂v"))
        shown, hidden, tail = folded(row.steps, explanation.large)
        for part in (shown, tail):
            for step in part:
                lines += _text_step(explanation, step, out, lang)
            if part is shown and hidden:
                lines.append("  " + words["folded"].format(count=hidden))
        lines.append("")
    lines.append(words["chain"])
    for chain in row.chains:
        lines.append("  " + _text_chain(explanation, row, chain, out, lang))
    lines.append("")
    failures = failed_checks(explanation, row, lang, lambda n: f"{n}.grad")
    if failures:
        lines.append(words["failed"])
        lines += ["  " + f for f in failures]
    else:
        diff = number(row.largest_difference)
        lines.append(words["checked"].format(diff=diff))
    for chain in row.chains:
        lines.append("  " + _text_reference(chain, out, lang))
    return lines


def _text_step(explanation: Explanation, step: Step, out: str, lang: str) -> list[str]:
    words = WORDS[lang]
    node = explanation.nodes[step.node]
    head = f"  {node.name}"
    pad = " " * 6
    lines: list[str] = []
    if node.kind == "input":
        lines.append(f"{head}  AccumulateGrad")
    elif not node.grad_fns:
        lines.append(f"{head}  {words['no_fn']}")
    else:
        fns = fn_lines(explanation, node, Markup(lang, plain=True), str)
        lines.append(f"{head}  {fns[0]}")
        lines += [f"{pad}  {line}" for line in fns[1:]]
    if not step.terms:
        seed = words["seed"].format(d=f"∂{out}/∂{out}")
        lines.append(f"{pad}{node.name}.grad = 1   ({seed})")
    else:
        terms, more = some_of(step.terms)
        by = [explanation.nodes[t.consumer].name for t in terms]
        symbolic = " + ".join([f"{c}.grad · ∂{c}/∂{node.name}" for c in by] + more)
        numeric = " + ".join([f"{number(t.grad)} · {number(t.local)}" for t in terms] + more)
        lines.append(f"{pad}{node.name}.grad = {symbolic} = {numeric} = {number(step.value)}")
        if len(step.terms) > 1:
            lines.append(f"{pad}  ({words['sum'].format(node=node.name, count=len(step.terms))})")
    if node.partials:
        partials, more = some_of(node.partials)
        parts = ", ".join(
            [
                equation(
                    f"∂{node.name}/∂{explanation.nodes[p.arg].name}",
                    text_formula(p.formula, lang),
                    number(p.value),
                )
                for p in partials
            ]
            + more
        )
        formula = text_formula(node.formula, lang)
        lines.append(f"{pad}{node.name} = {formula}, {rule_of(node, lang)}: {parts}")
    return lines


def _text_chain(explanation: Explanation, row: Row, chain: Chain, out: str, lang: str) -> str:
    words = WORDS[lang]
    if row.output is None:
        return words["constant_out"]
    if chain.folded:
        d = f"∂{out}/∂{chain.wrt}"
        return words["no_chain"].format(d=d, value=number(chain.torch), count=chain.folded)
    if not chain.factors:
        return words["unused"].format(d=f"∂{out}/∂{chain.wrt}", wrt=chain.wrt)
    shown, hidden, tail = folded(chain.factors, explanation.large or len(chain.factors) > HEAD)
    factors = shown + tail
    gap = [f"… ({hidden})"] if hidden else []

    def pick(items: list[str]) -> list[str]:
        return items[: len(shown)] + gap + items[len(shown) :]

    names = pick([f"∂{f.of}/∂{f.by}" for f in factors])
    formulas = pick([_paren(text_formula(f.formula, lang)) for f in factors])
    values = pick([number(f.value) for f in factors])
    pieces = [f"∂{out}/∂{chain.wrt}", " · ".join(names)]
    if len(factors) > 1 or hidden:
        pieces.append(" · ".join(formulas))
        pieces.append(" · ".join(values))
    else:
        pieces.append(text_formula(factors[0].formula, lang))
    pieces.append(number(chain.value))
    return " = ".join(pieces)


def _paren(text: str) -> str:
    return f"({text})" if any(c in text for c in "+- ") and not text.startswith("(") else text


def _text_reference(chain: Chain, out: str, lang: str) -> str:
    key = "no_ref" if chain.reference is None else "ref"
    return WORDS[lang][key].format(
        d=f"∂{out}/∂{chain.wrt}",
        value=number(chain.torch),
        formula=text_formula(chain.derivative, lang),
        ref=number(chain.reference) if chain.reference is not None else "",
    )
