"""Room mappings of a property, for the JSON routes and the console alike: replacing them
(each PMS room or room type its own, and only the property's own), and the Beds24 rooms to
map against (one Beds24 call)."""

from __future__ import annotations

from collections import Counter
from uuid import UUID

import asyncpg
from channel_sync.beds24 import Beds24AuthError
from channel_sync.beds24.links import link_of

from admin_api.beds24_access import Beds24Access
from admin_api.errors import NotFound, Unprocessable, UpstreamError
from admin_api.onboarding import rooms_of
from admin_api.queries import mappings, properties
from admin_api.schemas.properties import Beds24Rooms, Mapping, MappingOut


async def replace_mappings(
    pool: asyncpg.Pool, property_id: UUID, given: list[Mapping]
) -> list[MappingOut]:
    """Every mapping of the property becomes `given`; answers them as stored. A property
    that does not exist is a 404 before anything about the mappings (422) is said."""
    async with pool.acquire() as conn, conn.transaction():
        if not await properties.lock(conn, property_id):
            raise NotFound(f"no property {property_id}")
        _check_unique(given)
        for kind in ("room", "room_type"):
            ids = [m.internal_id for m in given if m.mapping_type == kind]
            foreign = await mappings.not_of_property(conn, property_id, kind, ids)
            if foreign:
                raise Unprocessable(
                    f"not a {kind} of property {property_id}: "
                    + ", ".join(str(i) for i in foreign[:10])
                )
        await mappings.replace(conn, property_id, given)
        return await mappings.list_for(conn, property_id)


async def beds24_rooms(pool: asyncpg.Pool, beds24: Beds24Access, property_id: UUID) -> Beds24Rooms:
    """The property's Beds24 room types, each with the PMS rooms mapped to it."""
    async with pool.acquire() as conn:
        link = await link_of(conn, property_id)
        current = await mappings.list_for(conn, property_id) if link else []
    if link is None:
        raise NotFound(f"property {property_id} is not registered with Beds24")
    try:
        view = await beds24.look_up(
            link.account.refresh_token, link.beds24_property_id, account_id=link.account.account_id
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
    return Beds24Rooms(beds24_property_id=link.beds24_property_id, rooms=rooms)


def _check_unique(given: list[Mapping]) -> None:
    twice = [k for k, n in Counter((m.mapping_type, m.internal_id) for m in given).items() if n > 1]
    if twice:
        raise Unprocessable(f"{twice[0][0]} {twice[0][1]} is mapped more than once")
    units = [(m.external_id, m.external_unit_id) for m in given if m.external_unit_id]
    shared = [k for k, n in Counter(units).items() if n > 1]
    if shared:
        raise Unprocessable(f"Beds24 unit {shared[0][1]} of room {shared[0][0]} is mapped twice")
