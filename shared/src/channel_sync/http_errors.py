"""The answers both HTTP services (webhook gateway, admin-api) give to errors they share, in
one place: a short JSON `{"error": reason}`, never a stack trace.

    HTTPException           its status and detail (404, 405 from routing)
    an outage               Postgres or RabbitMQ out of reach (channel_sync.outages, the one
                            map) -> 503 naming which
    anything else           500 "internal error", logged once with a bounded traceback

Each service adds its own refusals to `HANDLERS` (see their errors.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channel_sync.outages import BROKER_UNAVAILABLE, DATABASE_UNAVAILABLE, outage_of

logger = logging.getLogger(__name__)

Handler = Callable[[Request, Exception], Awaitable[Response]]


def error_response(status: int, reason: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


def unexpected(request: Request, exc: Exception) -> Response:
    """One log line (the formatter bounds the traceback) and a bare 500."""
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error")


async def _http_exception(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail), dict(exc.headers or {}))


async def database_unavailable(request: Request, exc: BaseException) -> Response:
    logger.warning("database unavailable (%s) on %s", exc.__class__.__name__, request.url.path)
    return error_response(503, "database unavailable, retry later")


async def service_unavailable(request: Request, exc: Exception) -> Response:
    """503 naming the server that is out of reach; an error of neither is a 500."""
    outage = outage_of(exc)
    if outage is None:
        return unexpected(request, exc)
    logger.warning("%s unavailable (%s) on %s", outage, exc.__class__.__name__, request.url.path)
    return error_response(503, f"{outage} unavailable, retry later")


async def _unexpected(request: Request, exc: Exception) -> Response:
    return unexpected(request, exc)


HANDLERS: dict[type[Exception], Handler] = {
    HTTPException: _http_exception,
    **dict.fromkeys(
        (k for k in (*DATABASE_UNAVAILABLE, *BROKER_UNAVAILABLE) if issubclass(k, Exception)),
        service_unavailable,
    ),
    Exception: _unexpected,
}
