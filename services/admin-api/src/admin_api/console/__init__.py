"""The ops console: the admin API as server-rendered pages under /console, in the same
process. Its pages call the same repository, Requeuer, onboarding, rotation and query code
as the JSON routes; it is not part of /openapi.json (that document is the JSON API's)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from admin_api.auth import token_fingerprint
from admin_api.console import audit, calendar, dead_letters, events, mappings, properties, stays
from admin_api.console.guard import Handler, guarded
from admin_api.console.login import Login
from admin_api.console.render import redirect
from admin_api.console.session import SessionStore
from admin_api.identity import Role
from admin_api.settings import AdminSettings

PREFIX = "/console"
STATIC = Path(__file__).parent / "static"


def console_routes(settings: AdminSettings) -> list[BaseRoute]:
    token = settings.admin_api_token.get_secret_value()
    store = SessionStore(
        token_fingerprint(token),
        idle_s=settings.console_session_idle_s,
        max_age_s=settings.console_session_ttl_s,
        signing_key=token,
    )
    login = Login(store)

    def get(path: str, handler: Handler, *, need: Role | None = Role.VIEWER) -> Route:
        return Route(path, guarded(store, handler, need=need), methods=["GET"])

    def post(
        path: str, handler: Handler, *, action: str | None, need: Role | None = Role.OPERATOR
    ) -> Route:
        """`action`: what the audit trail calls it (None: it changes nothing by itself)."""
        return Route(path, guarded(store, handler, need=need, action=action), methods=["POST"])

    async def home(_: Request) -> Response:
        return redirect(f"{PREFIX}/events")

    pages: list[BaseRoute] = [
        Route("/", home, methods=["GET"]),
        get("/login", login.form, need=None),
        post("/login", login.submit, action=None, need=None),  # audited by Login itself
        post("/logout", login.logout, action=None, need=Role.VIEWER),  # audited by Login
        get("/events", events.list_events),
        get("/events/{event_id}", events.show_event),
        get("/events/{event_id}/status", events.event_status),
        get("/events/{event_id}/retry", events.confirm_retry, need=Role.OPERATOR),
        post("/events/{event_id}/retry", events.retry_event, action="event.retry"),
        get("/events/{event_id}/resolve", dead_letters.confirm_resolve_one, need=Role.OPERATOR),
        get("/dead-letters", dead_letters.list_dead_letters),
        post("/dead-letters/confirm", dead_letters.confirm, action=None),
        post("/dead-letters/retry", dead_letters.retry, action="events.retry_matching"),
        post("/dead-letters/resolve", dead_letters.resolve, action="events.resolve"),
        get("/properties", properties.list_properties),
        get("/properties/new", properties.onboarding_form, need=Role.OPERATOR),
        post("/properties/new", properties.onboard, action="property.register"),
        get("/properties/{property_id}", properties.show_property),
        get("/properties/{property_id}/mappings", mappings.mapping_form),
        post(
            "/properties/{property_id}/mappings",
            mappings.save_mappings,
            action="property.mappings.replace",
        ),
        get("/properties/{property_id}/rooms/{room_id}/calendar", calendar.show_calendar),
        post(
            "/properties/{property_id}/secrets",
            properties.rotate_secret,
            action="property.webhook_secret.add",
        ),
        post(
            "/properties/{property_id}/secrets/{secret_id}/revoke",
            properties.revoke,
            action="property.webhook_secret.revoke",
        ),
        get("/stays", stays.list_stays),
        get("/stays/{stay_id}", stays.show_stay),
        get("/audit", audit.list_audit),
        Mount("/static", StaticFiles(directory=STATIC), name="console-static"),
    ]
    return [Mount(PREFIX, routes=pages)]
