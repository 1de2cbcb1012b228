"""Request body size limit for every route: declared lengths are refused up front, streamed
bodies are cut off as soon as they pass the limit."""

from __future__ import annotations

from channel_sync.http_errors import error_response
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin_api.errors import PayloadTooLarge


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self._app = app
        self._max = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if _too_large(declared, self._max):
            await self._refuse(scope, receive, send)
            return
        await self._app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self._max:
                # Raised inside the route's body read; the error handlers answer 413.
                raise PayloadTooLarge(f"request body larger than {self._max} bytes")
            return message

        return counted

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, f"request body larger than {self._max} bytes")
        await response(scope, receive, send)


def _too_large(declared: str | None, limit: int) -> bool:
    """A declared length over the limit (digits only; a longer string of them is over it)."""
    if declared is None or not (declared.isascii() and declared.isdigit()):
        return False
    return len(declared) > 18 or int(declared) > limit
