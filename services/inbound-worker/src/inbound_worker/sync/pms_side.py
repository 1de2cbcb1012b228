"""The PMS side of a run: a property's reservations as stays, and whether work on them is
still in flight (an event not yet done: comparing now would report a difference that is
already being carried across). Every statement takes the caller's connection."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from channel_sync.db import Connection, Record

from inbound_worker.ownership import SYNCED_COLUMNS
from inbound_worker.sync.compare import Stay


@dataclass(frozen=True)
class PmsStay:
    reservation_id: UUID
    beds24_booking_id: int | None
    modified_time: datetime | None  # of the Beds24 version it holds
    pushed_at: datetime | None  # when our last write to Beds24 was sent
    mapped: bool  # its room belongs to a Beds24 room
    in_flight: bool
    stay: Stay
    made_by: str | None = None  # who made it (`ownership`); None: not recorded
    synced: dict[str, Any] = field(default_factory=dict)  # the synced columns' values


# Column names from the field map (constants); every value is a $n parameter.
_STAYS = f"""
SELECT r.id, r.beds24_booking_id, r.beds24_modified_time, r.beds24_pushed_at, r.made_by,
       {", ".join(f"r.{c}" for c in SYNCED_COLUMNS)}, m.beds24_room_id IS NOT NULL AS mapped,
       coalesce(m.beds24_room_id, r.beds24_room_id) AS beds24_room,
       1 + (SELECT count(*) FROM reservations x
            WHERE x.beds24_qty_booking_id = r.beds24_booking_id
              AND x.status <> 'cancelled') AS rooms,
       EXISTS (SELECT 1 FROM channel_events e
               WHERE e.status IN ('received', 'processing') AND e.entity_type = 'booking'
                 AND ((e.direction = 'outbound' AND e.entity_internal_id = r.id)
                      OR (e.direction = 'inbound'
                          AND e.entity_external_id = r.beds24_booking_id::text))) AS in_flight
FROM reservations r LEFT JOIN channel_sync_room_map m ON m.room_id = r.room_id
"""


def _stay(row: Record) -> PmsStay:
    return PmsStay(
        reservation_id=row["id"],
        beds24_booking_id=row["beds24_booking_id"],
        modified_time=row["beds24_modified_time"],
        pushed_at=row["beds24_pushed_at"],
        mapped=row["mapped"],
        in_flight=row["in_flight"],
        stay=Stay(
            arrival=row["arrival"].isoformat(),
            departure=row["departure"].isoformat(),
            status=row["status"],
            room=row["beds24_room"],
            adults=row["adults"],
            children=row["children"],
            rooms=row["rooms"],
        ),
        made_by=row["made_by"],
        synced={c: row[c] for c in SYNCED_COLUMNS},
    )


async def by_booking(
    conn: Connection, property_id: UUID, booking_ids: list[int]
) -> dict[int, PmsStay]:
    rows = await conn.fetch(
        _STAYS + " WHERE r.property_id = $1 AND r.beds24_booking_id = ANY($2::bigint[])",
        property_id,
        booking_ids,
    )
    return {row["beds24_booking_id"]: _stay(row) for row in rows}


async def current_and_future(conn: Connection, property_id: UUID, today: date) -> list[PmsStay]:
    """Stays departing today or later: the same window a run reads from Beds24. The extra
    rooms of a roomQty booking are left out: their booking is compared through its first."""
    rows = await conn.fetch(
        _STAYS + " WHERE r.property_id = $1 AND r.departure >= $2"
        " AND r.beds24_qty_booking_id IS NULL ORDER BY r.arrival, r.id",
        property_id,
        today,
    )
    return [_stay(row) for row in rows]


async def bookings_in_flight(
    conn: Connection, property_id: UUID, booking_ids: list[int]
) -> set[int]:
    """Beds24 bookings with an inbound event not yet done."""
    rows = await conn.fetch(
        """SELECT DISTINCT entity_external_id FROM channel_events
           WHERE property_id = $1 AND direction = 'inbound' AND entity_type = 'booking'
             AND status IN ('received', 'processing') AND entity_external_id = ANY($2)""",
        property_id,
        [str(i) for i in booking_ids],
    )
    return {int(r["entity_external_id"]) for r in rows}


async def events_in_flight(conn: Connection, property_id: UUID) -> int:
    """Events of the property not yet done, either way."""
    count: int = await conn.fetchval(
        """SELECT count(*) FROM channel_events
           WHERE property_id = $1 AND status IN ('received', 'processing')""",
        property_id,
    )
    return count


async def policy_of(conn: Connection, property_id: UUID) -> str:
    policy: str | None = await conn.fetchval(
        "SELECT sync_policy FROM beds24_properties WHERE property_id = $1", property_id
    )
    return policy or "flag"


async def unlinked_with_codes(
    conn: Connection, property_id: UUID, codes: list[str]
) -> dict[UUID, str]:
    """Reservations not linked to Beds24 that carry one of these OTA codes, with the code:
    the inbound path matches them to their Beds24 booking (`own_bookings`), so a run never
    sends them as new nor proposes them as look-alikes."""
    rows = await conn.fetch(
        """SELECT id, channel_reference FROM reservations
           WHERE property_id = $1 AND beds24_booking_id IS NULL
             AND channel_reference = ANY($2::text[])""",
        property_id,
        codes,
    )
    return {r["id"]: r["channel_reference"] for r in rows}


async def look_alikes(
    conn: Connection,
    property_id: UUID,
    beds24_room: str,
    arrival: date,
    departure: date,
    last_name: str,
) -> list[UUID]:
    """Reservations not linked to Beds24 in the same Beds24 room (type), on the same dates,
    for a guest of the same surname: perhaps the same stay, never linked without an
    operator."""
    rows = await conn.fetch(
        """SELECT r.id FROM reservations r
           JOIN channel_sync_room_map m ON m.room_id = r.room_id
           WHERE r.property_id = $1 AND r.beds24_booking_id IS NULL
             AND r.beds24_qty_booking_id IS NULL AND r.status <> 'cancelled'
             AND m.beds24_room_id = $2 AND r.arrival = $3 AND r.departure = $4
             AND lower(trim(r.guest_last_name)) = lower(trim($5))""",
        property_id,
        beds24_room,
        arrival,
        departure,
        last_name,
    )
    return [r["id"] for r in rows]
