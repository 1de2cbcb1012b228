"""Stays, their rooms and their rooms' events, as the admin API reads them."""

from __future__ import annotations

from uuid import UUID

from channel_sync.db import Connection

from admin_api.queries.events import ADMIN_COLUMNS, event_of
from admin_api.schemas.events import EventSummary
from admin_api.schemas.stays import StayDetail, StayRoom, StaySummary

_STAY = """
SELECT s.id, s.property_id, s.beds24_master_id, s.beds24_group_ids, s.channel_reference,
       s.created_at, s.updated_at,
       (SELECT count(*) FROM reservations r
        WHERE r.stay_id = s.id AND r.status <> 'cancelled') AS rooms_held,
       (SELECT count(*) FROM reservations r WHERE r.stay_id = s.id) AS rooms_total
FROM stays s"""

_ROOM = """
SELECT r.id AS reservation_id, r.status, r.arrival, r.departure, r.room_id,
       rm.name AS room_name,
       coalesce(r.beds24_booking_id, r.beds24_qty_booking_id) AS beds24_booking_id,
       coalesce(r.beds24_qty_index, 1) AS beds24_room_number, r.beds24_room_id,
       r.needs_attention, r.attention_reason, r.stay_id, r.property_id
FROM reservations r LEFT JOIN rooms rm ON rm.id = r.room_id"""

# Every column an AdminEvent has: a summary also says its tries and any resolution.
_EVENT_COLUMNS = ADMIN_COLUMNS


async def listing(conn: Connection, property_id: UUID | None, limit: int) -> list[StaySummary]:
    rows = await conn.fetch(
        _STAY + " WHERE $1::uuid IS NULL OR s.property_id = $1"
        " ORDER BY s.created_at DESC, s.id LIMIT $2",
        property_id,
        limit,
    )
    return [StaySummary.model_validate(dict(r)) for r in rows]


async def detail(conn: Connection, stay_id: UUID, events: int = 100) -> StayDetail | None:
    stay = await conn.fetchrow(_STAY + " WHERE s.id = $1", stay_id)
    if stay is None:
        return None
    rooms = [
        StayRoom.model_validate(dict(r))
        for r in await conn.fetch(
            _ROOM + " WHERE r.stay_id = $1"
            " ORDER BY coalesce(r.beds24_booking_id, r.beds24_qty_booking_id),"
            " coalesce(r.beds24_qty_index, 1), r.created_at",
            stay_id,
        )
    ]
    held = {room.beds24_booking_id for room in rooms}
    listed = sorted(set(stay["beds24_group_ids"]))
    # A listed booking whose room is in another stay has moved (the PMS or a later Beds24
    # version says so): it is not missing.
    elsewhere = {
        r["beds24_booking_id"]
        for r in await conn.fetch(
            """SELECT beds24_booking_id FROM reservations
               WHERE property_id = $1 AND beds24_booking_id = ANY($2::bigint[])""",
            stay["property_id"],
            [b for b in listed if b not in held],
        )
    }
    found = await conn.fetch(
        f"""SELECT {_EVENT_COLUMNS} FROM channel_events
            WHERE property_id = $1 AND entity_type = 'booking'
              AND (entity_internal_id = ANY($2::uuid[])
                   OR entity_external_id = ANY($3::text[]))
            ORDER BY received_at DESC, id LIMIT $4""",  # noqa: S608 - constant columns
        stay["property_id"],
        [room.reservation_id for room in rooms],
        [str(b) for b in held | set(listed) if b is not None],
        events,
    )
    return StayDetail.model_validate(
        {
            **dict(stay),
            "beds24_group_ids": listed,
            "missing_beds24_ids": [b for b in listed if b not in held | elsewhere],
            "rooms": rooms,
            "events": [EventSummary.of(event_of(e)) for e in found],
        }
    )


async def of_reservation(
    conn: Connection, reservation_id: UUID
) -> tuple[StayRoom, UUID, StaySummary | None] | None:
    row = await conn.fetchrow(_ROOM + " WHERE r.id = $1", reservation_id)
    if row is None:
        return None
    stay = None
    if row["stay_id"] is not None:
        found = await conn.fetchrow(_STAY + " WHERE s.id = $1", row["stay_id"])
        stay = None if found is None else StaySummary.model_validate(dict(found))
    return StayRoom.model_validate(dict(row)), row["property_id"], stay
