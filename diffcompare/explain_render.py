"""Renderers for explanations: plain text, Markdown, LaTeX and Graphviz DOT, in English and
Chinese. They format what explain.py recorded; they never compute a number."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from string import Formatter
from typing import TypeVar

import sympy

from .errors import UsageError
from .explanation import Chain, Explanation, Node, Row, Step

FORMATS = ("text", "markdown", "latex")
LANGS = ("en", "zh")
HEAD, TAIL = 12, 6
"""Rows a folded view keeps from the start and the end of a pass."""
WIDE = 160
"""Characters beyond which a formula is folded into a note of its length."""
MANY = 8
"""Terms of a sum, or names in a list, beyond which the rest are counted, not written."""

T = TypeVar("T")

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Chain rule for {expr} at {point}",
        "forward": "Forward pass: the graph torch recorded, one node per distinct subexpression",
        "head": "node|formula|value|op|grad_fn",
        "input": "input",
        "output": "output",
        "uses": "used by {nodes}",
        "backward": "Backward pass, in the order torch ran it ({grad} = {d})",
        "row": "Output {k} of {n}: {out}",
        "seed": "the output: {d} = 1",
        "next": "next_functions",
        "inside": "inside {node}",
        "constant": "a constant",
        "no_fn": "no grad_fn: torch does not differentiate through this node",
        "local": "local derivatives",
        "rule": "derivative of the {name}",
        "sum": "{node} feeds {count} nodes: the multivariable chain rule adds their contributions",
        "chain": "Chain rule in closed form",
        "constant_out": "the output is a constant: its derivative is 0",
        "unused": "{d} = 0: the output does not depend on {wrt}",
        "no_chain": "{d} = {value} (the closed form is folded: one factor spans {count} nodes)",
        "more": "{count} more terms",
        "checked": "Checked: every gradient above equals the value torch keeps with "
        "retain_grad() (largest difference {diff}), and each derivative equals the SymPy "
        "derivative at 50 digits:",
        "failed": "CHECK FAILED: these numbers differ from torch's retain_grad() values or the "
        "SymPy derivative beyond rounding:",
        "vs": "{what}: explanation {ours}, torch {torch}",
        "ref": "{d} = {value}; SymPy: {formula} = {ref}",
        "no_ref": "{d} = {value}; SymPy: {formula} has no finite real value here",
        "folded": "… {count} more, folded …",
        "large": "This expression has {count} op nodes, so the passes below are folded to "
        "their first and last steps; --graph FILE.dot writes the whole graph.",
        "wide": "(a formula of {count} characters, not shown)",
        "legend": "where {grad} is v.grad, the gradient torch accumulates into v.",
    },
    "zh": {
        "title": "链式法则详解：{expr}，在 {point} 处",
        "forward": "前向传播：torch 记录的计算图，相同的子表达式只算一次",
        "head": "节点|公式|值|运算|grad_fn",
        "input": "输入",
        "output": "输出",
        "uses": "被 {nodes} 使用",
        "backward": "反向传播，按 torch 实际运行的顺序（{grad} = {d}）",
        "row": "第 {k} 个输出（共 {n} 个）：{out}",
        "seed": "输出本身：{d} = 1",
        "next": "next_functions",
        "inside": "{node} 内部",
        "constant": "常数",
        "no_fn": "没有 grad_fn：torch 不对这个节点求导",
        "local": "局部导数",
        "rule": "{name}的导数",
        "sum": "{node} 被 {count} 个节点使用：多元链式法则把它们的贡献相加",
        "chain": "链式法则的闭式写法",
        "constant_out": "输出是常数：导数为 0",
        "unused": "{d} = 0：输出与 {wrt} 无关",
        "no_chain": "{d} = {value}（闭式已折叠：其中一个因子跨越 {count} 个节点）",
        "more": "另外 {count} 项",
        "checked": "已核对：上面每个梯度都等于 torch 用 retain_grad() 保留的值（最大差 {diff}），"
        "每个导数都等于 SymPy 导数的 50 位精度值：",
        "failed": "核对失败：以下数值与 torch 的 retain_grad() 值或 SymPy 导数的差超出了舍入误差：",
        "vs": "{what}：讲解中为 {ours}，torch 为 {torch}",
        "ref": "{d} = {value}；SymPy：{formula} = {ref}",
        "no_ref": "{d} = {value}；SymPy：{formula} 在此处没有有限实数值",
        "folded": "…… 另有 {count} 项已折叠 ……",
        "large": "这个表达式有 {count} 个运算节点，下面只列出前后若干步；"
        "用 --graph FILE.dot 可以写出完整的计算图。",
        "wide": "（公式长 {count} 个字符，不予显示）",
        "legend": "其中 {grad} 即 v.grad，torch 累积到 v 上的梯度。",
    },
}


def render(explanation: Explanation, fmt: str = "text", lang: str = "en") -> str:
    """The explanation in `fmt` (text, markdown, latex) and `lang` (en, zh)."""
    renderers: dict[str, Callable[[Explanation, str], str]] = {
        "text": to_text,
        "markdown": to_markdown,
        "latex": to_latex,
    }
    if fmt not in renderers:
        raise UsageError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    return renderers[fmt](explanation, _lang(lang))


def _lang(lang: str) -> str:
    if lang not in WORDS:
        raise UsageError(f"--lang {lang}: expected one of {', '.join(LANGS)}")
    return lang


# -- shared pieces ---------------------------------------------------------------------------


def number(value: float) -> str:
    """A float for reading: 12 significant digits, 2569 not 2569.0, 0 not -0."""
    if value != value:
        return "nan"
    text = f"{value:.12g}"
    return "0" if text == "-0" else text


def _fold(items: Sequence[T], large: bool) -> tuple[list[T], int, list[T]]:
    """The items a view shows: all, or the first HEAD and last TAIL with a count between."""
    if not large or len(items) <= HEAD + TAIL + 1:
        return list(items), 0, []
    return list(items[:HEAD]), len(items) - HEAD - TAIL, list(items[-TAIL:])


def _point(explanation: Explanation) -> str:
    return ", ".join(
        f"{n} = {number(x)}" for n, x in zip(explanation.variables, explanation.point, strict=True)
    )


def _rule(node: Node, lang: str) -> str:
    return node.rules.get(lang) or WORDS[lang]["rule"].format(name=node.names[lang])


def _some(items: Sequence[T], gap: str = "…") -> tuple[list[T], list[str]]:
    """Up to MANY items, or the first few and a gap that counts the rest."""
    if len(items) <= MANY:
        return list(items), []
    return list(items[: MANY // 2]), [f"{gap} ({len(items) - MANY // 2})"]


def _names_of(explanation: Explanation, positions: Sequence[int]) -> list[str]:
    shown, more = _some(positions)
    return [explanation.nodes[q].name for q in shown] + more


def _short(text: str) -> str:
    text = text.strip()
    return text if len(text) <= WIDE // 2 else text[: WIDE // 2 - 1] + "…"


def _out_name(explanation: Explanation, row: Row) -> str:
    return explanation.nodes[row.output].name if row.output is not None else "0"


def _failures(
    explanation: Explanation, row: Row, lang: str, grad: Callable[[str], str]
) -> list[str]:
    words = WORDS[lang]
    lines = [
        words["vs"].format(
            what=grad(explanation.nodes[s.node].name), ours=number(s.value), torch=number(s.torch)
        )
        for s in row.steps
        if not s.agrees
    ]
    for node in explanation.nodes:
        for p in node.partials:
            if not _same(p.value, p.symbolic):
                what = f"∂{node.name}/∂{explanation.nodes[p.arg].name}"
                lines.append(f"{what}: torch {number(p.value)}, SymPy {number(p.symbolic)}")
    return lines


def _same(a: float, b: float) -> bool:
    if a != a or b != b:
        return a != a and b != b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _text_formula(formula: sympy.Expr, lang: str) -> str:
    text = str(formula)
    return text if len(text) <= WIDE else WORDS[lang]["wide"].format(count=len(text))


# -- plain text ------------------------------------------------------------------------------


def to_text(explanation: Explanation, lang: str = "en") -> str:
    """The explanation for a terminal."""
    words = WORDS[_lang(lang)]
    lines = [words["title"].format(expr=_short(explanation.text), point=_point(explanation)), ""]
    ops = sum(n.kind == "op" for n in explanation.nodes)
    if explanation.large:
        lines += [words["large"].format(count=ops), ""]
    lines.append(words["forward"])
    table = [words["head"].split("|")]
    shown, hidden, tail = _fold(explanation.nodes, explanation.large)
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
        out = _out_name(explanation, row)
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
        uses = ", ".join(_names_of(explanation, node.feeds))
        notes.append(words["uses"].format(nodes=uses))
    if is_output:
        notes.append(words["output"])
    fn = "" if node.kind == "input" else node.grad_fns[0].name if node.grad_fns else "—"
    return [
        node.name,
        words["input"] if node.kind == "input" else _text_formula(node.formula, lang),
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
        shown, hidden, tail = _fold(row.steps, explanation.large)
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
    failures = _failures(explanation, row, lang, lambda n: f"{n}.grad")
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
        fns = _fn_lines(explanation, node, _Markup(lang, plain=True), str)
        lines.append(f"{head}  {fns[0]}")
        lines += [f"{pad}  {line}" for line in fns[1:]]
    if not step.terms:
        seed = words["seed"].format(d=f"∂{out}/∂{out}")
        lines.append(f"{pad}{node.name}.grad = 1   ({seed})")
    else:
        terms, more = _some(step.terms)
        by = [explanation.nodes[t.consumer].name for t in terms]
        symbolic = " + ".join([f"{c}.grad · ∂{c}/∂{node.name}" for c in by] + more)
        numeric = " + ".join([f"{number(t.grad)} · {number(t.local)}" for t in terms] + more)
        lines.append(f"{pad}{node.name}.grad = {symbolic} = {numeric} = {number(step.value)}")
        if len(step.terms) > 1:
            lines.append(f"{pad}  ({words['sum'].format(node=node.name, count=len(step.terms))})")
    if node.partials:
        partials, more = _some(node.partials)
        parts = ", ".join(
            [
                _equation(
                    f"∂{node.name}/∂{explanation.nodes[p.arg].name}",
                    _text_formula(p.formula, lang),
                    number(p.value),
                )
                for p in partials
            ]
            + more
        )
        formula = _text_formula(node.formula, lang)
        lines.append(f"{pad}{node.name} = {formula}, {_rule(node, lang)}: {parts}")
    return lines


def _equation(*sides: str) -> str:
    """`a = b = c` without repeating a side that reads the same as the one before."""
    kept = [side for k, side in enumerate(sides) if k == 0 or side != sides[k - 1]]
    return " = ".join(kept)


def _fn_lines(
    explanation: Explanation, node: Node, m: _Markup, name_of: Callable[[str], str]
) -> list[str]:
    """Each grad_fn of a node with its next_functions: its own first, then those inside it
    (folded past MANY)."""
    inside = " (" + m.words("inside", node=name_of(node.name)) + ")"
    lines = []
    shown, more = _some(node.grad_fns)
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


def _text_chain(explanation: Explanation, row: Row, chain: Chain, out: str, lang: str) -> str:
    words = WORDS[lang]
    if row.output is None:
        return words["constant_out"]
    if chain.folded:
        d = f"∂{out}/∂{chain.wrt}"
        return words["no_chain"].format(d=d, value=number(chain.torch), count=chain.folded)
    if not chain.factors:
        return words["unused"].format(d=f"∂{out}/∂{chain.wrt}", wrt=chain.wrt)
    shown, hidden, tail = _fold(chain.factors, explanation.large or len(chain.factors) > HEAD)
    factors = shown + tail
    gap = [f"… ({hidden})"] if hidden else []

    def pick(items: list[str]) -> list[str]:
        return items[: len(shown)] + gap + items[len(shown) :]

    names = pick([f"∂{f.of}/∂{f.by}" for f in factors])
    formulas = pick([_paren(_text_formula(f.formula, lang)) for f in factors])
    values = pick([number(f.value) for f in factors])
    pieces = [f"∂{out}/∂{chain.wrt}", " · ".join(names)]
    if len(factors) > 1 or hidden:
        pieces.append(" · ".join(formulas))
        pieces.append(" · ".join(values))
    else:
        pieces.append(_text_formula(factors[0].formula, lang))
    pieces.append(number(chain.value))
    return " = ".join(pieces)


def _paren(text: str) -> str:
    return f"({text})" if any(c in text for c in "+- ") and not text.startswith("(") else text


def _text_reference(chain: Chain, out: str, lang: str) -> str:
    key = "no_ref" if chain.reference is None else "ref"
    return WORDS[lang][key].format(
        d=f"∂{out}/∂{chain.wrt}",
        value=number(chain.torch),
        formula=_text_formula(chain.derivative, lang),
        ref=number(chain.reference) if chain.reference is not None else "",
    )


# -- Markdown and LaTeX: the same walk, two markups --------------------------------------------


class _Markup:
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


class _TeX(_Markup):
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
    return _marked(explanation, _Markup(_lang(lang)))


def to_latex(explanation: Explanation, lang: str = "en") -> str:
    """The explanation as a LaTeX document (pdflatex for English, xelatex for Chinese)."""
    return _marked(explanation, _TeX(_lang(lang)))


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


def _marked(explanation: Explanation, m: _Markup) -> str:
    lang = m.lang
    nodes = explanation.nodes
    names = {n.name for n in nodes}
    point = ", ".join(
        f"{_tex_name(n)} = {_tex_number(x)}"
        for n, x in zip(explanation.variables, explanation.point, strict=True)
    )
    body = [
        m.heading(m.words("title", expr=m.code(_short(explanation.text)), point=m.math(point)), 0)
    ]
    body.append("")
    if explanation.large:
        ops = sum(n.kind == "op" for n in nodes)
        body += [m.words("large", count=str(ops)), ""]
    body += [m.heading(m.words("forward"), 1), ""]
    outputs = {row.output for row in explanation.rows}
    rows = []
    shown, hidden, tail = _fold(list(enumerate(nodes)), explanation.large)
    for part in (shown, tail):
        for p, node in part:
            notes = []
            if len(node.feeds) > 1:
                uses = ", ".join(
                    m.math(_tex_name(n)) if n in names else m.prose(n)
                    for n in _names_of(explanation, node.feeds)
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
        out = _out_name(explanation, row)
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


def _marked_row(explanation: Explanation, row: Row, out: str, m: _Markup) -> list[str]:
    lang = m.lang
    body: list[str] = []
    if row.output is not None:
        bar = m.math(r"\bar{v}")
        body += [m.heading(m.words("backward", grad=bar, d=m.math(_d(out, "v"))), 1)]
        body += ["", m.words("legend", grad=bar), ""]
        items = []
        shown, hidden, tail = _fold(row.steps, explanation.large)
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
    failures = _failures(explanation, row, lang, lambda n: f"{n}.grad")
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


def _marked_step(explanation: Explanation, step: Step, out: str, m: _Markup) -> list[str]:
    nodes = explanation.nodes
    node = nodes[step.node]
    name = _tex_name(node.name)
    lines = []
    if node.kind == "input":
        lines.append(m.math(name) + " — " + m.code("AccumulateGrad"))
    elif not node.grad_fns:
        lines.append(m.math(name) + " — " + m.words("no_fn"))
    else:
        fns = _fn_lines(explanation, node, m, lambda n: m.math(_tex_name(n)))
        lines += [m.math(name) + " — " + fns[0], *fns[1:]]
    if not step.terms:
        seed = m.words("seed", d=m.math(_d(out, out)))
        lines.append(m.math(rf"{_bar(node.name)} = 1") + f" ({seed})")
    else:
        lines.append(m.math(rf"{_bar(node.name)} = {_sum(explanation, step)}"))
        if len(step.terms) > 1:
            lines.append(m.words("sum", node=m.math(name), count=str(len(step.terms))))
    if node.partials:
        partials, more = _some(node.partials)
        parts = ", ".join(
            [
                m.math(
                    _equation(
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
        lines.append(f"{formula}, {m.prose(_rule(node, m.lang))}: {parts}")
    return lines


def _marked_chain(explanation: Explanation, row: Row, chain: Chain, out: str, m: _Markup) -> str:
    if row.output is None:
        return m.words("constant_out")
    if chain.folded:
        d, value = m.math(_d(out, chain.wrt)), m.math(_tex_number(chain.torch))
        return m.words("no_chain", d=d, value=value, count=str(chain.folded))
    if not chain.factors:
        return m.words("unused", d=m.math(_d(out, chain.wrt)), wrt=m.math(_tex_name(chain.wrt)))
    shown, hidden, tail = _fold(chain.factors, explanation.large or len(chain.factors) > HEAD)
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
    lang = _lang(lang)
    lines = []
    ops = [n for n in explanation.nodes if n.kind == "op"]
    shown, hidden, tail = _fold(ops, explanation.large)
    for part in (shown, tail):
        for node in part:
            formula = _tex_formula(node.formula, lang)
            lines.append(rf"{_tex_name(node.name)} &= {formula} = {_tex_number(node.value)}")
        if part is shown and hidden:
            lines.append(r"&\;\vdots")
    for row in explanation.rows:
        out = _out_name(explanation, row)
        steps, skipped, last = _fold(row.steps, explanation.large)
        for steps_part in (steps, last):
            for step in steps_part:
                name = explanation.nodes[step.node].name
                lines.append(f"{_bar(name)} &= {_sum(explanation, step)}")
            if steps_part is steps and skipped:
                lines.append(r"&\;\vdots")
        for chain in row.chains:
            chained = _marked_chain(explanation, row, chain, out, _Markup(lang))
            lines.append(chained.strip("$\n").replace(" = ", " &= ", 1))
    return "$$\n\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}\n$$"


def _sum(explanation: Explanation, step: Step) -> str:
    """The right-hand side of a node's gradient: its terms by name, by value, and the sum."""
    if not step.terms:
        return "1"
    nodes = explanation.nodes
    name = nodes[step.node].name
    terms, more = _some(step.terms, r"\cdots")
    symbolic = " + ".join(
        [rf"{_bar(nodes[t.consumer].name)} \, {_d(nodes[t.consumer].name, name)}" for t in terms]
        + more
    )
    numeric = " + ".join(
        [rf"{_tex_number(t.grad)} \cdot {_tex_number(t.local)}" for t in terms] + more
    )
    return f"{symbolic} = {numeric} = {_tex_number(step.value)}"


# -- Graphviz ------------------------------------------------------------------------------


def to_dot(explanation: Explanation, lang: str = "en") -> str:
    """The graph as Graphviz DOT: inputs at the bottom, the output at the top; each node with
    its formula, value, grad_fn and gradient, each edge with its local derivative."""
    lang = _lang(lang)
    nodes = explanation.nodes
    outputs = {row.output for row in explanation.rows}
    grads: dict[int, list[str]] = {}
    for row in explanation.rows:
        for step in row.steps:
            grads.setdefault(step.node, []).append(number(step.value))
    title = WORDS[lang]["title"].format(expr=_short(explanation.text), point=_point(explanation))
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
            label.insert(0, f"{node.name} = {_text_formula(node.formula, lang)}")
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
