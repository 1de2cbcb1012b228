"""/admin/stays: multi-room stays with their rooms and events; /admin/reservations/{id}: one
reservation (a room) with the stay it belongs to."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.errors import NotFound
from admin_api.parsing import parse_query, path_uuid
from admin_api.queries import stays
from admin_api.schemas.stays import ListStaysQuery, ReservationStay, StayDetail, StayList


async def list_stays(request: Request) -> Response:
    query = parse_query(request, ListStaysQuery)
    found = await deps(request).query(stays.listing, query.property_id, query.limit)
    return answer(StayList(stays=found))


async def get_stay(request: Request) -> Response:
    stay_id = path_uuid(request, "stay_id")
    found = await deps(request).query(stays.detail, stay_id)
    if found is None:
        raise NotFound(f"no stay {stay_id}")
    return answer(found)


async def get_reservation(request: Request) -> Response:
    reservation_id = path_uuid(request, "reservation_id")
    found = await deps(request).query(stays.of_reservation, reservation_id)
    if found is None:
        raise NotFound(f"no reservation {reservation_id}")
    room, property_id, stay = found
    return answer(ReservationStay(room=room, property_id=property_id, stay=stay))


ENDPOINTS = [
    Endpoint(
        "GET",
        "/admin/stays",
        list_stays,
        "List multi-room stays, newest first",
        query=ListStaysQuery,
        response=StayList,
        errors=(400,),
    ),
    Endpoint(
        "GET",
        "/admin/stays/{stay_id}",
        get_stay,
        "One stay: its rooms (which Beds24 booking each came from) and their events",
        response=StayDetail,
        errors=(400, 404),
    ),
    Endpoint(
        "GET",
        "/admin/reservations/{reservation_id}",
        get_reservation,
        "One reservation (a room) and the stay it belongs to",
        response=ReservationStay,
        errors=(400, 404),
    ),
]
