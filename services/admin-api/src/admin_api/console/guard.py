"""What stands in front of every console page: the session, the role a page needs, the CSRF
check on every change, the audit record of every action, and errors shown as pages (the
JSON API's handlers answer JSON; an operator wants words)."""

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

from admin_api.audit import audited
from admin_api.console.render import page, redirect
from admin_api.console.session import SessionStore
from admin_api.deps import deps
from admin_api.errors import ApiError
from admin_api.identity import Role

logger = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"


def guarded(
    store: SessionStore,
    handler: Handler,
    *,
    need: Role | None = Role.VIEWER,
    action: str | None = None,
) -> Handler:
    """`need`: the role the page needs (None: no session, the login page). Every change
    must carry its CSRF token in its form: the session's, or before login the login form's.
    `action`: the change is recorded in the audit trail (refused for a viewer, 403)."""

    async def endpoint(request: Request) -> Response:
        pool = deps(request).pool
        session = await store.read(pool, request)
        request.state.console_session = session
        request.state.csrf = session.csrf if session else store.login_form_token_of(request)
        if need is not None and session is None:
            if request.method in CHANGES:
                return page(request, "error.html", 401, message="Your session has ended.")
            return redirect(f"/console/login?next={quote(request.url.path)}")
        if request.method in CHANGES and not await _csrf_ok(request, request.state.csrf):
            logger.warning("console change refused: CSRF token missing or wrong")
            return page(
                request,
                "error.html",
                403,
                message="This form has expired or did not come from the console. "
                "Reload the page and try again.",
            )
        try:
            if session is not None:
                request.state.actor = session.actor
            if action is not None:
                return await audited(request, action, handler, pool=pool, via="console")
            if need is Role.OPERATOR and session is not None and not session.actor.can_change:
                return page(request, "error.html", 403, message=_viewer(session.actor.name))
            return await handler(request)
        except ApiError as exc:
            return page(request, "error.html", exc.status_code, message=exc.message)
        except Beds24Error as exc:
            return page(request, "error.html", _beds24_status(exc), message=f"Beds24: {exc}")

    return endpoint


def _viewer(name: str) -> str:
    return f"{name} is a viewer: viewers can look at everything but change nothing."


async def _csrf_ok(request: Request, expected: str | None) -> bool:
    if not expected:
        return False
    given = (await request.form()).get(CSRF_FIELD)
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def _beds24_status(exc: Beds24Error) -> int:
    if isinstance(exc, Beds24AuthError):
        return 422  # as the JSON API: the operator's credentials, refused
    if isinstance(exc, Beds24CreditsExhausted):
        return 503
    return 502
