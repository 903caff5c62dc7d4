"""What `conform` needs to know about an AD engine (the Adapter), and finding one by name.

An adapter maps the names of the op table (diffcompare.language.ops FUNCTIONS: "sin", "exp",
"min", "sum", ...) and the binary operators "+", "-", "*", "/", "**" to the engine's own
functions, and says how the engine takes a gradient and makes a value from a float.
`conform` compiles each expression into calls of those functions and nothing else, so an
expression can only use the ops the adapter maps.

The calling conventions:
  - a function or operator gets engine values, one per argument: `ops["sin"](u)`,
    `ops["-"](u, v)`; min, max and the reductions (sum, mean, prod, norm) get all their
    arguments at once, `ops["max"](u, v, w)`, and dot gets the components of its first
    array and then of its second, `ops["dot"](x0, x1, y0, y1)`;
  - `**` gets a plain Python number as exponent whenever the exponent is a number (an int
    when it is whole): `ops["**"](u, 2)`, `ops["**"](u, 0.5)`; "sqrt" is used for a square
    root where the adapter maps it, else `**` with 0.5; "-" and "/" where mapped, else
    `+` with a factor -1 and `**` with -1;
  - `constant(2.5)` makes the engine's value of a number in an expression;
  - `gradient(f, point)` takes `f`, a function of keyword arguments (one engine value per
    variable, `f(x=..., y=...)`, returning an engine value), and `point`, a mapping of
    variable name to float, and returns a mapping of variable name to the partial
    derivative at that point (a float or anything `float()` takes).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffcompare.oracle._engine import UsageError

OPERATORS = ("+", "-", "*", "/", "**")


def _as_float(value: float) -> Any:
    return value


@dataclass(frozen=True)
class Adapter:
    """An AD engine, as `conform` drives it (see the module docstring for the calls).

    `name` is shown in reports; `dtype` ("float64" or "float32") is what the engine
    computes in, and so the rounding its gradients are allowed; `ulps` adds that many units
    in the last place of each entry to the bound, for an engine that computes some op less
    accurately than correctly rounded and says so."""

    name: str
    ops: Mapping[str, Callable[..., Any]]
    gradient: Callable[[Callable[..., Any], Mapping[str, float]], Mapping[str, Any]]
    constant: Callable[[float], Any] = field(default=_as_float)
    dtype: str = "float64"
    ulps: float = 0.0

    def supports(self, op: str) -> bool:
        return op in self.ops


def load_adapter(spec: str) -> Adapter:
    """The adapter `MODULE:NAME` names: MODULE a dotted module name (importable from the
    current directory too) or a path to a .py file; NAME an Adapter in it, or a function of
    no arguments that returns one (so an optional engine is imported only when asked for).
    Raises UsageError, one line, for anything that does not lead to an Adapter."""
    module_name, sep, attribute = spec.rpartition(":")
    if not sep or not module_name or not attribute:
        raise UsageError(f"conform {spec}: expected MODULE:ADAPTER, e.g. my_engine:ADAPTER")
    module = _import(module_name, spec)
    found = getattr(module, attribute, None)
    if found is None:
        raise UsageError(f"conform {spec}: {module_name} has no attribute {attribute!r}")
    if not isinstance(found, Adapter) and callable(found):
        try:
            found = found()
        except ImportError as error:
            raise UsageError(f"conform {spec}: {error}") from None
    if not isinstance(found, Adapter):
        raise UsageError(
            f"conform {spec}: {attribute} is a {type(found).__name__}, not a "
            "diffcompare.oracle.adapter.Adapter (or a function returning one)"
        )
    return found


def _import(name: str, spec: str) -> Any:
    try:
        if name.endswith(".py") or "/" in name:
            path = Path(name)
            if not path.is_file():
                raise UsageError(f"conform {spec}: no file {name}")
            loaded = importlib.util.spec_from_file_location(f"_conform_{path.stem}", path)
            assert loaded is not None and loaded.loader is not None
            module = importlib.util.module_from_spec(loaded)
            loaded.loader.exec_module(module)
            return module
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        return importlib.import_module(name)
    except UsageError:
        raise
    except ImportError as error:
        raise UsageError(f"conform {spec}: cannot import {name}: {error}") from None
    except Exception as error:  # the user's module failed while loading
        said = (str(error).splitlines() or [""])[0][:160]
        raise UsageError(
            f"conform {spec}: importing {name} raised {type(error).__name__}: {said}"
        ) from None
