"""Logging in with the admin token on a form, and out. The token is compared in constant
time and never echoed, stored in the cookie, or logged."""

from __future__ import annotations

import hmac
import logging

from starlette.requests import Request
from starlette.responses import Response

from admin_api.console.render import page, redirect
from admin_api.console.session import Session, SessionCodec

logger = logging.getLogger(__name__)

HOME = "/console/events"


def safe_next(value: str | None) -> str:
    """Only a console path: a crafted `next` must not send the operator elsewhere."""
    if value and value.startswith("/console/") and not value.startswith("/console//"):
        return value
    return HOME


class Login:
    def __init__(self, codec: SessionCodec, admin_token: str) -> None:
        self._codec = codec
        self._expected = admin_token.encode()

    async def form(self, request: Request) -> Response:
        session = request.state.console_session
        if session and session.operator:
            return redirect(HOME)
        # An anonymous session carries the CSRF token the login form itself needs.
        session = session or Session.fresh(operator=False)
        request.state.console_session = session
        response = page(request, "login.html", next=safe_next(request.query_params.get("next")))
        self._codec.write(request, response, session)
        return response

    async def submit(self, request: Request) -> Response:
        form = await request.form()
        given = form.get("token")
        next_page = safe_next(str(form.get("next") or ""))
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), self._expected):
            logger.warning("console login refused: wrong admin token")
            return page(
                request, "login.html", 401, next=next_page, error="That token is not right."
            )
        logger.info("console login")
        response = redirect(next_page)
        self._codec.write(request, response, Session.fresh(operator=True))
        return response

    async def logout(self, request: Request) -> Response:
        logger.info("console logout")
        response = redirect("/console/login")
        self._codec.clear(request, response)
        return response
