"""The service as users run it: `diffcompare serve` in a subprocess on a loopback port, reached
over real HTTP, fuzzed from its own OpenAPI, and its page driven in Debian's Chromium."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from corpus import HOSTILE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
START_SECONDS = 180
LOADED = "id => { const i = document.getElementById(id); return i.complete && i.naturalWidth > 0; }"
MAX_BODY = 65_536  # the default
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m diffcompare serve` on a free loopback port, once a worker is ready."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "serve.log"
    command = [sys.executable, "-m", "diffcompare", "serve", "--port", str(port)]
    command += ["--workers", "2", "--deadline", "10"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + START_SECONDS
        while True:
            assert process.poll() is None, f"serve exited: {log.read_text()[-2000:]}"
            assert time.monotonic() < end, f"no health in {START_SECONDS} s: {log.read_text()}"
            try:
                if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)  # uvicorn shuts down and closes the pool
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def test_the_readme_curl_example(server: str) -> None:
    # What `curl -s URL/v1/compare -d '{...}'` sends: a form-urlencoded Content-Type.
    body = '{"expr": "x**2+3*x", "at": [{"x": 2}]}'
    headers = {"content-type": "application/x-www-form-urlencoded"}
    response = httpx.post(f"{server}/v1/compare", content=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["verdict"] == "agree" and data["points"][0]["reference"] == {"x": 7.0}
    values = {m["value"]["x"] for m in data["points"][0]["methods"].values()}
    assert values == {7.0}


def test_hostile_inputs_over_http_are_refused(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        for case in HOSTILE:
            body = json.dumps({"expr": case.text})
            response = client.post("/v1/compare", content=body)
            expected = 413 if len(body) > MAX_BODY else 422
            assert response.status_code == expected, (case.id, response.text[:300])
            assert response.json()["message"]
        assert client.get("/v1/health").json()["pool"]["died"] == 0


def test_fuzzed_from_the_openapi_no_server_error(server: str) -> None:
    spec = httpx.get(f"{server}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(spec)
    operations = [
        schema[path][method.upper()] for path, item in spec["paths"].items() for method in item
    ]
    cases = st.sampled_from(operations).flatmap(lambda operation: operation.as_strategy())
    seen: dict[int, int] = {}

    @settings(
        max_examples=50,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def no_server_error(case: schemathesis.Case) -> None:
        response = case.call(base_url=server, timeout=60)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        # 503 and 504 are documented answers (saturated, deadline); any other 5xx is a bug.
        assert response.status_code < 500 or response.status_code in (503, 504), (
            f"{case.method} {case.path} {case.body!r} -> {response.status_code} "
            f"{response.text[:300]}"
        )
        json.loads(response.text)  # every answer is JSON

    no_server_error()
    assert sum(seen.values()) >= 50 and any(s < 300 for s in seen), seen


def _browser_skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: run scripts/install-system.sh as root (make test does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: pip install -e '.[dev]'"
    return None


@pytest.mark.skipif(_browser_skip_reason() is not None, reason=str(_browser_skip_reason()))
def test_the_page_in_a_real_browser(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_FLAGS,  # the profile directory is the fresh --user-data-dir
            headless=True,
            viewport={"width": 1100, "height": 900},
        )
        try:
            page = context.new_page()
            failed: list[str] = []
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.on("pageerror", lambda e: failed.append(str(e)))
            page.goto(f"{server}/")
            # Keyboard only: the expression box has the focus, Tab moves to the points box.
            page.keyboard.type("(x**2+3*x+1)**3+4*(x**2+3*x+1)+2")
            page.keyboard.press("Tab")
            page.keyboard.type("x=2")
            expect(page.locator("#preview-math math")).to_be_visible(timeout=60_000)
            page.keyboard.press("Enter")
            expect(page.locator("#verdict")).to_have_text("Verdict: agree", timeout=60_000)
            table = page.locator("#table tbody").inner_text()
            assert "2569" in table and "autograd" in table, table
            expect(page.locator("#explain")).to_contain_text("Chain rule", timeout=60_000)
            # The graph, drawn by Graphviz (or, without it, said so), and the plot over a range
            # around x=2, both images that loaded.
            if shutil.which("dot"):
                page.wait_for_function(LOADED, arg="graph", timeout=60_000)
                assert "x.grad = 2569" in (page.locator("#dot").text_content() or "")
            else:
                expect(page.locator("#graph-caption")).to_contain_text("No drawing (503)")
            page.wait_for_function(LOADED, arg="plot", timeout=60_000)
            expect(page.locator("#plot-status")).to_contain_text("agree")
            expect(page.locator("#plot-status")).to_contain_text("from -1 to 5")
            page.fill("#formula", "3*(x**2+3*x+1)**2*(2*x+3)+4*(2*x+3)")
            page.press("#formula", "Enter")
            expect(page.locator("#check-result")).to_contain_text("Correct", timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "service-page.png"), full_page=True)

            # The state is in the URL: opening it again shows the same result.
            shared = page.url
            assert "expr=" in shared and "at=x%3D2" in shared, shared
            page.goto(shared)
            expect(page.locator("#verdict")).to_have_text("Verdict: agree", timeout=60_000)
            expect(page.locator("#explain")).to_contain_text("Chain rule", timeout=60_000)
            page.wait_for_function(LOADED, arg="plot", timeout=60_000)

            # The further options live in the URL too, and a malformed one is refused by name.
            page.goto(f"{server}/?expr=x**2*y&at=x%3D1,y%3D2&hessian=1&fd=central")
            expect(page.locator("#summary")).to_contain_text("hessian of", timeout=60_000)
            expect(page.locator("#summary")).to_contain_text("finite differences: central")
            assert page.locator("#more").get_attribute("open") is not None
            assert page.locator("#hessian").is_checked()
            page.locator("#hessian").uncheck()
            page.fill("#jvp", "1, oops")
            page.press("#jvp", "Enter")
            expect(page.locator("#error")).to_contain_text('JVP direction: "oops" is not a number')
            page.fill("#jvp", "1, 0, 0")
            page.press("#jvp", "Enter")
            expect(page.locator("#error")).to_contain_text("refused (422)", timeout=60_000)

            # A refused input says so, with the column.
            page.fill("#expr", "x + y.real")
            page.press("#expr", "Enter")
            expect(page.locator("#error")).to_contain_text("refused (422)", timeout=60_000)
            expect(page.locator("#error")).to_contain_text("column 5")
            expect(page.locator("#preview-status")).to_contain_text("column 5", timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "service-page-refused.png"))

            # The API docs render from the app's own Swagger UI copy, no CDN.
            page.goto(f"{server}/docs")
            expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=60_000)
            assert page.locator(".opblock").count() >= 7
            assert failed == [], failed
        finally:
            context.close()
    assert os.path.getsize(ARTIFACTS / "service-page.png") > 10_000
