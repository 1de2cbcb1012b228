"""/admin/properties/{id}/mappings (rooms and room types to Beds24 rooms, rate plans to
Beds24 price slots) and the Beds24 rooms to map against (the rules live in
admin_api.room_mapping, shared with the console)."""

from __future__ import annotations

from uuid import UUID

from channel_sync.db import Connection
from starlette.requests import Request
from starlette.responses import Response

from admin_api import room_mapping
from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.errors import NotFound
from admin_api.parsing import path_uuid, read_json
from admin_api.queries import mappings, properties, sync
from admin_api.room_mapping import replace_mappings
from admin_api.schemas.properties import Beds24Rooms, MappingList, Mappings


async def get_mappings(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    async with deps(request).pool.acquire() as conn:
        await _require_property(conn, property_id)
        return answer(await _mapping_list(conn, property_id))


async def put_mappings(request: Request) -> Response:
    """Replace the mappings of the property. Room mappings ('room', 'room_type') are always
    replaced: the body holds all of them, and a room left out is unmapped. Rate plan
    mappings ('rate_plan': a PMS rate plan's prices in a Beds24 price slot) are replaced only
    when the body holds at least one: a client that sends room mappings alone leaves the
    price slots as they are. To unmap one rate plan, send the others; to stop sending
    prices and restrictions altogether, switch the rate plans off in the PMS
    (rate_plans.is_active).

    Each PMS room, room type or rate plan must be the property's own and mapped at most
    once; no Beds24 unit mapped twice; a rate plan goes to a price slot price1..price16 and
    a room or room type to a Beds24 room id; one rate plan per slot (else 422, and nothing
    is stored). Mapping a rate plan makes the property's prices and restrictions the PMS's
    to set: its whole calendar is sent to Beds24 from today."""
    property_id = path_uuid(request, "property_id")
    body = await read_json(request, Mappings)
    await replace_mappings(deps(request).pool, property_id, body.mappings)
    async with deps(request).pool.acquire() as conn:
        return answer(await _mapping_list(conn, property_id))


async def beds24_rooms(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    d = deps(request)
    return answer(await room_mapping.beds24_rooms(d.pool, d.beds24, property_id))


async def _mapping_list(conn: Connection, property_id: UUID) -> MappingList:
    """The mappings; once rooms are mapped, the end of onboarding offers the initial sync."""
    found = await mappings.list_for(conn, property_id)
    offer = None
    rooms_mapped = any(m.mapping_type in mappings.ROOM_KINDS for m in found)
    if rooms_mapped and not await sync.initial_sync_done(conn, property_id):
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
        "Room and rate plan mappings of a property",
        response=MappingList,
        errors=(400, 404),
    ),
    Endpoint(
        "PUT",
        "/admin/properties/{property_id}/mappings",
        put_mappings,
        "Replace the room (and rate plan) mappings of a property",
        body=Mappings,
        response=MappingList,
        errors=(400, 404, 422),
        action="property.mappings.replace",
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
