"""Refusals and failures as short JSON answers, in one place; never a stack trace.

Refused(status, reason)   a request we turn down on purpose (400, 401, 404, 405, 413)
ClientGone                the client hung up mid-request: not an error, logged at info
and channel_sync.http_errors for what both HTTP services answer alike: Postgres out of reach
(channel_sync.db's one list) 503, so Beds24 retries; anything else 500 "internal error".
"""

from __future__ import annotations

from channel_sync.http_errors import HANDLERS, error_response, unexpected
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["EXCEPTION_HANDLERS", "ClientGone", "Refused", "refusal", "unexpected"]


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class ClientGone(Exception):
    """The client closed the connection before its request was read."""


refusal = error_response


async def _refused(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return refusal(exc.status, exc.reason)


EXCEPTION_HANDLERS = {**HANDLERS, Refused: _refused}
