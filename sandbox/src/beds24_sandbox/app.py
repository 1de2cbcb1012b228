"""The sandbox application: Beds24 API V2 under /api/v2 (and /v2), control API under
/_sandbox/."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from beds24_sandbox.api import api_routes
from beds24_sandbox.control import control_routes
from beds24_sandbox.world import Sandbox

API_PREFIXES = ("/api/v2", "/v2")


async def _health(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(sandbox: Sandbox | None = None) -> Starlette:
    world = sandbox or Sandbox()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        world.loop = asyncio.get_running_loop()
        yield
        await world.sender.aclose()

    routes = [Route("/_sandbox/health", _health, methods=["GET"]), *control_routes()]
    for prefix in API_PREFIXES:
        routes += api_routes(prefix)
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sandbox = world
    return app
