"""The package's imports point down the data flow and never form a cycle.

Read with `ast`, nothing is imported: every `import` and `from ... import` in every module,
at module level or inside a function, except those under `if TYPE_CHECKING:` (they never
run). Each module belongs to a layer; a module may import its own layer or a lower one, and
the graph of runtime imports between modules has no cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "diffcompare"

LAYERS: dict[str, int] = {
    # foundations: no import of anything above
    "errors": 0,
    "verdict": 0,
    "language": 1,  # text -> Problem
    "paths": 2,  # Problem -> derivative values
    "render": 3,  # formats results by their fields; below the results so they can show themselves
    "report": 4,  # frozen results
    "judging": 5,  # values -> verdicts
    "explanation": 6,  # the worked chain rule
    "sampling": 7,  # where to look without given points; below the engine, which uses it
    "engine": 7,  # prepare once, evaluate at points, judge
    "sweep": 7,
    # front doors: they call the engine, the engine never imports them
    "oracle": 8,
    "testing": 8,
    "strategies": 8,
    "plots": 8,  # figures: they run the finite-difference step study, so above the engine
    "batch": 9,
    "service": 9,
    "cli": 10,
    "__main__": 11,
}
"""Layer of each top-level module or subpackage of diffcompare, lowest first."""


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module below `root` (a package folder)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except the bodies of `if TYPE_CHECKING:` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def imports(name: str, path: Path, known: Mapping[str, Path]) -> Iterator[tuple[str, int]]:
    """(imported module of the package, line) for each runtime import in module `name`."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top = name.split(".")[0]
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` imports the submodule when there is one
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        for target in targets:
            if target == top or not target.startswith(top + "."):
                continue
            while target not in known and "." in target:
                target = target.rpartition(".")[0]
            yield target, node.lineno


def layer(name: str) -> int | None:
    parts = name.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def problems(root: Path) -> list[str]:
    """Every upward import and every cycle among the runtime imports of the package at `root`."""
    known = modules(root)
    graph: dict[str, set[str]] = {name: set() for name in known}
    found = []
    for name, path in known.items():
        for target, line in imports(name, path, known):
            if target == name:
                continue
            graph[name].add(target)
            here, there = layer(name), layer(target)
            if here is None:  # the package's __init__: lazy re-exports by name only
                continue
            if there is None:
                found.append(f"{path.name}:{line}: {name} imports the package root")
            elif there > here:
                found.append(
                    f"{path.relative_to(root.parent)}:{line}: {name} (layer {here}) imports "
                    f"{target} (layer {there}), which is above it"
                )
    found.extend(f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(graph))
    return found


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm; the package is small enough to recurse
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_package_imports_point_down_and_never_cycle() -> None:
    assert problems(PACKAGE) == []


def test_every_subpackage_has_a_layer() -> None:
    unplaced = {name.split(".")[1] for name in modules(PACKAGE) if name.count(".") >= 1}
    assert sorted(unplaced - set(LAYERS)) == []


def _tree(root: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = root / "diffcompare" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "diffcompare"


CLEAN = {
    "__init__.py": "",
    "errors.py": "",
    "language/__init__.py": "",
    "language/parser.py": "from diffcompare.errors import X\n",
    "paths/__init__.py": "",
    "paths/compiler.py": "from diffcompare.language import parser\n",
    "engine.py": "from ..paths.compiler import y\nfrom typing import TYPE_CHECKING\n"
    "if TYPE_CHECKING:\n    from diffcompare.cli import main\n",
    "cli/__init__.py": "",
    "cli/main.py": "def run():\n    from diffcompare import engine\n",
}


def test_a_clean_synthetic_tree_passes(tmp_path: Path) -> None:
    assert problems(_tree(tmp_path, CLEAN)) == []


@pytest.mark.parametrize(
    ("planted", "expected"),
    [
        # an upward import at module level, inside a function, and relative
        ("from diffcompare.engine import compare\n", "imports diffcompare.engine (layer 7)"),
        ("def f():\n    import diffcompare.cli.main\n", "imports diffcompare.cli.main (layer 10)"),
        ("from ..cli import main\n", "imports diffcompare.cli.main (layer 10)"),
    ],
)
def test_a_planted_upward_import_is_named(tmp_path: Path, planted: str, expected: str) -> None:
    found = problems(_tree(tmp_path, {**CLEAN, "paths/edges.py": planted}))
    assert len(found) == 1 and "paths/edges.py" in found[0] and expected in found[0], found


def test_a_planted_cycle_within_a_layer_is_named(tmp_path: Path) -> None:
    planted = {**CLEAN, "language/ops.py": "from diffcompare.language.parser import p\n"}
    planted["language/parser.py"] = "from diffcompare.language.ops import o\n"
    found = problems(_tree(tmp_path, planted))
    assert found == ["import cycle: diffcompare.language.ops -> diffcompare.language.parser"], found
