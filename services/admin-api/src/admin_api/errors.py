"""The errors admin-api routes raise, and their one mapping to JSON answers.

    ApiError                 an answer the client should see, with its status
    ├── BadRequest           400: the request breaks /openapi.json (a parameter or body field
    │                        named in the message); the document states every such rule
    ├── Unauthorized         401: no or wrong admin token
    ├── Forbidden            403: a viewer asked for a change (recorded in the audit trail)
    ├── NotFound             404
    ├── Conflict             409: the request clashes with the current state
    ├── PayloadTooLarge      413
    ├── Unprocessable        422: well-formed (the document holds) but refused by a rule
    │                        about the data no schema can state: rooms that are not the
    │                        property's, a room mapped twice, credentials Beds24 refuses
    └── UpstreamError        502/503: Beds24 or our own infrastructure did not answer

Routing errors, Postgres unavailable (503) and the bare 500 are channel_sync.http_errors',
as in the gateway.
Beds24 client errors map here too: credentials it refuses 422 (they were the client's to
give), Beds24 down or refusing 502, credits spent 503 with Retry-After.

A client that hangs up mid-request is no error: logged at info, answered 400 (to no one).
Every other exception becomes a bare 500 `{"error": "internal error"}`: no stack trace leaves
the process; it is logged once, with a bounded traceback (see channel_sync.logging).
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime

from channel_sync.beds24 import (
    Beds24AuthError,
    Beds24CreditsExhausted,
    Beds24Rejected,
    Beds24Unavailable,
)
from channel_sync.errors import RetryAfter
from channel_sync.http_errors import HANDLERS, error_response
from channel_sync.outages import outage_of
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

logger = logging.getLogger(__name__)


class ApiError(Exception):
    status_code = 400

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers


class BadRequest(ApiError):
    status_code = 400


class Unauthorized(ApiError):
    status_code = 401


class Forbidden(ApiError):
    status_code = 403


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class PayloadTooLarge(ApiError):
    status_code = 413


class Unprocessable(ApiError):
    status_code = 422


class UpstreamError(ApiError):
    status_code = 502


class Unavailable(UpstreamError):
    status_code = 503


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.message, exc.headers)


async def _beds24_error(_: Request, exc: Exception) -> Response:
    if isinstance(exc, Beds24AuthError):
        return error_response(Unprocessable.status_code, str(exc))
    if isinstance(exc, (Beds24CreditsExhausted, RetryAfter)):  # refused, or held back by us
        wait_s = max(1, math.ceil((exc.not_before - datetime.now(UTC)).total_seconds()))
        return error_response(
            503, f"Beds24 credits exhausted; try again in {wait_s}s", {"Retry-After": str(wait_s)}
        )
    return error_response(502, f"Beds24: {exc}")


async def _client_gone(request: Request, _: Exception) -> Response:
    logger.info("client closed the connection on %s %s", request.method, request.url.path)
    return error_response(400, "client closed the connection")


def status_of(exc: BaseException) -> int:
    """The status the handlers here answer `exc` with (for the audit trail's outcome)."""
    if isinstance(exc, ApiError):
        return exc.status_code
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, Beds24AuthError):
        return Unprocessable.status_code
    if isinstance(exc, (Beds24CreditsExhausted, RetryAfter)) or outage_of(exc) is not None:
        return 503
    if isinstance(exc, (Beds24Rejected, Beds24Unavailable)):
        return 502
    if isinstance(exc, ClientDisconnect):
        return 400
    return 500


EXCEPTION_HANDLERS = {
    **HANDLERS,
    ApiError: _api_error,
    Beds24AuthError: _beds24_error,
    Beds24CreditsExhausted: _beds24_error,
    RetryAfter: _beds24_error,
    Beds24Rejected: _beds24_error,
    Beds24Unavailable: _beds24_error,
    ClientDisconnect: _client_gone,
}
# What the handlers above answer on purpose; anything else is unexpected.
ANSWERED: tuple[type[Exception], ...] = tuple(
    kind for kind in EXCEPTION_HANDLERS if kind is not Exception
)
