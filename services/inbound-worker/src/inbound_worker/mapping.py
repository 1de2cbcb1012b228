"""Which PMS room a Beds24 booking goes to.

The candidates are the active PMS rooms mapped to the booking's Beds24 room (`roomId`),
directly ('room' mapping) or through their room type ('room_type' mapping); see the view
`channel_sync_room_map`. Among those free for the stay, the choice prefers the room the
reservation already has, then the room mapped to the booking's Beds24 unit, then by name.

Candidate rooms are locked (in id order) before the free ones are read, so two bookings
placed at the same time cannot take the same room. The lock is FOR NO KEY UPDATE: it
excludes other placements but not the key-share locks that writing a reservation takes on
its room (foreign key), so PMS and outbound writes never wait on, or deadlock with, it.
A booking that cannot be placed is not refused: it is kept without a room and flagged with
the reason (`attention`).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from channel_sync.db import Connection

from inbound_worker.booking import Booking


@dataclass(frozen=True)
class Placement:
    room_id: UUID | None
    attention: str | None = None  # why the booking has no room, for the front desk


async def place(
    conn: Connection,
    property_id: UUID,
    booking: Booking,
    *,
    reservation_id: UUID | None,
    current_room: UUID | None,
) -> Placement:
    if booking.cancelled:
        return Placement(current_room)  # a cancelled stay takes no room; keep the record
    if booking.beds24_room_id is None:
        return Placement(None, f"Beds24 booking {booking.booking_id} has no roomId")
    candidates = await conn.fetch(
        """SELECT room_id, beds24_unit_id FROM channel_sync_room_map
           WHERE property_id = $1 AND beds24_room_id = $2 AND is_active""",
        property_id,
        str(booking.beds24_room_id),
    )
    if not candidates:
        return Placement(
            None, f"Beds24 room {booking.beds24_room_id} is not mapped to any PMS room"
        )
    room_ids = [c["room_id"] for c in candidates]
    await conn.execute(
        "SELECT 1 FROM rooms WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE", room_ids
    )
    free = await conn.fetch(
        """SELECT r.id, r.name FROM rooms r
           WHERE r.id = ANY($1::uuid[])
             AND NOT EXISTS (
                 SELECT 1 FROM reservations x
                 WHERE x.room_id = r.id AND channel_sync_occupies(x.status)
                   AND x.id IS DISTINCT FROM $2
                   AND x.arrival < $4 AND x.departure > $3)
           ORDER BY r.name, r.id""",
        room_ids,
        reservation_id,
        booking.arrival,
        booking.departure,
    )
    if not free:
        return Placement(
            None,
            f"no free PMS room for Beds24 room {booking.beds24_room_id} "
            f"from {booking.arrival} to {booking.departure}",
        )
    free_ids = [r["id"] for r in free]
    unit = str(booking.beds24_unit_id) if booking.beds24_unit_id is not None else None
    unit_rooms = [c["room_id"] for c in candidates if unit and c["beds24_unit_id"] == unit]
    for preferred in (current_room, *unit_rooms):
        if preferred in free_ids:
            return Placement(preferred)
    return Placement(free_ids[0])
