"""The HTTP service through httpx against the app (ASGI transport), with real worker processes:
answers, refusals, limits, deadlines, saturation and a worker killed mid-request."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from corpus import HOSTILE

from diffcompare.cli.main import cli
from diffcompare.errors import LimitError, ParseError
from diffcompare.service.app import create_app
from diffcompare.service.config import ServiceLimits
from diffcompare.service.models import CheckResponse, CompareResponse, SweepResponse
from diffcompare.service.pool import WorkerPool

pytestmark = pytest.mark.anyio

START_SECONDS = 120
# Slow whatever the engine's speed: the 50-digit reference of 80 transcendental terms at each
# of 1000 points takes minutes, far past the short deadlines below.
SLOW = {
    "expr": "+".join(f"sin({k}*x)*exp(cos({k}*x))" for k in range(1, 41)),
    "samples": 1000,
}
QUICK = {"expr": "x**2+3*x", "at": [{"x": 2}]}


def started(limits: ServiceLimits) -> WorkerPool:
    pool = WorkerPool(limits)
    pool.start()
    wait_ready(pool)
    return pool


def wait_ready(pool: WorkerPool) -> None:
    end = time.monotonic() + START_SECONDS
    while pool.stats()["ready"] < pool.limits.workers:
        assert time.monotonic() < end, f"workers not ready: {pool.stats()}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    # A body limit above the largest hostile text (a megabyte), so every one reaches the parser.
    pool = started(ServiceLimits(workers=2, deadline=60, max_body=2_000_000))
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def tight() -> Iterator[WorkerPool]:
    """One worker, a 2 s deadline and room for one waiting request."""
    pool = started(ServiceLimits(workers=1, deadline=2, queue=1))
    yield pool
    pool.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def client_for(
    pool: WorkerPool, limits: ServiceLimits | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(limits, pool=pool))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        yield client


@pytest.fixture
async def client(pool: WorkerPool) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(pool):
        yield c


@pytest.fixture
async def tight_client(tight: WorkerPool) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(tight):
        yield c


def strict(text: str) -> object:
    """Parse JSON refusing NaN and Infinity tokens."""

    def refuse(token: str) -> object:
        raise AssertionError(f"non-strict JSON token {token}")

    return json.loads(text, parse_constant=refuse)


# -- answers ------------------------------------------------------------------------------


async def test_compare_as_curl_sends_it_matches_the_cli(client: httpx.AsyncClient) -> None:
    # curl -d sends application/x-www-form-urlencoded; the service reads the body as JSON.
    response = await client.post(
        "/v1/compare",
        content=json.dumps(QUICK),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    served = strict(response.text)
    assert isinstance(served, dict)
    CompareResponse.model_validate(served)
    printed = CliRunner().invoke(cli, ["x**2+3*x", "--at", "x=2", "--json"])
    assert printed.exit_code == 0, printed.output
    expected = json.loads(printed.output)
    served.pop("timing"), expected.pop("timing")
    assert served == expected
    assert served["verdict"] == "agree"
    assert served["points"][0]["reference"] == {"x": 7.0}


async def test_output_is_strict_json_where_a_method_gives_nan(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/compare", json={"expr": "max(2, sqrt(x))", "at": {"x": 0}})
    assert response.status_code == 200, response.text
    data = strict(response.text)  # refuses the NaN and Infinity tokens; prose may say NaN
    assert isinstance(data, dict) and data["verdict"] != "agree"


@pytest.mark.parametrize(("fmt", "lang", "marker"), [
    ("text", "en", "Chain rule"), ("markdown", "en", "## "), ("latex", "en", r"\documentclass"),
    ("dot", "en", "digraph"), ("text", "zh", "链式法则"),
])  # fmt: skip
async def test_explain_formats(client: httpx.AsyncClient, fmt: str, lang: str, marker: str) -> None:
    body = {"expr": "sin(x**2)", "at": {"x": 1}, "format": fmt, "lang": lang}
    response = await client.post("/v1/explain", json=body)
    assert response.status_code == 200, response.text
    assert marker in response.json()["text"]


async def test_sweep_answers_the_summary(client: httpx.AsyncClient) -> None:
    body = {"expr": "sin(x)/x", "domain": {"x": [0.1, 10]}, "samples": 2000}
    response = await client.post("/v1/sweep", json=body)
    assert response.status_code == 200, response.text
    data = SweepResponse.model_validate(response.json())
    assert data.points == 2000 and data.verdict == "agree"
    assert len(response.content) < 100_000  # a summary, not the points


@pytest.mark.parametrize(("expr", "formula", "verdict", "method"), [
    ("x**2+3*x", "2*x+3", "correct", "symbolic"),
    ("sin(x)**2", "sin(2*x)", "correct", "symbolic"),
    ("x**2+3*x", "2*x", "incorrect", "numeric"),
    ("exp(x)*x", "exp(x)*x + 1e-12", "incorrect", "numeric"),
])  # fmt: skip
async def test_check_my_answer(
    client: httpx.AsyncClient, expr: str, formula: str, verdict: str, method: str
) -> None:
    response = await client.post("/v1/check", json={"expr": expr, "formula": formula})
    assert response.status_code == 200, response.text
    data = CheckResponse.model_validate(response.json())
    assert (data.verdict, data.method) == (verdict, method), data.message
    if verdict == "incorrect":
        assert any(not p.ok for p in data.points)


async def test_check_refuses_what_it_cannot_judge(client: httpx.AsyncClient) -> None:
    cases = [
        ({"expr": "x*y", "formula": "y"}, "wrt"),
        ({"expr": "x**2", "formula": "2*z"}, "z"),
        ({"expr": "x**2", "formula": "2*x)"}, "column"),
    ]
    for body, words in cases:
        response = await client.post("/v1/check", json=body)
        assert response.status_code == 422, response.text
        assert words in response.json()["message"]


async def test_parse_gives_mathml_of_the_text_as_typed(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/parse", json={"expr": "sqrt(x)/(1+x^2)"})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["parsed"] == "sqrt(x)/(x**2 + 1)"
    assert "<msqrt>" in data["mathml"] and data["variables"] == ["x"]


async def test_health_and_version(client: httpx.AsyncClient) -> None:
    health = (await client.get("/v1/health")).json()
    assert health["status"] == "ok" and health["pool"]["ready"] == 2
    version = (await client.get("/v1/version")).json()
    assert set(version["engine"]) >= {"diffcompare", "torch", "sympy"}


# -- refusals -----------------------------------------------------------------------------


async def test_bad_text_is_422_with_the_parsers_message_and_column(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/compare", json={"expr": "x + y.real"})
    assert response.status_code == 422
    data = response.json()
    assert data["error"] == "parse" and data["column"] == 5
    assert "column 5" in data["message"] and "allowed" in data


async def test_every_hostile_input_is_refused_and_nothing_runs(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    canary = tmp_path / "ran"
    texts = [(c.id, c.text, c.error) for c in HOSTILE]
    texts.append(("canary", f"__import__('os').system('touch {canary}')", ParseError))
    for name, text, error in texts:
        response = await client.post("/v1/compare", json={"expr": text})
        assert response.status_code == 422, (name, response.text)
        kind = {ParseError: "parse", LimitError: "limit"}.get(error, "input")
        assert response.json()["error"] == kind, (name, response.text)
    assert not canary.exists()


@pytest.mark.parametrize("body", [
    b"", b"{", b"[1, 2]", b'"x"', b'{"expr": 3}', b'{"expr": "x", "at": {"x": NaN}}',
    b'{"expr": "x", "at": {"x": Infinity}}', b'{"expr": "x", "at": {"x": 1e400}}',
    b'{"expr": "x", "order": 7}', b'{"expr": "x", "colour": "red"}', b'{"expr": "x", "samples": 0}',
    b'{"expr": "x", "dtype": "float16"}', b'{"expr": "x", "at": {"x": "2"}}', b"\xff\xfe",
    b'{"expr": "x", "at": [{"y": 1}]}', b'{"expr": "x", "wrt": "y"}',
])  # fmt: skip
async def test_malformed_bodies_are_4xx(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/v1/compare", content=body)
    assert 400 <= response.status_code < 500, response.text
    assert isinstance(response.json()["message"], str)


@pytest.fixture
async def small_client(pool: WorkerPool) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(pool, ServiceLimits(max_body=4096)):
        yield c


async def test_a_body_over_the_limit_is_413(small_client: httpx.AsyncClient) -> None:
    client = small_client
    assert (await client.post("/v1/compare", json={"expr": "x" + " " * 4000})).status_code == 200
    big = json.dumps({"expr": "x" + " " * 5000})
    response = await client.post("/v1/compare", content=big)
    assert response.status_code == 413 and response.json()["error"] == "too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield b" " * 1000

    response = await client.post("/v1/compare", content=chunks())
    assert response.status_code == 413


async def test_unknown_paths_and_methods_are_4xx_json(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/nothing")).status_code == 404
    response = await client.get("/v1/compare")
    assert response.status_code == 405 and "message" in response.json()


# -- docs and page --------------------------------------------------------------------------


async def test_docs_and_page_load_nothing_from_another_host(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/"):
        response = await client.get(page)
        assert response.status_code == 200
        links = re.findall(r'(?:src|href)="([^"]+)"', response.text)
        assert links, page
        for link in links:
            assert not re.match(r"(https?:)?//", link), f"{page} loads {link}"
            if not link.startswith("data:"):
                assert (await client.get(link)).status_code == 200, link
    script = (await client.get("/static/app.js")).text
    assert "fetch(" in script and not re.search(r"fetch\(\s*[\"'`]https?:", script)
    spec = (await client.get("/openapi.json")).json()
    assert {"CompareRequest", "CompareResponse", "ErrorResponse"} <= set(
        spec["components"]["schemas"]
    )


# -- deadlines, saturation, crashes -------------------------------------------------------


async def test_past_the_deadline_is_504_saying_what_ran_and_the_pool_recovers(
    tight_client: httpx.AsyncClient, tight: WorkerPool
) -> None:
    before = tight.pids()
    response = await tight_client.post("/v1/compare", json=SLOW)
    assert response.status_code == 504, response.text
    data = response.json()
    assert data["error"] == "deadline" and "comparing" in data["doing"]
    assert "2 s" in data["message"]
    wait_ready(tight)  # the replacement starts (a client would wait Retry-After)
    response = await tight_client.post("/v1/compare", json=QUICK)
    assert response.status_code == 200, response.text
    assert tight.pids() != before  # the late worker was replaced


async def test_saturated_is_503_with_retry_after(
    tight_client: httpx.AsyncClient, tight: WorkerPool
) -> None:
    wait_ready(tight)
    slow = asyncio.ensure_future(tight_client.post("/v1/compare", json=SLOW))
    while not tight.busy_pids():
        await asyncio.sleep(0.01)
    queued = asyncio.ensure_future(tight_client.post("/v1/compare", json=QUICK))
    while tight.stats()["waiting"] < 1:
        await asyncio.sleep(0.01)
    refused = await tight_client.post("/v1/compare", json=QUICK)
    assert refused.status_code == 503, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"] == "saturated"
    assert (await slow).status_code == 504
    # The queued request waited longer than the deadline (the slow one held the only worker
    # for all of it): it is refused too, not left waiting.
    late = await queued
    assert late.status_code == 503 and "waited" in late.json()["message"]
    assert (await tight_client.post("/v1/compare", json=QUICK)).status_code == 200


def vm_size_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) // 1024
    raise AssertionError(f"no VmSize for {pid}")


async def test_past_the_memory_cap_is_422_and_the_worker_is_replaced(pool: WorkerPool) -> None:
    # A cap 150 MiB above what a warm worker maps: room for small requests, not for a sweep
    # of 300,000 points in three variables.
    warm = max(vm_size_mb(pid) for pid in pool.pids().values() if pid)
    capped = started(ServiceLimits(workers=1, memory_mb=warm + 150, deadline=60))
    try:
        async for client in client_for(capped):
            big = {"expr": "x*y*z+sin(x*y)*exp(z)", "samples": 300_000}
            response = await client.post("/v1/sweep", json=big)
            assert response.status_code == 422, response.text[:300]
            assert response.json()["error"] == "memory" and "MiB" in response.json()["message"]
            wait_ready(capped)
            assert (await client.post("/v1/compare", json=QUICK)).status_code == 200
        assert capped.stats()["started"] == 2
    finally:
        capped.close()


async def test_a_worker_killed_mid_request_is_503_and_the_next_request_succeeds(
    client: httpx.AsyncClient, pool: WorkerPool
) -> None:
    wait_ready(pool)
    slow = asyncio.ensure_future(client.post("/v1/compare", json=SLOW))
    while not pool.busy_pids():
        await asyncio.sleep(0.01)
    os.kill(pool.busy_pids()[0], signal.SIGKILL)
    response = await slow
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "worker_died" and "signal 9" in response.json()["message"]
    assert response.headers["retry-after"] == "1"
    after = await client.post("/v1/compare", json=QUICK)
    assert after.status_code == 200, after.text
    wait_ready(pool)


async def test_a_client_that_goes_away_costs_the_pool_nothing(tight: WorkerPool) -> None:
    wait_ready(tight)
    running = tight.submit("compare", SLOW)
    while not tight.busy_pids():
        await asyncio.sleep(0.01)
    waiting = tight.submit("compare", QUICK)
    assert running.cancel() and waiting.cancel()  # as when their clients disconnect
    while tight.busy_pids() or tight.stats()["ready"] < 1:
        await asyncio.sleep(0.05)  # the slow one runs to its deadline; nothing is left hanging
    answer = await asyncio.wait_for(asyncio.wrap_future(tight.submit("compare", QUICK)), 60)
    assert answer.status == 200, answer.body
