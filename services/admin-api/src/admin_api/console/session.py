"""The console's session, kept in Postgres: the cookie holds only a random token; the row
(keyed by the token's SHA-256) holds who logged in, the session's CSRF token and its
timeouts. Logout deletes the row, revoking the operator deletes theirs, and every read
checks the idle and absolute timeouts: a copy of the cookie is worthless once any of these
has happened. The CSRF token is never in the cookie, so a copied cookie alone cannot post.

Before login there is no session: the login form's CSRF token is a signed, expiring cookie
(itsdangerous) of its own, checked by the guard like a session's.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import asyncpg
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from admin_api.identity import Actor
from admin_api.queries import sessions

COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
PATH = "/console"
LOGIN_FORM_MAX_AGE_S = 3600


@dataclass(frozen=True)
class Session:
    session_id: str  # the SHA-256 of the cookie's token
    csrf: str
    actor: Actor


def _session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(
        self, token_fingerprint: str, *, idle_s: int, max_age_s: int, signing_key: str
    ) -> None:
        self._token_fingerprint = token_fingerprint
        self.idle_s = idle_s
        self.max_age_s = max_age_s
        key = hashlib.sha256(b"console-login-form\0" + signing_key.encode()).hexdigest()
        self._login_forms = URLSafeTimedSerializer(key, salt="console-login")

    async def start(self, pool: asyncpg.Pool, actor: Actor) -> tuple[str, Session]:
        """A new session (a new token and CSRF token at each login: one planted before it
        is worthless); answers the cookie's token and the session."""
        token = secrets.token_urlsafe(32)
        session = Session(_session_id(token), secrets.token_urlsafe(32), actor)
        async with pool.acquire() as conn:
            await sessions.prune(conn, idle_s=self.idle_s)
            await sessions.create(
                conn,
                session.session_id,
                operator_id=actor.operator_id,
                token_fingerprint=None if actor.operator_id else self._token_fingerprint,
                csrf=session.csrf,
                max_age_s=self.max_age_s,
            )
        return token, session

    async def read(self, pool: asyncpg.Pool, request: Request) -> Session | None:
        token = request.cookies.get(COOKIE)
        if not token or len(token) > 100:
            return None
        session_id = _session_id(token)
        async with pool.acquire() as conn:
            live = await sessions.touch(
                conn,
                session_id,
                idle_s=self.idle_s,
                token_fingerprint=self._token_fingerprint,
            )
        return None if live is None else Session(session_id, live.csrf, live.actor)

    async def end(self, pool: asyncpg.Pool, session: Session) -> None:
        async with pool.acquire() as conn:
            await sessions.end(conn, session.session_id)

    def write(self, request: Request, response: Response, token: str) -> None:
        self._set(request, response, COOKIE, token, self.max_age_s)

    def clear(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            COOKIE, path=PATH, httponly=True, samesite="strict", secure=_https(request)
        )

    # The login form's CSRF token, before any session exists.

    def login_form_token(self, request: Request, response: Response) -> str:
        """The form's token, kept if the browser holds a valid one (two tabs agree)."""
        current = self.login_form_token_of(request)
        if current is not None:
            return current
        token = secrets.token_urlsafe(32)
        signed = self._login_forms.dumps(token)
        self._set(request, response, LOGIN_COOKIE, signed, LOGIN_FORM_MAX_AGE_S)
        return token

    def login_form_token_of(self, request: Request) -> str | None:
        raw = request.cookies.get(LOGIN_COOKIE)
        if not raw:
            return None
        try:
            return str(self._login_forms.loads(raw, max_age=LOGIN_FORM_MAX_AGE_S))
        except BadSignature:  # forged or expired
            return None

    def _set(self, request: Request, response: Response, name: str, value: str, age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=age,
            path=PATH,
            httponly=True,
            samesite="strict",
            secure=_https(request),
        )


def _https(request: Request) -> bool:
    return request.url.scheme == "https"
