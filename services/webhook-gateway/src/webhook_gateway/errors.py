"""Refusals and failures as short JSON answers, in one place; never a stack trace.

Refused(status, reason)   a request we turn down on purpose (400, 401, 404, 413, 503)
DATABASE_DOWN             exceptions meaning Postgres is out of reach → 503, Beds24 retries
anything else             500 "internal error" (logged here with its traceback)
"""

from __future__ import annotations

import logging

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

logger = logging.getLogger(__name__)

DATABASE_DOWN: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InsufficientResourcesError,
)


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _answer(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


async def _refused(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return _answer(exc.status, exc.reason)


async def _http_exception(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _answer(exc.status_code, str(exc.detail))


async def _database_down(request: Request, exc: Exception) -> Response:
    logger.warning("database unavailable (%s) on %s", exc.__class__.__name__, request.url.path)
    return _answer(503, "database unavailable, retry later")


async def _internal_error(request: Request, exc: Exception) -> Response:
    logger.error("unexpected error on %s", request.url.path, exc_info=exc)
    return _answer(500, "internal error")


EXCEPTION_HANDLERS = {
    Refused: _refused,
    HTTPException: _http_exception,
    **dict.fromkeys(DATABASE_DOWN, _database_down),
    Exception: _internal_error,
}
