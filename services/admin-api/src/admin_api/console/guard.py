"""What stands in front of every console page: the session, the CSRF check on every change,
and errors shown as pages (the JSON API's handlers answer JSON; an operator wants words)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from channel_sync.beds24.errors import (
    Beds24AuthError,
    Beds24CreditsExhausted,
    Beds24Error,
)
from starlette.requests import Request
from starlette.responses import Response

from admin_api.console.render import page, redirect
from admin_api.console.session import Session, SessionCodec
from admin_api.errors import ApiError

logger = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"


def guarded(codec: SessionCodec, handler: Handler, *, operator: bool = True) -> Handler:
    """`operator`: the page needs a logged-in session (the login page itself does not).
    Every change must carry the session's CSRF token in its form, logged in or not."""

    async def endpoint(request: Request) -> Response:
        session = codec.read(request)
        request.state.console_session = session
        if operator and not (session and session.operator):
            if request.method in CHANGES:
                return page(request, "error.html", 401, message="Your session has ended.")
            return redirect(f"/console/login?next={quote(request.url.path)}")
        if request.method in CHANGES and not await _csrf_ok(request, session):
            logger.warning("console change refused: CSRF token missing or wrong")
            return page(
                request,
                "error.html",
                403,
                message="This form has expired or did not come from the console. "
                "Reload the page and try again.",
            )
        try:
            return await handler(request)
        except ApiError as exc:
            return page(request, "error.html", exc.status_code, message=exc.message)
        except Beds24Error as exc:
            return page(request, "error.html", _beds24_status(exc), message=f"Beds24: {exc}")

    return endpoint


async def _csrf_ok(request: Request, session: Session | None) -> bool:
    if session is None:
        return False
    given = (await request.form()).get(CSRF_FIELD)
    return isinstance(given, str) and hmac.compare_digest(given.encode(), session.csrf.encode())


def _beds24_status(exc: Beds24Error) -> int:
    if isinstance(exc, Beds24AuthError):
        return 422  # as the JSON API: the operator's credentials, refused
    if isinstance(exc, Beds24CreditsExhausted):
        return 503
    return 502
