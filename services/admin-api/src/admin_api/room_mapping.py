"""Room and rate plan mappings of a property, for the JSON routes and the console alike:
replacing them (each PMS room, room type or rate plan its own, and only the property's own;
each rate plan on one of Beds24's price slots, one plan per slot), and the Beds24 rooms to
map against (one Beds24 call)."""

from __future__ import annotations

from collections import Counter
from uuid import UUID

import asyncpg
from channel_sync.beds24 import Beds24AuthError
from channel_sync.beds24.links import link_of
from channel_sync.pms_calendar import PRICE_SLOTS

from admin_api.beds24_access import Beds24Access
from admin_api.errors import NotFound, Unprocessable, UpstreamError
from admin_api.onboarding import rooms_of
from admin_api.queries import mappings, properties
from admin_api.schemas.properties import Beds24Rooms, Mapping, MappingOut


async def replace_mappings(
    pool: asyncpg.Pool,
    property_id: UUID,
    given: list[Mapping],
    *,
    replace_rate_plans: bool | None = None,
) -> list[MappingOut]:
    """The property's room mappings become those of `given`, and its rate plan mappings
    too when `given` holds any (or `replace_rate_plans` says so either way: the console's
    form, which shows every rate plan); answers them as stored. A property that does not
    exist is a 404 before anything about the mappings (422) is said; nothing is stored
    when anything is refused."""
    if replace_rate_plans is None:
        replace_rate_plans = any(m.mapping_type == mappings.RATE_PLAN for m in given)
    kinds = (*mappings.ROOM_KINDS, *((mappings.RATE_PLAN,) if replace_rate_plans else ()))
    async with pool.acquire() as conn, conn.transaction():
        if not await properties.lock(conn, property_id):
            raise NotFound(f"no property {property_id}")
        _check_unique(given)
        _check_external_ids(given)
        for kind in (*mappings.ROOM_KINDS, mappings.RATE_PLAN):
            ids = [m.internal_id for m in given if m.mapping_type == kind]
            foreign = await mappings.not_of_property(conn, property_id, kind, ids)
            if foreign:
                raise Unprocessable(
                    f"not a {kind} of property {property_id}: "
                    + ", ".join(str(i) for i in foreign[:10])
                )
        try:
            await mappings.replace(conn, property_id, given, kinds)
        except asyncpg.UniqueViolationError:
            # Only a rate plan mapped meanwhile outside this API can get here.
            raise Unprocessable(
                "a Beds24 price slot would hold two rate plans; map each slot once"
            ) from None
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
    slots = Counter(m.external_id for m in given if m.mapping_type == mappings.RATE_PLAN)
    taken = sorted(slot for slot, n in slots.items() if n > 1)
    if taken:
        raise Unprocessable(
            f"Beds24 price slot {taken[0]} is given to {slots[taken[0]]} rate plans: one rate "
            "plan per slot (their prices would overwrite each other)"
        )


def _check_external_ids(given: list[Mapping]) -> None:
    """A rate plan goes to one of Beds24's price slots, a room or room type to a Beds24
    room; said here, before the database's own checks could refuse it less clearly."""
    for n, m in enumerate(given):
        if m.mapping_type == mappings.RATE_PLAN:
            if m.external_id not in PRICE_SLOTS:
                raise Unprocessable(
                    f"mappings.{n}: rate plan {m.internal_id} must be mapped to a Beds24 price "
                    f"slot, {PRICE_SLOTS[0]}..{PRICE_SLOTS[-1]}, not {m.external_id!r}"
                )
            if m.external_unit_id is not None:
                raise Unprocessable(
                    f"mappings.{n}: a rate_plan mapping has no Beds24 unit (external_unit_id)"
                )
        elif not m.external_id.isdigit():
            raise Unprocessable(
                f"mappings.{n}: a {m.mapping_type} is mapped to a Beds24 room id, not "
                f"{m.external_id!r} (price slots take rate plans)"
            )
