"""The batch input: one JSON object per line, an expression with its options, checked here
before any work so a malformed line becomes that item's error line, not a crash.

A line's fields (all but `expr` optional):

    id        a string or an integer naming the item (default: its line number, from 1)
    expr      the expression text
    at        a point {"x": 2, "v": [1, 2]} or a list of points; or else
    domain    a sweep: "x=-3:3,y=0.1:5" or {"x": [-3, 3]}, with `samples` and `grid`
    samples   without `at` or `domain`: how many seeded sample points (default 5, at most
              1,000); with `domain`: the sweep's points (default 10,000)
    wrt       "x,y" or ["x", "y"]
    order, hessian, vjp, jvp, shapes ({"x": [4]} or "x=4,W=2x3"), dtype, fd, seed
              as the command line's options of the same names

Only the form of each field is checked here (pure Python, no torch): whether the values fit
the expression (names, shapes, domains) is the engine's to say, in the item's error line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

FIELDS = (
    "id",
    "expr",
    "at",
    "domain",
    "samples",
    "grid",
    "wrt",
    "order",
    "hessian",
    "vjp",
    "jvp",
    "shapes",
    "dtype",
    "fd",
    "seed",
)
DTYPES = ("float64", "float32")
FD_SCHEMES = ("auto", "central", "richardson", "complex-step")
MAX_ORDER = 6
MAX_POINTS = 1000
"""The most sample points a report lists one by one (as the command line's --samples)."""
MAX_SWEEP = 100_000_000
MAX_LINE = 1_000_000
"""Characters in one input line: the parser bounds the expression, this bounds the rest."""


@dataclass(frozen=True)
class Item:
    """One input line: its id and line number, and either the expression with its checked
    options or why the line cannot be run (`error`)."""

    id: str | int
    line: int
    expr: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    def task(self) -> dict[str, Any]:
        """What a worker receives: plain data, the same for a process pool and Dask."""
        return {"id": self.id, "line": self.line, "expr": self.expr, "options": dict(self.options)}


class _Bad(Exception):
    """A field's value is not of the form the schema asks for (the message says which)."""


def read_items(lines: Iterable[str | Mapping[str, Any]]) -> list[Item]:
    """Each non-blank line (a JSON text, or an already-decoded mapping) as an Item, numbered
    from 1; a malformed line, or a repeated id, is an Item with an `error`."""
    items: list[Item] = []
    seen: dict[str | int, int] = {}
    for number, line in enumerate(lines, start=1):
        if isinstance(line, str) and not line.strip():
            continue
        item = parse_item(line, number)
        if item.id in seen and item.error is None:
            item = Item(
                item.id,
                number,
                item.expr,
                error=f"id {item.id!r} is given twice (first on line {seen[item.id]})",
            )
        seen.setdefault(item.id, number)
        items.append(item)
    return items


def parse_item(line: str | Mapping[str, Any], number: int) -> Item:
    """One input line (JSON text or a decoded mapping) as an Item; never raises."""
    if isinstance(line, str):
        if len(line) > MAX_LINE:
            return Item(number, number, error=f"the line is longer than {MAX_LINE} characters")
        try:
            data = json.loads(line, parse_constant=_no_constant)
        except (ValueError, _Bad) as error:
            return Item(number, number, error=f"not a JSON object: {_one_line(error)}")
    else:
        data = line
    if not isinstance(data, Mapping):
        return Item(number, number, error='expected a JSON object like {"expr": "x**2"}')
    raw_id = data.get("id", number)
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        return Item(number, number, error=f"id: expected a string or an integer, got {raw_id!r}")
    expr = data.get("expr")
    try:
        unknown = sorted(str(k) for k in data if k not in FIELDS)
        if unknown:
            raise _Bad(f"unknown field {unknown[0]!r}; the fields are {', '.join(FIELDS)}")
        if not isinstance(expr, str) or not expr.strip():
            raise _Bad("expr: expected the expression as a non-empty string")
        options = _options(data)
    except _Bad as error:
        text = expr if isinstance(expr, str) else ""
        return Item(raw_id, number, text, error=str(error))
    return Item(raw_id, number, expr, options)


def _options(data: Mapping[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if "at" in data:
        options["at"] = _points(data["at"])
    if "domain" in data:
        if "at" in data:
            raise _Bad("at gives points and domain sweeps its own: use one or the other")
        options["domain"] = _domain(data["domain"])
        for name in ("order", "hessian", "vjp", "jvp"):
            if name in data:
                raise _Bad(f"{name}: a sweep (domain) compares first derivatives")
    if "samples" in data:
        if "at" in data:
            raise _Bad("samples: the points are given by at")
        limit = MAX_SWEEP if "domain" in data else MAX_POINTS
        options["samples"] = _integer("samples", data["samples"], 1, limit)
    if "grid" in data:
        if "domain" not in data:
            raise _Bad("grid: goes with domain (a sweep)")
        options["grid"] = _flag("grid", data["grid"])
    if "wrt" in data:
        options["wrt"] = _wrt(data["wrt"])
    if "order" in data:
        options["order"] = _integer("order", data["order"], 1, MAX_ORDER)
    if "hessian" in data:
        options["hessian"] = _flag("hessian", data["hessian"])
    for name in ("vjp", "jvp"):
        if name in data:
            options[name] = _vector(name, data[name])
    if "shapes" in data:
        options["shapes"] = _shapes(data["shapes"])
    if "dtype" in data:
        options["dtype"] = _choice("dtype", data["dtype"], DTYPES)
    if "fd" in data:
        options["fd"] = _choice("fd", data["fd"], FD_SCHEMES)
    if "seed" in data:
        options["seed"] = _integer("seed", data["seed"], 0, 2**63 - 1)
    return options


def _points(value: Any) -> list[dict[str, Any]]:
    points = [value] if isinstance(value, Mapping) else value
    if not isinstance(points, list) or not points:
        raise _Bad('at: expected a point {"x": 2} or a non-empty list of points')
    if len(points) > MAX_POINTS:
        raise _Bad(f"at: at most {MAX_POINTS} points (give a domain for a sweep)")
    for point in points:
        if not isinstance(point, Mapping) or not point:
            raise _Bad(f'at: expected each point as {{"x": 2, "y": 3}}, got {point!r}'[:200])
        for name, number in point.items():
            _nested_numbers(f"at {name}", number)
    return [dict(point) for point in points]


def _nested_numbers(what: str, value: Any) -> None:
    if isinstance(value, list):
        if not value:
            raise _Bad(f"{what}: an empty list")
        for item in value:
            _nested_numbers(what, item)
    else:
        _number(what, value)


def _domain(value: Any) -> str | dict[str, tuple[float, float]]:
    if isinstance(value, str):
        return value
    if not isinstance(value, Mapping) or not value:
        raise _Bad('domain: expected "x=-3:3,y=0.1:5" or {"x": [-3, 3]}')
    ranges: dict[str, tuple[float, float]] = {}
    for name, pair in value.items():
        if not isinstance(pair, list) or len(pair) != 2:
            raise _Bad(f"domain {name}: expected [low, high]")
        low, high = (_number(f"domain {name}", x) for x in pair)
        if not low < high:
            raise _Bad(f"domain {name}: need low < high")
        ranges[str(name)] = (low, high)
    return ranges


def _wrt(value: Any) -> str | list[str]:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return list(value)
    raise _Bad('wrt: expected "x,y" or ["x", "y"]')


def _shapes(value: Any) -> str | dict[str, list[int]]:
    if isinstance(value, str):
        return value
    if not isinstance(value, Mapping):
        raise _Bad('shapes: expected {"x": [4], "W": [2, 3]} or "x=4,W=2x3"')
    shapes: dict[str, list[int]] = {}
    for name, shape in value.items():
        dims = [shape] if isinstance(shape, int) and not isinstance(shape, bool) else shape
        if not isinstance(dims, list) or not dims:
            raise _Bad(f"shapes {name}: expected a list of sizes like [2, 3]")
        shapes[str(name)] = [_integer(f"shapes {name}", d, 1, 10**9) for d in dims]
    return shapes


def _vector(name: str, value: Any) -> list[float]:
    if not isinstance(value, list) or not value:
        raise _Bad(f"{name}: expected a list of numbers like [1, 0]")
    return [_number(name, v) for v in value]


def _number(what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(f"{what}: expected a number, got {value!r}"[:200])
    number = float(value)
    if not math.isfinite(number):
        raise _Bad(f"{what}: {value!r} is not finite in float64")
    return number


def _integer(what: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _Bad(f"{what}: expected a whole number from {low} to {high}, got {value!r}"[:200])
    return value


def _flag(what: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"{what}: expected true or false, got {value!r}"[:200])
    return value


def _choice(what: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise _Bad(f"{what}: choose from {', '.join(choices)}, got {value!r}"[:200])
    return str(value)


def _no_constant(name: str) -> Any:
    raise _Bad(f"{name} is not a JSON number")


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
