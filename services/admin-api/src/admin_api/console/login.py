"""Logging in on a form, with an operator's secret or the admin token, and out. The secret
is checked by the same Authenticator as the API's bearer header: in constant time, never
echoed, stored in the cookie, or logged. Each login and logout is in the audit trail."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from admin_api.audit import AuditEntry, record
from admin_api.console.render import page, redirect
from admin_api.console.session import SessionStore
from admin_api.deps import deps

logger = logging.getLogger(__name__)

HOME = "/console/events"


def safe_next(value: str | None) -> str:
    """Only a console path: a crafted `next` must not send the operator elsewhere."""
    if value and value.startswith("/console/") and not value.startswith("/console//"):
        return value
    return HOME


class Login:
    def __init__(self, store: SessionStore) -> None:
        self._store = store

    async def form(self, request: Request) -> Response:
        if request.state.console_session is not None:
            return redirect(HOME)
        response = Response()  # collects the form token's cookie, copied below
        request.state.csrf = self._store.login_form_token(request, response)
        shown = page(request, "login.html", next=safe_next(request.query_params.get("next")))
        for key, value in response.raw_headers:
            if key == b"set-cookie":
                shown.raw_headers.append((key, value))
        return shown

    async def submit(self, request: Request) -> Response:
        form = await request.form()
        given = form.get("token")
        next_page = safe_next(str(form.get("next") or ""))
        d = deps(request)
        actor = await d.authenticator.actor_for(d.pool, given if isinstance(given, str) else None)
        if actor is None:
            logger.warning("console login refused: unknown or revoked secret")
            return page(
                request, "login.html", 401, next=next_page, error="That secret is not right."
            )
        token, _ = await self._store.start(d.pool, actor)
        request.state.actor = actor
        await record(
            d.pool, actor, via="console", action="session.login", entry=AuditEntry(), status=303
        )
        logger.info("console login", extra={"operator": actor.name})
        response = redirect(next_page)
        self._store.write(request, response, token)
        return response

    async def logout(self, request: Request) -> Response:
        """Ends the session at once: a copy of its cookie opens nothing afterwards."""
        session = request.state.console_session
        d = deps(request)
        await self._store.end(d.pool, session)
        await record(
            d.pool,
            session.actor,
            via="console",
            action="session.logout",
            entry=AuditEntry(),
            status=303,
        )
        logger.info("console logout", extra={"operator": session.actor.name})
        response = redirect("/console/login")
        self._store.clear(request, response)
        return response
