"""The console's session: a signed, expiring cookie (itsdangerous) holding a session id, the
CSRF token of that session and whether the operator logged in.

Nothing secret is inside (the admin token never is): the signature stops forgery, the
timestamp makes it expire. The signing key is derived from the admin token, so rotating the
token ends every console session.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "console_session"
PATH = "/console"


@dataclass(frozen=True)
class Session:
    sid: str
    csrf: str
    operator: bool  # logged in with the admin token

    @classmethod
    def fresh(cls, *, operator: bool) -> Session:
        # A new id and CSRF token at each login: a session planted before it is worthless.
        return cls(secrets.token_urlsafe(16), secrets.token_urlsafe(32), operator)


class SessionCodec:
    def __init__(self, admin_token: str, *, max_age_s: int) -> None:
        key = hashlib.sha256(b"console-session\0" + admin_token.encode()).hexdigest()
        self._serializer = URLSafeTimedSerializer(key, salt="console-session")
        self.max_age_s = max_age_s

    def read(self, request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=self.max_age_s)
            return Session(str(data["sid"]), str(data["csrf"]), bool(data["operator"]))
        except (BadSignature, KeyError, TypeError):  # forged, expired or malformed
            return None

    def write(self, request: Request, response: Response, session: Session) -> None:
        value = self._serializer.dumps(
            {"sid": session.sid, "csrf": session.csrf, "operator": session.operator}
        )
        response.set_cookie(
            COOKIE,
            value,
            max_age=self.max_age_s,
            path=PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def clear(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            COOKIE,
            path=PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
