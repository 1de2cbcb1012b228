"""Inventory and property paths: calendar GET and POST, availability, properties."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from beds24_sandbox import credits, inventory
from beds24_sandbox.pipeline import Answer, Call, Refused, flag, int_list, paged, query_date


def get_calendar(call: Call) -> Answer:
    assert call.account is not None
    state = call.sandbox.state
    room_ids = int_list(call, "roomId")
    property_ids = int_list(call, "propertyId")
    if not {"startDate", "endDate"} <= {key for key, _ in call.query}:
        raise Refused(400, "startDate and endDate are required")  # as the official file says
    start = query_date(call, "startDate", date.today())
    end = query_date(call, "endDate", start)
    if end < start or (end - start).days > 3 * 366:
        raise Refused(400, "endDate must be on or after startDate, within three years")
    flags = {k for k, v in call.query if k.startswith("include") and v.lower() in ("true", "1")}
    rooms = [
        r
        for p in state.properties_of(call.account.id)
        for r in p.rooms.values()
        if (not room_ids or r.id in room_ids)
        and (not property_ids or r.property_id in property_ids)
    ]
    data = []
    for room in rooms:
        days = [
            (
                start + timedelta(days=i),
                inventory.day_values(state, room, start + timedelta(days=i), flags),
            )
            for i in range((end - start).days + 1)
        ]
        calendar = inventory.compress(days) if flags else []
        data.append({"roomId": room.id, "propertyId": room.property_id, "calendar": calendar})
    return paged(call, "calendar", data)


def post_calendar(call: Call) -> Answer:
    assert call.account is not None and call.items is not None
    results = [
        inventory.apply_calendar_item(call.sandbox.state, item, call.account.id)
        for item in call.items
    ]
    return Answer(201, results, cost=credits.write_cost(len(call.items)))


def get_availability(call: Call) -> Answer:
    assert call.account is not None
    state = call.sandbox.state
    room_ids = int_list(call, "roomId")
    property_ids = int_list(call, "propertyId")
    start = query_date(call, "startDate", date.today())
    end = query_date(call, "endDate", start)  # the last night, not the check-out day
    if end < start or (end - start).days > 3 * 366:
        raise Refused(400, "endDate must be on or after startDate, within three years")
    data = []
    for prop in state.properties_of(call.account.id):
        if property_ids and prop.id not in property_ids:
            continue
        for room in prop.rooms.values():
            if room_ids and room.id not in room_ids:
                continue
            days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
            data.append(
                {
                    "roomId": room.id,
                    "propertyId": prop.id,
                    "name": room.name,
                    "availability": {
                        d.isoformat(): inventory.num_avail(state, room, d) > 0 for d in days
                    },
                }
            )
    return paged(call, "availability", data)


# -- properties -----------------------------------------------------------------------------
def get_properties(call: Call) -> Answer:
    assert call.account is not None
    ids = int_list(call, "id")
    room_ids = int_list(call, "roomId")
    with_rooms = flag(call, "includeAllRooms")
    data = []
    for prop in call.sandbox.state.properties_of(call.account.id):
        if ids and prop.id not in ids:
            continue
        if room_ids and not room_ids & set(prop.rooms):
            continue
        shown: dict[str, Any] = {
            "id": prop.id,
            "name": prop.name,
            "propertyType": "hotel",
            "currency": prop.currency,
        }
        if with_rooms:
            shown["roomTypes"] = [
                r.public() for r in prop.rooms.values() if not room_ids or r.id in room_ids
            ]
        data.append(shown)
    return paged(call, "property", data)


async def properties_rooms(_: Request) -> Response:
    # Pitfall seen live: this path answers a bare 500.
    return PlainTextResponse("Internal Server Error", status_code=500)
