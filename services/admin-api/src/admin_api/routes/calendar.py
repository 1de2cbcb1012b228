"""/admin/properties/{id}/calendar: one Beds24 room's calendar, the PMS's side beside
Beds24's, night by night (the comparison lives in admin_api.room_calendar, shared with the
console)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.parsing import parse_query, path_uuid
from admin_api.room_calendar import room_calendar
from admin_api.schemas.calendar import CalendarQuery, RoomCalendar


async def get_calendar(request: Request) -> Response:
    """Per night from `from` to `to` (inclusive; the longest span: see `to`): the PMS's
    side (free units and what is sent as numAvail; where the property manages rates and
    restrictions, the price of each mapped slot with its rate plan, minStay, maxStay and
    override) beside what Beds24's calendar shows (ONE Beds24 call, every include flag), and
    the fields that differ, as a reconciliation compares them. 404: no such property, the
    property is not registered with Beds24, or no PMS room of it is sold as `room_id`; 422:
    the range, or the room's PMS rooms are of several room types; 502/503: Beds24 refused
    (e.g. the stored credentials) or did not answer, or its credits are spent."""
    property_id = path_uuid(request, "property_id")
    query = parse_query(request, CalendarQuery)
    d = deps(request)
    found = await room_calendar(
        d.pool, d.beds24, property_id, query.room_id, query.start, query.end
    )
    return answer(found)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/admin/properties/{property_id}/calendar",
        get_calendar,
        "One Beds24 room's calendar: the PMS's values beside Beds24's, and what differs",
        query=CalendarQuery,
        response=RoomCalendar,
        errors=(400, 404, 422, 502, 503),
    ),
]
