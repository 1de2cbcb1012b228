"""Bearer-token guard for everything under /admin.

It is middleware rather than a per-route decorator so that a route added later cannot be
left unprotected, and so that unknown /admin paths answer 401 without revealing what exists.
"""

from __future__ import annotations

import hmac

from channel_sync.bearer import bearer_token
from channel_sync.http_errors import error_response
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

PROTECTED_PREFIX = "/admin"


def is_protected(path: str) -> bool:
    return path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")


class AdminAuthMiddleware:
    def __init__(self, app: ASGIApp, *, token: str) -> None:
        self._app = app
        self._expected = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_protected(scope["path"]) and not self._allowed(scope):
            response = error_response(
                401, "missing or invalid admin token", {"WWW-Authenticate": "Bearer"}
            )
            await response(scope, receive, send)
            return
        await self._app(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        given = bearer_token(Headers(scope=scope).get("authorization"))
        # compare_digest on bytes: constant time whatever the given token looks like.
        return given is not None and hmac.compare_digest(given.encode(), self._expected)
