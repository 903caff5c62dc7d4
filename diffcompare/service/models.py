"""The service's request and response bodies as pydantic models; /openapi.json is built from them.

Responses have the shape of the CLI's `--json` (`Report.to_dict()`); their models describe
the fields and allow any the engine adds. Numbers are finite: JSON has no NaN token, and a
non-finite result is null with a status saying why.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from annotated_types import Len
from pydantic import BaseModel, ConfigDict, Field, FiniteFloat
from typing_extensions import TypeAliasType

MAX_POINTS = 1000
"""Points one compare request may list (as the CLI's --samples)."""

MAX_SWEEP = 1_000_000
"""Points one sweep may evaluate; the deadline bounds it too."""

MAX_PLOT = 20_000
"""Points one plot's sweep may evaluate (a figure shows no more; it keeps them all)."""

Value = TypeAliasType("Value", FiniteFloat | list["Value"])  # type: ignore[misc]
Point = dict[str, Value]  # type: ignore[misc]
Dtype = Literal["float64", "float32"]
Scheme = Literal["auto", "central", "richardson", "complex-step"]
Shapes = dict[str, list[int]]


class _Request(BaseModel):
    # Strict: "2" is not the number 2, 1 is not true; unknown fields are refused.
    model_config = ConfigDict(extra="forbid", strict=True)

    expr: str = Field(
        description="The expression in diffcompare's input language (never executed).",
        examples=["x**2+3*x"],
    )


class ParseRequest(_Request):
    shapes: Shapes | None = Field(None, description='Array variables: {"x": [4], "W": [2, 3]}.')


class CompareRequest(_Request):
    at: Point | list[Point] | None = Field(
        None,
        description="A point (variable -> number, nested lists for an array variable) or a "
        "list of them; without it, `samples` seeded points where the expression is smooth.",
        examples=[[{"x": 2}]],
    )
    wrt: str | list[str] | None = Field(None, description="Variables to differentiate by.")
    order: int = Field(1, ge=1, le=6)
    hessian: bool = False
    vjp: list[FiniteFloat] | None = Field(None, max_length=10_000)
    jvp: list[FiniteFloat] | None = Field(None, max_length=10_000)
    shapes: Shapes | None = None
    samples: int = Field(5, ge=1, le=MAX_POINTS)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    dtype: Dtype = "float64"
    fd: Scheme = "auto"


class ExplainRequest(_Request):
    at: Point = Field(description="The point to explain at.", examples=[{"x": 2}])
    wrt: str | list[str] | None = None
    shapes: Shapes | None = None
    format: Literal["text", "markdown", "latex", "dot", "svg"] = Field(
        "text",
        description="text, markdown, latex, the graph as DOT, or the graph drawn as SVG by "
        "Graphviz (503 when the server has no Graphviz).",
    )
    lang: Literal["en", "zh"] = "en"


class SweepRequest(_Request):
    domain: str | dict[str, Annotated[list[FiniteFloat], Len(2, 2)]] | None = Field(
        None, description='Ranges: "x=-3:3,y=0.1:5" or {"x": [-3, 3]}; default -3:3.'
    )
    samples: int = Field(10_000, ge=1, le=MAX_SWEEP)
    grid: bool = False
    wrt: str | list[str] | None = None
    seed: int = Field(0, ge=0, le=2**32 - 1)
    dtype: Dtype = "float64"
    fd: Scheme = "auto"


class PlotRequest(_Request):
    domain: str | dict[str, Annotated[list[FiniteFloat], Len(2, 2)]] | None = Field(
        None,
        description='The range to draw: "x=-3:3" or {"x": [-3, 3]}; default -3:3. One variable '
        "gives curves, two a map of the worst error / bound.",
        examples=[{"x": [-3, 3]}],
    )
    samples: int = Field(400, ge=1, le=MAX_PLOT)
    grid: bool = False
    wrt: str | list[str] | None = None
    seed: int = Field(0, ge=0, le=2**32 - 1)
    dtype: Dtype = "float64"
    fd: Scheme = "auto"
    format: Literal["png", "svg"] = "png"


class CheckRequest(_Request):
    formula: str = Field(
        description="The claimed derivative of `expr` by `wrt`, in the same input language.",
        examples=["2*x+3"],
    )
    wrt: str | None = Field(None, description="The variable (default: the only one).")
    samples: int = Field(5, ge=1, le=50)
    seed: int = Field(0, ge=0, le=2**32 - 1)


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow")


class MethodAtPoint(_Response):
    value: dict[str, float | None]
    abs_error: dict[str, float | None]
    rel_error: dict[str, float | None]
    ulps: dict[str, float | None]
    digits: dict[str, float | None]
    bound: dict[str, float | None]
    ok: bool
    status: str
    note: str | None = None


class PointReport(_Response):
    at: dict[str, float | None]
    value: Any
    reference: dict[str, float | None]
    verdict: str
    reason: str | None = None
    closest: dict[str, Any] | None = None
    methods: dict[str, MethodAtPoint]
    differences: dict[str, dict[str, float | None]]
    one_sided: dict[str, Any] | None = None


class CompareResponse(_Response):
    """Report.to_dict(): what `diffcompare EXPR --json` prints."""

    expression: str
    parsed: str
    verdict: Literal["agree", "disagree", "undefined", "nondifferentiable"]
    counts: dict[str, int]
    variables: list[str]
    wrt: list[str]
    kind: str
    order: int
    shape: list[int]
    output_shape: list[int]
    entries: list[str]
    derivative: dict[str, str]
    simplified: bool
    dtype: str
    fd_scheme: str
    reference_digits: int
    points: list[PointReport]
    timing: dict[str, dict[str, float | int]]
    costs: dict[str, dict[str, Any]]


class SweepResponse(_Response):
    """SweepReport.to_dict(): what `diffcompare EXPR --domain ... --json` prints."""

    expression: str
    parsed: str
    verdict: str
    variables: list[str]
    wrt: list[str]
    derivative: dict[str, str]
    domain: dict[str, list[float]]
    points: int
    counts: dict[str, int]
    methods: dict[str, dict[str, Any]]
    disagreements: list[dict[str, Any]]


class PlotResponse(_Response):
    """The sweep's figure (`diffcompare EXPR --domain ... --plot FILE`) and its summary."""

    format: Literal["png", "svg"]
    media_type: Literal["image/png", "image/svg+xml"]
    encoding: Literal["base64", "utf-8"] = Field(
        description="How `image` holds the figure: base64 of the PNG bytes, or the SVG text."
    )
    image: str
    expression: str
    verdict: str
    variables: list[str]
    wrt: list[str]
    domain: dict[str, list[float]]
    points: int
    counts: dict[str, int]


class ExplainResponse(_Response):
    format: str
    lang: str
    text: str = Field(
        description="The explanation (the DOT graph, or the SVG drawing) as the CLI prints it."
    )
    dot: str | None = Field(None, description="For format svg, the DOT text it was drawn from.")


class ParseResponse(_Response):
    expression: str
    parsed: str = Field(description="SymPy's form of the expression.")
    latex: str
    mathml: str = Field(description="Presentation MathML of the expression as typed.")
    variables: list[str]
    output_shape: list[int]


class CheckPoint(_Response):
    at: dict[str, float]
    reference: float
    claimed: float | None
    ulps: float | None
    ok: bool


class CheckResponse(_Response):
    expression: str
    formula: str
    wrt: str
    verdict: Literal["correct", "incorrect", "undetermined"]
    method: Literal["symbolic", "numeric", "none"]
    message: str
    derivative: str
    points: list[CheckPoint]


class ErrorResponse(_Response):
    """Every refusal and failure: a kind, a one-line message, and fields that say more
    (for a parse error the column, the offending piece and what is allowed)."""

    error: str
    message: str
    column: int | None = None
    piece: str | None = None
    allowed: str | None = None


class HealthResponse(_Response):
    status: Literal["ok", "starting"]
    pool: dict[str, Any]


class VersionResponse(_Response):
    diffcompare: str
    engine: dict[str, str]
