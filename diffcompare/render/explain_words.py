"""What every rendering of an explanation shares: the words in English and Chinese, numbers
for reading, and how long lists and wide formulas fold."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import sympy

from diffcompare.errors import UsageError

if TYPE_CHECKING:
    from diffcompare.explanation.model import Explanation, Node, Row


FORMATS = ("text", "markdown", "latex", "dot", "svg")
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


def language(lang: str) -> str:
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


def folded(items: Sequence[T], large: bool) -> tuple[list[T], int, list[T]]:
    """The items a view shows: all, or the first HEAD and last TAIL with a count between."""
    if not large or len(items) <= HEAD + TAIL + 1:
        return list(items), 0, []
    return list(items[:HEAD]), len(items) - HEAD - TAIL, list(items[-TAIL:])


def point_text(explanation: Explanation) -> str:
    return ", ".join(
        f"{n} = {number(x)}" for n, x in zip(explanation.variables, explanation.point, strict=True)
    )


def rule_of(node: Node, lang: str) -> str:
    return node.rules.get(lang) or WORDS[lang]["rule"].format(name=node.names[lang])


def some_of(items: Sequence[T], gap: str = "…") -> tuple[list[T], list[str]]:
    """Up to MANY items, or the first few and a gap that counts the rest."""
    if len(items) <= MANY:
        return list(items), []
    return list(items[: MANY // 2]), [f"{gap} ({len(items) - MANY // 2})"]


def names_of(explanation: Explanation, positions: Sequence[int]) -> list[str]:
    shown, more = some_of(positions)
    return [explanation.nodes[q].name for q in shown] + more


def shortened(text: str) -> str:
    text = text.strip()
    return text if len(text) <= WIDE // 2 else text[: WIDE // 2 - 1] + "…"


def out_name(explanation: Explanation, row: Row) -> str:
    return explanation.nodes[row.output].name if row.output is not None else "0"


def failed_checks(
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


def text_formula(formula: sympy.Expr, lang: str) -> str:
    text = str(formula)
    return text if len(text) <= WIDE else WORDS[lang]["wide"].format(count=len(text))


# -- plain text ------------------------------------------------------------------------------
