"""The Beds24 API V2 routes (see README for what each path does)."""

from __future__ import annotations

from starlette.routing import Route

from beds24_sandbox import (
    api_auth,
    api_bookings,
    api_inventory,
)
from beds24_sandbox.pipeline import route


def api_routes(prefix: str) -> list[Route]:
    return [
        route("/authentication/setup", "GET", api_auth.auth_setup, auth=False, prefix=prefix),
        route("/authentication/token", "GET", api_auth.auth_token, auth=False, prefix=prefix),
        route("/authentication/token", "DELETE", api_auth.auth_revoke, auth=False, prefix=prefix),
        route("/authentication/details", "GET", api_auth.auth_details, auth=False, prefix=prefix),
        route("/bookings", "GET", api_bookings.get_bookings, prefix=prefix),
        route("/bookings", "POST", api_bookings.post_bookings, write=True, prefix=prefix),
        route("/bookings", "DELETE", api_bookings.delete_bookings, prefix=prefix),
        route("/inventory/rooms/calendar", "GET", api_inventory.get_calendar, prefix=prefix),
        route(
            "/inventory/rooms/calendar",
            "POST",
            api_inventory.post_calendar,
            write=True,
            prefix=prefix,
        ),
        route(
            "/inventory/rooms/availability", "GET", api_inventory.get_availability, prefix=prefix
        ),
        Route(prefix + "/properties/rooms", api_inventory.properties_rooms, methods=["GET"]),
        route("/properties", "GET", api_inventory.get_properties, prefix=prefix),
    ]
