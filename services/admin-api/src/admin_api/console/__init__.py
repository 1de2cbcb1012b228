"""The ops console: the admin API as server-rendered pages under /console, in the same
process. Its pages call the same repository, Requeuer, onboarding, rotation and query code
as the JSON routes; it is not part of /openapi.json (that document is the JSON API's)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from admin_api.console import calendar, dead_letters, events, mappings, properties, stays
from admin_api.console.guard import Handler, guarded
from admin_api.console.login import Login
from admin_api.console.render import redirect
from admin_api.console.session import SessionCodec
from admin_api.settings import AdminSettings

PREFIX = "/console"
STATIC = Path(__file__).parent / "static"


def console_routes(settings: AdminSettings) -> list[BaseRoute]:
    token = settings.admin_api_token.get_secret_value()
    codec = SessionCodec(token, max_age_s=settings.console_session_ttl_s)
    login = Login(codec, token)

    def get(path: str, handler: Handler, *, operator: bool = True) -> Route:
        return Route(path, guarded(codec, handler, operator=operator), methods=["GET"])

    def post(path: str, handler: Handler, *, operator: bool = True) -> Route:
        return Route(path, guarded(codec, handler, operator=operator), methods=["POST"])

    async def home(_: Request) -> Response:
        return redirect(f"{PREFIX}/events")

    pages: list[BaseRoute] = [
        Route("/", home, methods=["GET"]),
        get("/login", login.form, operator=False),
        post("/login", login.submit, operator=False),
        post("/logout", login.logout),
        get("/events", events.list_events),
        get("/events/{event_id}", events.show_event),
        get("/events/{event_id}/status", events.event_status),
        get("/events/{event_id}/retry", events.confirm_retry),
        post("/events/{event_id}/retry", events.retry_event),
        get("/dead-letters", dead_letters.list_dead_letters),
        post("/dead-letters/confirm", dead_letters.confirm),
        post("/dead-letters/retry", dead_letters.retry),
        get("/properties", properties.list_properties),
        get("/properties/new", properties.onboarding_form),
        post("/properties/new", properties.onboard),
        get("/properties/{property_id}", properties.show_property),
        get("/properties/{property_id}/mappings", mappings.mapping_form),
        post("/properties/{property_id}/mappings", mappings.save_mappings),
        get("/properties/{property_id}/rooms/{room_id}/calendar", calendar.show_calendar),
        post("/properties/{property_id}/secrets", properties.rotate_secret),
        post("/properties/{property_id}/secrets/{secret_id}/revoke", properties.revoke),
        get("/stays", stays.list_stays),
        get("/stays/{stay_id}", stays.show_stay),
        Mount("/static", StaticFiles(directory=STATIC), name="console-static"),
    ]
    return [Mount(PREFIX, routes=pages)]
