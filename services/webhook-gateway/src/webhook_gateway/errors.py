"""Refusals and failures as short JSON answers, in one place; never a stack trace.

Refused(status, reason)   a request we turn down on purpose (400, 401, 404, 405, 413)
ClientGone                the client hung up mid-request: not an error, logged at info
DATABASE_UNAVAILABLE      Postgres out of reach (channel_sync.db's one list) → 503, Beds24 retries
anything else             500 "internal error", logged once here with a bounded traceback
"""

from __future__ import annotations

import logging

from channel_sync.db import DATABASE_UNAVAILABLE
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

logger = logging.getLogger(__name__)


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class ClientGone(Exception):
    """The client closed the connection before its request was read."""


def refusal(status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


def unexpected(request: Request, exc: Exception) -> Response:
    """One log line (the formatter bounds the traceback) and a bare 500."""
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return refusal(500, "internal error")


async def _refused(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return refusal(exc.status, exc.reason)


async def _http_exception(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return refusal(exc.status_code, str(exc.detail), dict(exc.headers or {}))


async def _database_down(request: Request, exc: Exception) -> Response:
    logger.warning("database unavailable (%s) on %s", exc.__class__.__name__, request.url.path)
    return refusal(503, "database unavailable, retry later")


async def _internal_error(request: Request, exc: Exception) -> Response:
    return unexpected(request, exc)


EXCEPTION_HANDLERS = {
    Refused: _refused,
    HTTPException: _http_exception,
    **dict.fromkeys(DATABASE_UNAVAILABLE, _database_down),
    Exception: _internal_error,
}
