"""Process entry points, one home for all four services: settings read from the
environment (a missing or bad value exits naming its variable, before anything starts),
JSON logging, then either a worker's loops until SIGTERM or an HTTP app under uvicorn."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import uvicorn
import uvloop
from pydantic import ValidationError
from starlette.types import ASGIApp

from channel_sync.logging import configure_logging
from channel_sync.runtime import stop_on_signals
from channel_sync.settings import CommonSettings
from channel_sync.worker import LoopEnded

S = TypeVar("S", bound=CommonSettings)


def load_settings(settings_type: type[S], service: str) -> S:
    """Settings from the environment; a missing or bad value exits naming its variable."""
    try:
        return settings_type()
    except ValidationError as exc:
        lines = [
            f"{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise SystemExit(f"{service} cannot start:\n  " + "\n  ".join(lines)) from None


def run_worker(
    service: str,
    settings_type: type[S],
    run: Callable[[S, asyncio.Event], Awaitable[None]],
) -> None:
    """Run a worker until SIGTERM/SIGINT; a loop that ended for good exits 1 (it is logged
    already) so that the orchestrator restarts the process."""
    settings = load_settings(settings_type, service)
    configure_logging(settings.log_level, service=service)

    async def main() -> None:
        await run(settings, stop_on_signals())

    try:
        # uvloop, as uvicorn runs the HTTP services: the workers' time goes to socket I/O
        # (asyncpg, aiormq), which it does in C.
        uvloop.run(main())
    except LoopEnded:
        sys.exit(1)


class Served(Protocol):
    """What serving needs from a service's settings."""

    log_level: str
    http_host: str
    http_port: int


def serve_http(
    service: str, settings: Served, app: ASGIApp, *, graceful_s: int | None = None
) -> None:
    """Serve an app with uvicorn on the settings' HTTP_HOST:HTTP_PORT: our JSON logging
    (not uvicorn's), no access log (routes log what matters once), no Server header."""
    configure_logging(settings.log_level, service=service)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=graceful_s,
    )
