"""Splitting option text at the commas outside brackets (`x=[1,2],y=3`, `x,W[0,1]`): plain
string work, importable without SymPy or torch so the CLI starts fast."""

from __future__ import annotations


def split_top_level(text: str) -> list[str]:
    """`a,[b,c],d` as ['a', '[b,c]', 'd']: the pieces between commas at bracket depth 0."""
    parts: list[str] = []
    depth, start = 0, 0
    for i, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts
