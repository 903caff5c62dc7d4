"""The FastAPI app: versioned JSON endpoints, the web page, and offline interactive docs.

Every endpoint that computes hands its validated request to the worker pool and answers
with what the pool says: 200 with the result, 422 for a refused input, 503 (Retry-After)
when saturated or when its worker died, 504 past the deadline. Nothing computes in this
process, so no input can take it down.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from diffcompare import __version__
from diffcompare.service.config import ServiceLimits
from diffcompare.service.models import (
    CheckRequest,
    CheckResponse,
    CompareRequest,
    CompareResponse,
    ErrorResponse,
    ExplainRequest,
    ExplainResponse,
    HealthResponse,
    ParseRequest,
    ParseResponse,
    PlotRequest,
    PlotResponse,
    SweepRequest,
    SweepResponse,
    VersionResponse,
)
from diffcompare.service.pool import Outcome, WorkerPool, error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

STATIC = files("diffcompare.service") / "static"

DRAIN_BYTES = 16 * 1024 * 1024
"""How much of a body over the limit is read (and dropped) before the 413, so that the client,
still sending, reads the answer instead of a reset connection; past this it is cut off."""

_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "The input is refused: the message says why."},
    413: {"model": ErrorResponse, "description": "The body is larger than the limit."},
    503: {
        "model": ErrorResponse,
        "description": "Saturated, or the request's worker died: try again after "
        "Retry-After; or (no Retry-After) the server lacks a program the answer needs.",
    },
    504: {"model": ErrorResponse, "description": "The deadline passed; says what was running."},
}


def create_app(limits: ServiceLimits | None = None, pool: WorkerPool | None = None) -> FastAPI:
    """The app; it starts a WorkerPool for `limits` when it starts (unless given `pool`,
    which its owner starts and closes) and closes it when it stops."""
    limits = limits or (pool.limits if pool else ServiceLimits())
    owned = pool is None
    the_pool = pool or WorkerPool(limits)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owned:
            the_pool.start()
        try:
            yield
        finally:
            if owned:
                await asyncio.to_thread(the_pool.close)

    app = FastAPI(
        title="diffcompare",
        version=__version__,
        summary="Symbolic, automatic and numerical derivatives of one expression, judged "
        "against a 50-digit reference.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.pool = the_pool
    app.state.limits = limits

    async def run(kind: str, request: Any) -> Response:
        outcome = await asyncio.wrap_future(the_pool.submit(kind, request.model_dump()))
        return answer(outcome)

    @app.post("/v1/compare", response_model=CompareResponse, responses=_ERRORS)
    async def compare(request: CompareRequest) -> Response:
        """Every method at the given (or seeded sample) points, judged against the reference:
        the same JSON as `diffcompare EXPR --json`."""
        return await run("compare", request)

    @app.post("/v1/explain", response_model=ExplainResponse, responses=_ERRORS)
    async def explain(request: ExplainRequest) -> Response:
        """The worked chain rule at one point, as text, Markdown, LaTeX, or the graph as DOT
        or drawn as SVG by Graphviz (503 where the server has no Graphviz)."""
        return await run("explain", request)

    @app.post("/v1/sweep", response_model=SweepResponse, responses=_ERRORS)
    async def sweep(request: SweepRequest) -> Response:
        """Every method at many points of a domain: the summary, not the points."""
        return await run("sweep", request)

    @app.post("/v1/plot", response_model=PlotResponse, responses=_ERRORS)
    async def plot(request: PlotRequest) -> Response:
        """The sweep's figure over a range of one variable (or a map over two): each method's
        derivative, and its error against its own bound at the referenced points; PNG
        (base64) or SVG text, with the sweep's summary."""
        return await run("plot", request)

    @app.post("/v1/check", response_model=CheckResponse, responses=_ERRORS)
    async def check(request: CheckRequest) -> Response:
        """Is `formula` the derivative of `expr` by `wrt`? Proved symbolically where SymPy
        can, else held to the 50-digit reference at seeded points."""
        return await run("check", request)

    @app.post("/v1/parse", response_model=ParseResponse, responses=_ERRORS)
    async def parse(request: ParseRequest) -> Response:
        """How the text was read: SymPy's form, LaTeX and presentation MathML."""
        return await run("parse", request)

    @app.get("/v1/health", response_model=HealthResponse, responses={503: _ERRORS[503]})
    async def health() -> Response:
        """200 once a worker is ready to compute (503 while the pool starts)."""
        stats = the_pool.stats()
        ready = stats["ready"] > 0
        body = {"status": "ok" if ready else "starting", "pool": stats}
        headers = None if ready else {"Retry-After": "1"}
        return Response(json.dumps(body), 200 if ready else 503, headers, "application/json")

    @app.get("/v1/version", response_model=VersionResponse)
    async def version() -> Response:
        """diffcompare's version, and the engine's (as its workers report them)."""
        body = {"diffcompare": __version__, "engine": the_pool.info}
        return Response(json.dumps(body), media_type="application/json")

    @app.get("/", include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="diffcompare API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        problems = list(dict.fromkeys(_problem(e) for e in error.errors()))
        body = error_body("invalid", "; ".join(problems[:5]) or "invalid request", errors=problems)
        return Response(body, 422, media_type="application/json")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        body = error_body("http", str(error.detail))
        return Response(body, error.status_code, error.headers, "application/json")

    app.add_middleware(BodyLimit, max_body=limits.max_body)
    return app


def answer(outcome: Outcome) -> Response:
    headers = {"Retry-After": str(outcome.retry_after)} if outcome.retry_after else None
    return Response(outcome.body, outcome.status, headers, "application/json")


_TYPE_TAGS = {"float", "int", "str", "bool", "list", "dict", "tuple", "none", "body"}


def _problem(error: Any) -> str:
    # pydantic names each branch of a union in the location (at.dict[str,...].x.float); a
    # reader wants the field path alone.
    path = [
        str(p)
        for p in error.get("loc", ())
        if not (isinstance(p, str) and (p in _TYPE_TAGS or "[" in p))
    ]
    return f"{'.'.join(path) or 'body'}: {error.get('msg', 'invalid')}"


class BodyLimit:
    """Refuse a body over `max_body` bytes with 413 before anything reads it, and take every
    POST body as JSON whatever its Content-Type (curl -d sends form-urlencoded)."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-type",)]
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and not declared.isdigit():
            await self._refuse(send, declared.decode("latin-1"))
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= self.max_body:
                chunks.append(chunk)
            more = message.get("more_body", False)
            if size > self.max_body and (not more or size > DRAIN_BYTES):
                await self._refuse(send, str(size) if not more else f"more than {size}")
                return
            if not more:
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        scope = dict(scope, headers=[*headers, (b"content-type", b"application/json")])
        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, size: str) -> None:
        body = error_body(
            "too_large",
            f"the request body ({size} bytes) is larger than the limit of {self.max_body} bytes",
            limit=self.max_body,
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
