"""An explanation in Markdown and in LaTeX: one walk over the passes, two markups."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from string import Formatter
from typing import TYPE_CHECKING

import sympy

if TYPE_CHECKING:
    from diffcompare.explanation.model import Chain, Explanation, Node, Row, Step
from diffcompare.render.explain_words import (
    HEAD,
    WIDE,
    WORDS,
    failed_checks,
    folded,
    language,
    names_of,
    number,
    out_name,
    rule_of,
    shortened,
    some_of,
)


def equation(*sides: str) -> str:
    """`a = b = c` without repeating a side that reads the same as the one before."""
    kept = [side for k, side in enumerate(sides) if k == 0 or side != sides[k - 1]]
    return " = ".join(kept)


def fn_lines(
    explanation: Explanation, node: Node, m: Markup, name_of: Callable[[str], str]
) -> list[str]:
    """Each grad_fn of a node with its next_functions: its own first, then those inside it
    (folded past MANY)."""
    inside = " (" + m.words("inside", node=name_of(node.name)) + ")"
    lines = []
    shown, more = some_of(node.grad_fns)
    for k, fn in enumerate(shown):
        links = []
        for link in fn.links:
            if link.fn is None:
                links.append(m.code("None") + " (" + m.words("constant") + ")")
            elif link.inner is not None:
                links.append(m.code(link.fn) + inside)
            else:
                target = explanation.nodes[link.node].name if link.node is not None else "?"
                links.append(m.code(link.fn) + " (" + name_of(target) + ")")
        label = m.code(fn.name) + (inside if k else "")
        lines.append(label + ", " + m.code("next_functions") + ": " + ", ".join(links))
    return lines + [m.prose(gap) for gap in more]


# -- Markdown and LaTeX: the same walk, two markups --------------------------------------------


class Markup:
    """How Markdown writes the pieces of an explanation; _TeX overrides it for LaTeX."""

    def __init__(self, lang: str, plain: bool = False) -> None:
        self.lang = lang
        self.plain = plain  # plain text: code and math as they are

    def words(self, key: str, **math: str) -> str:
        """A sentence from WORDS with its placeholders filled by already-marked-up pieces."""
        pieces = []
        for literal, field, _, _ in Formatter().parse(WORDS[self.lang][key]):
            pieces.append(self.prose(literal))
            if field is not None:
                pieces.append(math[field])
        return "".join(pieces)

    def prose(self, text: str) -> str:
        return text

    def code(self, text: str) -> str:
        return text if self.plain else f"`{text}`"

    def math(self, tex: str) -> str:
        return tex if self.plain else f"${tex}$"

    def display(self, tex: str) -> str:
        return f"$$\n{tex}\n$$"

    def heading(self, text: str, level: int) -> str:
        return f"{'#' * (level + 2)} {text}"

    def table(self, head: list[str], rows: list[list[str]]) -> list[str]:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in rows:
            # A bar inside math would end the cell: write |x| with \lvert and \rvert.
            cells = [
                c.replace(r"\left|", r"\left\lvert ").replace(r"\right|", r"\right\rvert ")
                for c in row
            ]
            lines.append("| " + " | ".join(cells) + " |")
        return lines

    def folded_row(self, text: str, columns: int) -> list[str]:
        return [text] + [""] * (columns - 1)

    def items(self, items: list[list[str]]) -> list[str]:
        lines = []
        for item in items:
            lines.append(f"- {item[0]}")
            lines += [f"  - {line}" for line in item[1:]]
        return lines

    def document(self, body: list[str]) -> str:
        return "\n".join(body).rstrip() + "\n"


class _TeX(Markup):
    _ESCAPES = {
        "\\": r"\textbackslash{}",
        "{": r"\{",
        "}": r"\}",
        "$": r"\$",
        "&": r"\&",
        "#": r"\#",
        "^": r"\^{}",
        "_": r"\_",
        "%": r"\%",
        "~": r"\~{}",
        "…": r"\ldots{}",
        "·": r"$\cdot$",
        "—": "---",
    }

    def prose(self, text: str) -> str:
        return "".join(self._ESCAPES.get(c, c) for c in text)

    def code(self, text: str) -> str:
        return rf"\texttt{{{self.prose(text)}}}"

    def display(self, tex: str) -> str:
        return rf"\[ {tex} \]"

    def heading(self, text: str, level: int) -> str:
        return rf"\{'sub' * level}section*{{{text}}}"

    def table(self, head: list[str], rows: list[list[str]]) -> list[str]:
        lines = [r"\begin{tabular}{" + "l" * len(head) + "}", " & ".join(head) + r" \\ \hline"]
        lines += [" & ".join(row) + r" \\" for row in rows]
        return lines + [r"\end{tabular}"]

    def folded_row(self, text: str, columns: int) -> list[str]:
        return [rf"\multicolumn{{{columns}}}{{l}}{{{text}}}"]

    def items(self, items: list[list[str]]) -> list[str]:
        lines = [r"\begin{itemize}"]
        for item in items:
            lines.append(r"\item " + item[0])
            lines += [r"\\ \hspace*{1em}" + line for line in item[1:]]
        return lines + [r"\end{itemize}"]

    def document(self, body: list[str]) -> str:
        preamble = [r"\documentclass{article}", r"\usepackage{amsmath}"]
        if self.lang == "zh":
            preamble.insert(0, "% Compile with xelatex (the ctex package sets Chinese text).")
            preamble.append(r"\usepackage[UTF8]{ctex}")
        return "\n".join([*preamble, r"\begin{document}", *body, r"\end{document}"]) + "\n"


def to_markdown(explanation: Explanation, lang: str = "en") -> str:
    """The explanation as Markdown with LaTeX math ($...$), as Jupyter and GitHub show it."""
    return _marked(explanation, Markup(language(lang)))


def to_latex(explanation: Explanation, lang: str = "en") -> str:
    """The explanation as a LaTeX document (pdflatex for English, xelatex for Chinese)."""
    return _marked(explanation, _TeX(language(lang)))


@lru_cache(maxsize=4096)
def _tex_name(name: str) -> str:
    return str(sympy.latex(sympy.Symbol(name)))


def _tex_formula(formula: sympy.Expr, lang: str) -> str:
    tex = str(sympy.latex(formula))
    if len(tex) <= 2 * WIDE:
        return tex
    return r"\text{" + WORDS[lang]["wide"].format(count=len(tex)) + "}"


def _tex_number(value: float) -> str:
    text = number(value)
    if text in ("nan", "inf", "-inf"):
        return {"nan": r"\mathrm{nan}", "inf": r"\infty", "-inf": r"-\infty"}[text]
    mantissa, _, exponent = text.partition("e")
    return mantissa + (rf" \times 10^{{{int(exponent)}}}" if exponent else "")


def _d(of: str, by: str) -> str:
    return rf"\frac{{\partial {_tex_name(of)}}}{{\partial {_tex_name(by)}}}"


def _bar(name: str) -> str:
    return rf"\bar{{{_tex_name(name)}}}"


def _marked(explanation: Explanation, m: Markup) -> str:
    lang = m.lang
    nodes = explanation.nodes
    names = {n.name for n in nodes}
    point = ", ".join(
        f"{_tex_name(n)} = {_tex_number(x)}"
        for n, x in zip(explanation.variables, explanation.point, strict=True)
    )
    body = [
        m.heading(
            m.words("title", expr=m.code(shortened(explanation.text)), point=m.math(point)), 0
        )
    ]
    body.append("")
    if explanation.large:
        ops = sum(n.kind == "op" for n in nodes)
        body += [m.words("large", count=str(ops)), ""]
    body += [m.heading(m.words("forward"), 1), ""]
    outputs = {row.output for row in explanation.rows}
    rows = []
    shown, hidden, tail = folded(list(enumerate(nodes)), explanation.large)
    for part in (shown, tail):
        for p, node in part:
            notes = []
            if len(node.feeds) > 1:
                uses = ", ".join(
                    m.math(_tex_name(n)) if n in names else m.prose(n)
                    for n in names_of(explanation, node.feeds)
                )
                notes.append(m.words("uses", nodes=uses))
            if p in outputs:
                notes.append(m.words("output"))
            fn = node.grad_fns[0].name if node.grad_fns else ""
            rows.append(
                [
                    m.math(_tex_name(node.name)),
                    m.words("input")
                    if node.kind == "input"
                    else m.math(_tex_formula(node.formula, lang)),
                    m.math(_tex_number(node.value)),
                    m.prose(node.names.get(lang, "")),
                    " ".join(([m.code(fn)] if fn else []) + [f"({n})" for n in notes]),
                ]
            )
        if part is shown and hidden:
            rows.append(m.folded_row(m.words("folded", count=str(hidden)), 5))
    body += m.table([m.prose(h) for h in WORDS[lang]["head"].split("|")], rows)
    for k, row in enumerate(explanation.rows, 1):
        out = out_name(explanation, row)
        body.append("")
        if len(explanation.rows) > 1:
            body += [
                m.heading(
                    m.words(
                        "row", k=str(k), n=str(len(explanation.rows)), out=m.math(_tex_name(out))
                    ),
                    1,
                ),
                "",
            ]
        body += _marked_row(explanation, row, out, m)
    return m.document(body)


def _marked_row(explanation: Explanation, row: Row, out: str, m: Markup) -> list[str]:
    lang = m.lang
    body: list[str] = []
    if row.output is not None:
        bar = m.math(r"\bar{v}")
        body += [m.heading(m.words("backward", grad=bar, d=m.math(_d(out, "v"))), 1)]
        body += ["", m.words("legend", grad=bar), ""]
        items = []
        shown, hidden, tail = folded(row.steps, explanation.large)
        for part in (shown, tail):
            for step in part:
                items.append(_marked_step(explanation, step, out, m))
            if part is shown and hidden:
                items.append([m.words("folded", count=str(hidden))])
        body += m.items(items)
        body.append("")
    body += [m.heading(m.words("chain"), 1), ""]
    for chain in row.chains:
        body += [_marked_chain(explanation, row, chain, out, m), ""]
    failures = failed_checks(explanation, row, lang, lambda n: f"{n}.grad")
    if failures:
        body.append(m.words("failed"))
        body += m.items([[m.prose(f)] for f in failures])
    else:
        body.append(m.words("checked", diff=m.math(_tex_number(row.largest_difference))))
    refs = []
    for chain in row.chains:
        key = "no_ref" if chain.reference is None else "ref"
        refs.append(
            [
                m.words(
                    key,
                    d=m.math(_d(out, chain.wrt)),
                    value=m.math(_tex_number(chain.torch)),
                    formula=m.math(_tex_formula(chain.derivative, lang)),
                    ref=m.math(_tex_number(chain.reference)) if chain.reference is not None else "",
                )
            ]
        )
    body += [""] + m.items(refs)
    return body


def _marked_step(explanation: Explanation, step: Step, out: str, m: Markup) -> list[str]:
    nodes = explanation.nodes
    node = nodes[step.node]
    name = _tex_name(node.name)
    lines = []
    if node.kind == "input":
        lines.append(m.math(name) + " — " + m.code("AccumulateGrad"))
    elif not node.grad_fns:
        lines.append(m.math(name) + " — " + m.words("no_fn"))
    else:
        fns = fn_lines(explanation, node, m, lambda n: m.math(_tex_name(n)))
        lines += [m.math(name) + " — " + fns[0], *fns[1:]]
    if not step.terms:
        seed = m.words("seed", d=m.math(_d(out, out)))
        lines.append(m.math(rf"{_bar(node.name)} = 1") + f" ({seed})")
    else:
        lines.append(m.math(rf"{_bar(node.name)} = {_sum(explanation, step)}"))
        if len(step.terms) > 1:
            lines.append(m.words("sum", node=m.math(name), count=str(len(step.terms))))
    if node.partials:
        partials, more = some_of(node.partials)
        parts = ", ".join(
            [
                m.math(
                    equation(
                        _d(node.name, nodes[p.arg].name),
                        _tex_formula(p.formula, m.lang),
                        _tex_number(p.value),
                    )
                )
                for p in partials
            ]
            + [m.prose(gap) for gap in more]
        )
        formula = m.math(rf"{name} = {_tex_formula(node.formula, m.lang)}")
        lines.append(f"{formula}, {m.prose(rule_of(node, m.lang))}: {parts}")
    return lines


def _marked_chain(explanation: Explanation, row: Row, chain: Chain, out: str, m: Markup) -> str:
    if row.output is None:
        return m.words("constant_out")
    if chain.folded:
        d, value = m.math(_d(out, chain.wrt)), m.math(_tex_number(chain.torch))
        return m.words("no_chain", d=d, value=value, count=str(chain.folded))
    if not chain.factors:
        return m.words("unused", d=m.math(_d(out, chain.wrt)), wrt=m.math(_tex_name(chain.wrt)))
    shown, hidden, tail = folded(chain.factors, explanation.large or len(chain.factors) > HEAD)
    factors = shown + tail
    gap = [r"\cdots"] if hidden else []

    def pick(items: list[str]) -> list[str]:
        return items[: len(shown)] + gap + items[len(shown) :]

    names = pick([_d(f.of, f.by) for f in factors])
    formulas = pick([rf"\left({_tex_formula(f.formula, m.lang)}\right)" for f in factors])
    values = pick([_tex_number(f.value) for f in factors])
    pieces = [_d(out, chain.wrt), r" \cdot ".join(names)]
    if len(factors) > 1 or hidden:
        pieces += [" ".join(formulas), r" \cdot ".join(values)]
    else:
        pieces.append(_tex_formula(factors[0].formula, m.lang))
    pieces.append(_tex_number(chain.value))
    return m.display(" = ".join(pieces))


def latex_math(explanation: Explanation, lang: str = "en") -> str:
    """The passes as one display-math block, for Jupyter's `_repr_latex_` (MathJax renders
    math, not documents)."""
    lang = language(lang)
    lines = []
    ops = [n for n in explanation.nodes if n.kind == "op"]
    shown, hidden, tail = folded(ops, explanation.large)
    for part in (shown, tail):
        for node in part:
            formula = _tex_formula(node.formula, lang)
            lines.append(rf"{_tex_name(node.name)} &= {formula} = {_tex_number(node.value)}")
        if part is shown and hidden:
            lines.append(r"&\;\vdots")
    for row in explanation.rows:
        out = out_name(explanation, row)
        steps, skipped, last = folded(row.steps, explanation.large)
        for steps_part in (steps, last):
            for step in steps_part:
                name = explanation.nodes[step.node].name
                lines.append(f"{_bar(name)} &= {_sum(explanation, step)}")
            if steps_part is steps and skipped:
                lines.append(r"&\;\vdots")
        for chain in row.chains:
            chained = _marked_chain(explanation, row, chain, out, Markup(lang))
            lines.append(chained.strip("$\n").replace(" = ", " &= ", 1))
    return "$$\n\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}\n$$"


def _sum(explanation: Explanation, step: Step) -> str:
    """The right-hand side of a node's gradient: its terms by name, by value, and the sum."""
    if not step.terms:
        return "1"
    nodes = explanation.nodes
    name = nodes[step.node].name
    terms, more = some_of(step.terms, r"\cdots")
    symbolic = " + ".join(
        [rf"{_bar(nodes[t.consumer].name)} \, {_d(nodes[t.consumer].name, name)}" for t in terms]
        + more
    )
    numeric = " + ".join(
        [rf"{_tex_number(t.grad)} \cdot {_tex_number(t.local)}" for t in terms] + more
    )
    return f"{symbolic} = {numeric} = {_tex_number(step.value)}"


# -- Graphviz ------------------------------------------------------------------------------
