"""The `diffcompare serve` command: the HTTP service and its web page under uvicorn."""

from __future__ import annotations

import click

from diffcompare.cli.options import Command
from diffcompare.errors import UsageError
from diffcompare.service.config import DEFAULT_HOST, DEFAULT_PORT, ServiceLimits

_DEFAULTS = ServiceLimits()


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=_DEFAULTS.workers,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Worker processes: how many requests compute at once.",
)
@click.option(
    "--deadline",
    default=_DEFAULTS.deadline,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds a request may compute before its worker is killed and it is answered 504.",
)
@click.option(
    "--memory-mb",
    default=_DEFAULTS.memory_mb,
    show_default=True,
    type=click.IntRange(0, 1 << 20),
    help="Each worker's address-space cap in MiB (RLIMIT_AS); 0 for none.",
)
@click.option(
    "--queue",
    default=_DEFAULTS.queue,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Requests that may wait for a worker; more are answered 503 with Retry-After.",
)
@click.option(
    "--max-body",
    default=_DEFAULTS.max_body,
    show_default=True,
    type=click.IntRange(1, 1 << 30),
    help="Largest request body in bytes; a larger one is answered 413.",
)
def serve_command(
    host: str, port: int, workers: int, deadline: float, memory_mb: int, queue: int, max_body: int
) -> int:
    """Serve the HTTP API (/v1/compare, /v1/explain, /v1/sweep, /v1/check, /v1/parse,
    /v1/health, /v1/version), its docs (/docs) and the web page (/) on HOST:PORT.

    \b
    Example:
      diffcompare serve --port 8000 --workers 2
      curl -s localhost:8000/v1/compare -d '{"expr": "x**2+3*x", "at": [{"x": 2}]}'
    """
    try:
        import uvicorn

        from diffcompare.service.app import create_app
    except ImportError as error:
        raise UsageError(
            f"serve needs the service extra ({error.name} is missing): "
            "pip install 'diffcompare[service]'"
        ) from None
    limits = ServiceLimits(workers, deadline, memory_mb, queue, max_body)
    uvicorn.run(create_app(limits), host=host, port=port, log_level="info", access_log=False)
    return 0
