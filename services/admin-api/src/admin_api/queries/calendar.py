"""What a Beds24 room's calendar page reads besides `channel_sync.pms_calendar` and
`channel_sync.pms_availability` (the one home of the values themselves): the property's
mapped Beds24 rooms, its price slots with their rate plans, and a room's calendar events."""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

from channel_sync.db import Connection

from admin_api.queries.events import ADMIN_COLUMNS, event_of
from admin_api.schemas.calendar import RatePlanSlot
from admin_api.schemas.events import EventSummary

# Every column an AdminEvent has: a summary also says its tries and any resolution.
_EVENT_COLUMNS = ADMIN_COLUMNS


@dataclass(frozen=True)
class MappedRoom:
    """A Beds24 room the property's PMS rooms are sold as."""

    beds24_room_id: str
    units: int  # active PMS rooms
    rooms: list[str]  # their names

    @property
    def has_calendar(self) -> bool:
        """A Beds24 room id (digits) with active PMS rooms: its calendar can be compared."""
        return self.units > 0 and re.fullmatch(r"[1-9][0-9]{0,18}", self.beds24_room_id) is not None


async def mapped_rooms(conn: Connection, property_id: UUID) -> list[MappedRoom]:
    records = await conn.fetch(
        """SELECT m.beds24_room_id, count(*) FILTER (WHERE m.is_active) AS units,
                  array_agg(r.name ORDER BY r.name) FILTER (WHERE m.is_active) AS rooms
           FROM channel_sync_room_map m JOIN rooms r ON r.id = m.room_id
           WHERE m.property_id = $1
           GROUP BY m.beds24_room_id
           ORDER BY length(m.beds24_room_id), m.beds24_room_id""",
        property_id,
    )
    return [
        MappedRoom(r["beds24_room_id"], int(r["units"]), list(r["rooms"] or [])) for r in records
    ]


async def is_mapped(conn: Connection, property_id: UUID, beds24_room_id: str) -> bool:
    """Whether an active PMS room of the property is sold as this Beds24 room."""
    found: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM channel_sync_room_map
                          WHERE property_id = $1 AND beds24_room_id = $2 AND is_active)""",
        property_id,
        beds24_room_id,
    )
    return found


async def rate_plan_slots(conn: Connection, property_id: UUID) -> list[RatePlanSlot]:
    """The price slots whose prices the PMS sets (as `pms_calendar.price_slots` picks them),
    with their rate plans."""
    records = await conn.fetch(
        """SELECT m.external_id AS slot, p.id AS rate_plan_id, p.code, p.name
           FROM channel_mappings m
           JOIN rate_plans p ON p.id = m.internal_id AND p.property_id = m.property_id
           WHERE m.property_id = $1 AND m.mapping_type = 'rate_plan'
             AND m.is_active IS NOT FALSE AND p.is_active
           ORDER BY length(m.external_id), m.external_id""",
        property_id,
    )
    return [RatePlanSlot.model_validate(dict(r)) for r in records]


async def room_events(
    conn: Connection, property_id: UUID, beds24_room_id: str, limit: int = 20
) -> list[EventSummary]:
    """The room's latest calendar events (availability, prices, restrictions), newest first."""
    records = await conn.fetch(
        f"""SELECT {_EVENT_COLUMNS} FROM channel_events
            WHERE property_id = $1 AND entity_type = 'availability'
              AND entity_external_id = $2
            ORDER BY received_at DESC, id LIMIT $3""",  # noqa: S608 - constant columns
        property_id,
        beds24_room_id,
        limit,
    )
    return [EventSummary.of(event_of(r)) for r in records]
