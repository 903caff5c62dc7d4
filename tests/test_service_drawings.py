"""The service's drawings through httpx against the app with real workers: the explanation's
graph drawn by Graphviz as SVG (/v1/explain format svg) and the sweep's figure (/v1/plot),
really rendered and parsed back; their refusals; and the answer without Graphviz."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from diffcompare.cli.explain import explain_command
from diffcompare.service import worker
from diffcompare.service.app import create_app
from diffcompare.service.config import ServiceLimits
from diffcompare.service.models import ExplainResponse, PlotResponse
from diffcompare.service.pool import WorkerPool

pytestmark = pytest.mark.anyio

SVG = "{http://www.w3.org/2000/svg}"
SEED001 = "(x**2+3*x+1)**3+4*(x**2+3*x+1)+2"
NO_GRAPHVIZ = (
    "Graphviz's dot is not installed: run scripts/install-system.sh as root (make test does)"
)
needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None, reason=NO_GRAPHVIZ)


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    pool = WorkerPool(ServiceLimits(workers=1, deadline=60))
    pool.start()
    end = time.monotonic() + 120
    while pool.stats()["ready"] < 1:
        assert time.monotonic() < end, f"worker not ready: {pool.stats()}"
        time.sleep(0.05)
    yield pool
    pool.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(pool: WorkerPool) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(pool=pool))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as c:
        yield c


def svg_texts(svg: str) -> list[str]:
    """The text of every <text> element of an SVG document (which must parse as XML)."""
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def dot_labels(dot: str) -> list[str]:
    """Every label of a DOT text, unescaped, split at its line breaks."""
    lines: list[str] = []
    for label in re.findall(r'label="((?:[^"\\]|\\.)*)"', dot):
        text = label.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        lines += text.split("\n")
    return lines


# -- the graph as SVG ---------------------------------------------------------------------


@needs_graphviz
@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_explain_svg_is_the_dot_drawn_by_graphviz(
    client: httpx.AsyncClient, lang: str
) -> None:
    body = {"expr": SEED001, "at": {"x": 2}, "format": "svg", "lang": lang}
    response = await client.post("/v1/explain", json=body)
    assert response.status_code == 200, response.text
    data = ExplainResponse.model_validate(response.json())
    assert data.format == "svg" and data.dot is not None
    texts = svg_texts(data.text)
    # Every line of every node and edge label of the DOT is drawn, and nothing else computed.
    labels = dot_labels(data.dot)
    assert len(labels) > 10 and set(labels) <= set(texts), set(labels) - set(texts)
    assert "x.grad = 2569" in texts and "∂v4/∂v3 = 363" in texts
    assert "<script" not in data.text


@needs_graphviz
def test_cli_explain_format_svg_is_the_same_drawing(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(explain_command, [SEED001, "--at", "x=2", "--format", "svg"])
    assert result.exit_code == 0, result.output
    assert "x.grad = 2569" in svg_texts(result.output)


def test_without_graphviz_svg_is_503_and_the_cli_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on it
    assert shutil.which("dot") is None
    status, body, keep = worker.answer(
        "explain", {"expr": "sin(x)*x", "at": {"x": 1.0}, "format": "svg"}
    )
    data = json.loads(body)
    assert (status, data["error"], keep) == (503, "unavailable", True)
    assert "Graphviz" in data["message"] and "format dot" in data["message"]
    # DOT itself needs no Graphviz.
    status, body, _ = worker.answer(
        "explain", {"expr": "sin(x)*x", "at": {"x": 1.0}, "format": "dot"}
    )
    assert status == 200 and json.loads(body)["text"].startswith("digraph")
    result = CliRunner().invoke(explain_command, ["x", "--at", "x=1", "--format", "svg"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "Graphviz" in result.output, result.output


# -- the plot -----------------------------------------------------------------------------


async def test_plot_png_is_a_real_figure_of_the_sweep(client: httpx.AsyncClient) -> None:
    from PIL import Image

    body = {"expr": "sin(x)/x", "domain": {"x": [-5, 5]}, "samples": 200}
    response = await client.post("/v1/plot", json=body)
    assert response.status_code == 200, response.text
    data = PlotResponse.model_validate(response.json())
    assert (data.format, data.media_type, data.encoding) == ("png", "image/png", "base64")
    image = Image.open(io.BytesIO(base64.b64decode(data.image, validate=True)))
    image.verify()
    assert image.format == "PNG" and image.size[0] > 400 and image.size[1] > 400
    assert data.verdict == "agree" and data.points == 200 and data.domain == {"x": [-5.0, 5.0]}
    assert data.counts["disagree"] == 0 and data.counts["agree"] > 0


async def test_plot_svg_parses_and_names_every_method(client: httpx.AsyncClient) -> None:
    body = {"expr": "exp(x)*cos(x)", "domain": "x=-2:2", "samples": 60, "format": "svg"}
    response = await client.post("/v1/plot", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["media_type"] == "image/svg+xml" and data["encoding"] == "utf-8"
    root = ET.fromstring(data["image"].encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    # matplotlib draws text as paths and keeps each text in a comment beside it.
    drawn = re.findall(r"<!-- (.*?) -->", data["image"])
    for label in ("symbolic (SymPy)", "autograd (torch)", "finite difference", "relative error"):
        assert label in drawn, label
    assert "<script" not in data["image"]


@pytest.mark.parametrize("body, status, words", [
    ({"expr": "x + y.real"}, 422, "column 5"),
    ({"expr": "x*y*z"}, 422, "one or two variables"),
    ({"expr": "2"}, 422, "one or two variables"),
    ({"expr": "x", "domain": {"z": [0, 1]}}, 422, "z"),
    ({"expr": "x", "format": "gif"}, 422, "format"),
    ({"expr": "x", "samples": 0}, 422, "samples"),
    ({"expr": "x", "samples": 20_001}, 422, "samples"),
    ({"expr": "x", "domain": {"x": [0, 1, 2]}}, 422, "domain"),
])  # fmt: skip
async def test_plot_refusals_are_422_saying_why(
    client: httpx.AsyncClient, body: dict[str, object], status: int, words: str
) -> None:
    response = await client.post("/v1/plot", json=body)
    assert response.status_code == status, response.text
    assert words in response.json()["message"], response.text


async def test_openapi_describes_the_plot_and_svg(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    plot = spec["paths"]["/v1/plot"]["post"]
    assert {"200", "413", "422", "503", "504"} <= set(plot["responses"])
    schemas = spec["components"]["schemas"]
    assert schemas["ExplainRequest"]["properties"]["format"]["enum"][-1] == "svg"
    assert schemas["PlotRequest"]["properties"]["format"]["enum"] == ["png", "svg"]
