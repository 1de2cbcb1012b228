"""/admin/properties/{id}/mappings and the Beds24 rooms to map against."""

from __future__ import annotations

from collections import Counter
from uuid import UUID

from channel_sync.beds24 import Beds24AuthError
from channel_sync.db import Connection
from starlette.requests import Request
from starlette.responses import Response

from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.errors import BadRequest, NotFound, UpstreamError
from admin_api.onboarding import rooms_of
from admin_api.parsing import path_uuid, read_json
from admin_api.queries import mappings, properties, sync
from admin_api.schemas.properties import Beds24Rooms, Mapping, MappingList, Mappings


async def get_mappings(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    async with deps(request).pool.acquire() as conn:
        await _require_property(conn, property_id)
        return answer(await _mapping_list(conn, property_id))


async def put_mappings(request: Request) -> Response:
    """Replace every mapping of the property; each PMS room or room type must be its own."""
    property_id = path_uuid(request, "property_id")
    body = await read_json(request, Mappings)
    _check_unique(body.mappings)
    async with deps(request).pool.acquire() as conn, conn.transaction():
        if not await properties.lock(conn, property_id):
            raise NotFound(f"no property {property_id}")
        for kind in ("room", "room_type"):
            ids = [m.internal_id for m in body.mappings if m.mapping_type == kind]
            foreign = await mappings.not_of_property(conn, property_id, kind, ids)
            if foreign:
                raise BadRequest(
                    f"not a {kind} of property {property_id}: "
                    + ", ".join(str(i) for i in foreign[:10])
                )
        await mappings.replace(conn, property_id, body.mappings)
        return answer(await _mapping_list(conn, property_id))


async def beds24_rooms(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    d = deps(request)
    async with d.pool.acquire() as conn:
        link = await properties.beds24_link(conn, property_id)
        current = await mappings.list_for(conn, property_id) if link else []
    if link is None:
        raise NotFound(f"property {property_id} is not registered with Beds24")
    try:
        view = await d.beds24.look_up(
            link.refresh_token, link.beds24_property_id, account_id=link.account_id
        )
    except Beds24AuthError as exc:
        raise UpstreamError(
            f"{exc}; replace the credentials with PUT /admin/properties/{property_id}/credentials"
        ) from None
    found = view.found
    if found is None:
        raise UpstreamError(
            f"Beds24 property {link.beds24_property_id} is no longer visible "
            "with the stored credentials"
        )
    rooms = rooms_of(found)
    for room in rooms:
        room.mapped_to = [m.internal_id for m in current if m.external_id == str(room.id)]
    return answer(Beds24Rooms(beds24_property_id=link.beds24_property_id, rooms=rooms))


def _check_unique(given: list[Mapping]) -> None:
    twice = [k for k, n in Counter((m.mapping_type, m.internal_id) for m in given).items() if n > 1]
    if twice:
        raise BadRequest(f"{twice[0][0]} {twice[0][1]} is mapped more than once")
    units = [(m.external_id, m.external_unit_id) for m in given if m.external_unit_id]
    shared = [k for k, n in Counter(units).items() if n > 1]
    if shared:
        raise BadRequest(f"Beds24 unit {shared[0][1]} of room {shared[0][0]} is mapped twice")


async def _mapping_list(conn: Connection, property_id: UUID) -> MappingList:
    """The mappings; once rooms are mapped, the end of onboarding offers the initial sync."""
    found = await mappings.list_for(conn, property_id)
    offer = None
    if found and not await sync.initial_sync_done(conn, property_id):
        offer = (
            f"POST /admin/properties/{property_id}/initial-sync imports the bookings Beds24 "
            "already holds and sends the PMS's reservations and availability"
        )
    return MappingList(mappings=found, next_step=offer)


async def _require_property(conn: Connection, property_id: UUID) -> None:
    if await properties.get(conn, property_id) is None:
        raise NotFound(f"no property {property_id}")


ENDPOINTS = [
    Endpoint(
        "GET",
        "/admin/properties/{property_id}/mappings",
        get_mappings,
        "Room mappings of a property",
        response=MappingList,
        errors=(400, 404),
    ),
    Endpoint(
        "PUT",
        "/admin/properties/{property_id}/mappings",
        put_mappings,
        "Replace the room mappings of a property",
        body=Mappings,
        response=MappingList,
        errors=(400, 404),
    ),
    Endpoint(
        "GET",
        "/admin/properties/{property_id}/beds24-rooms",
        beds24_rooms,
        "The Beds24 room types of a property, with what maps to each",
        response=Beds24Rooms,
        errors=(400, 404, 502, 503),
    ),
]
