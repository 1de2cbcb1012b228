"""/healthz, /readyz and /metrics for every service; workers serve them on a small port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
# Names of the parts that no longer turn (empty: alive).
LivenessCheck = Callable[[], list[str]]


def health_routes(readiness: ReadinessCheck, liveness: LivenessCheck | None = None) -> list[Route]:
    async def healthz(_: Request) -> Response:
        stuck = liveness() if liveness is not None else []
        if stuck:
            return JSONResponse({"status": "stuck", "stuck": stuck}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        checks = await readiness()
        stuck = liveness() if liveness is not None else []
        if liveness is not None:
            checks["progress"] = not stuck
        ready = all(checks.values())
        body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": checks}
        if stuck:
            body["stuck"] = stuck
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server inside a process that handles its own signals (the workers drain
    their consumers on SIGTERM first, then stop this server)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def health_server(
    readiness: ReadinessCheck,
    *,
    host: str,
    port: int,
    liveness: LivenessCheck | None = None,
) -> EmbeddedServer:
    """A uvicorn server with only the health routes (for the workers)."""
    app = Starlette(routes=health_routes(readiness, liveness))
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="off"
    )
    return EmbeddedServer(config)


async def serve_until(server: uvicorn.Server, stop: asyncio.Event) -> None:
    task = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await task
