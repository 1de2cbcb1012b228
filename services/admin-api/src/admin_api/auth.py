"""Who is calling: the bearer guard for everything under /admin, and the one check of a
secret (an operator's, or the admin token) that the API and the console login share.

It is middleware rather than a per-route decorator so that a route added later cannot be
left unprotected, and so that unknown /admin paths answer 401 without revealing what exists.
What a caller may do once known (viewer or operator) is decided per route: see
admin_api.audit.audited. Secrets are compared in constant time and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

import asyncpg
from channel_sync.bearer import bearer_token
from channel_sync.http_errors import error_response
from channel_sync.outages import outage_of
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from admin_api.identity import ADMIN_TOKEN, Actor
from admin_api.operator_secrets import SecretChecker, key_id_of
from admin_api.queries import operators

logger = logging.getLogger(__name__)

PROTECTED_PREFIX = "/admin"
# Longer than any secret we hand out or accept as the admin token is refused unread.
MAX_SECRET_CHARS = 512


def is_protected(path: str) -> bool:
    return path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")


def token_fingerprint(admin_token: str) -> str:
    """Names the admin token in force (console sessions of the token end when it changes);
    a hash, so the token itself is never stored."""
    return hashlib.sha256(b"console-admin-token\0" + admin_token.encode()).hexdigest()


class Authenticator:
    def __init__(self, admin_token: str) -> None:
        self._admin_token = admin_token.encode()
        self._checker = SecretChecker()

    async def actor_for(self, pool: asyncpg.Pool, given: str | None) -> Actor | None:
        """The identity `given` proves: the admin token, an operator not revoked, or None."""
        if not given or len(given) > MAX_SECRET_CHARS:
            return None
        if hmac.compare_digest(given.encode(), self._admin_token):
            return ADMIN_TOKEN
        key_id = key_id_of(given)
        if key_id is None:
            return None
        async with pool.acquire() as conn:
            found = await operators.active_by_key(conn, key_id)
        if not self._checker.matches(given, found[1] if found else None) or found is None:
            return None
        row = found[0]
        return Actor(row.name, row.role, row.id)


class AdminAuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_protected(scope["path"]):
            await self._app(scope, receive, send)
            return
        given = bearer_token(Headers(scope=scope).get("authorization"))
        deps = scope.get("state", {}).get("deps")
        try:
            actor = await deps.authenticator.actor_for(deps.pool, given) if deps else None
        except Exception as exc:
            outage = outage_of(exc)
            if outage is None:
                raise
            logger.warning("%s unavailable while checking a caller's secret", outage)
            await error_response(503, f"{outage} unavailable, retry later")(scope, receive, send)
            return
        if actor is None:
            response = error_response(
                401, "missing or invalid admin token", {"WWW-Authenticate": "Bearer"}
            )
            await response(scope, receive, send)
            return
        scope["state"]["actor"] = actor
        await self._app(scope, receive, send)
