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
the reason (`attention`); if Beds24 sold it in a mapped room it waits for one, and
`place_waiting` places it once a room is free (typically when the webhook of the change that
freed the room arrives late).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
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
    return await _place_stay(
        conn,
        property_id,
        Stay(str(booking.beds24_room_id), booking.arrival, booking.departure),
        unit=None if booking.beds24_unit_id is None else str(booking.beds24_unit_id),
        reservation_id=reservation_id,
        current_room=current_room,
    )


@dataclass(frozen=True)
class Stay:
    beds24_room_id: str
    arrival: date
    departure: date


async def waiting_stay(conn: Connection, booking_id: int) -> Stay | None:
    """The nights a booking holds while it waits for a room (no PMS room, occupying)."""
    row = await conn.fetchrow(
        """SELECT beds24_room_id, arrival, departure FROM reservations
           WHERE beds24_booking_id = $1 AND room_id IS NULL AND beds24_room_id IS NOT NULL
             AND channel_sync_occupies(status)""",
        booking_id,
    )
    return None if row is None else Stay(row["beds24_room_id"], row["arrival"], row["departure"])


async def push_waiting_availability(
    conn: Connection, property_id: UUID, stays: list[Stay], source_id: UUID
) -> None:
    """Queue the availability of the nights a waiting booking held or holds: the capture
    trigger sees only reservations with a room, yet these count against their Beds24 room
    (a waiting booking cancelled or moved frees nights the trigger would not report)."""
    for stay in stays:
        await conn.execute(
            """SELECT channel_sync_record_availability_change($1, $2, $3, $4, $5)
               WHERE channel_sync_connected($1)""",
            property_id,
            stay.beds24_room_id,
            stay.arrival,
            stay.departure - timedelta(days=1),
            source_id,
        )


async def place_waiting(conn: Connection, property_id: UUID) -> list[UUID]:
    """Place the property's bookings that are waiting for a room (sold by Beds24, kept
    without a room because none was free when they arrived) where one is free now; returns
    the reservations placed. Rows another transaction holds are skipped (SKIP LOCKED: this
    never waits, so it cannot deadlock); a later booking of the property tries them again."""
    waiting = await conn.fetch(
        """SELECT id, beds24_room_id, arrival, departure FROM reservations
           WHERE property_id = $1 AND room_id IS NULL AND beds24_room_id IS NOT NULL
             AND channel_sync_occupies(status) AND departure > current_date
           ORDER BY arrival, id
           FOR NO KEY UPDATE SKIP LOCKED""",
        property_id,
    )
    placed = []
    for row in waiting:
        stay = Stay(row["beds24_room_id"], row["arrival"], row["departure"])
        placement = await _place_stay(
            conn,
            property_id,
            stay,
            unit=None,
            reservation_id=row["id"],
            current_room=None,
            wait_for_rooms=False,
        )
        if placement.room_id is None:
            continue
        await conn.execute(
            """UPDATE reservations SET room_id = $2, needs_attention = false,
                      attention_reason = NULL, updated_at = now()
               WHERE id = $1""",
            row["id"],
            placement.room_id,
        )
        placed.append(row["id"])
    return placed


async def _place_stay(
    conn: Connection,
    property_id: UUID,
    stay: Stay,
    *,
    unit: str | None,
    reservation_id: UUID | None,
    current_room: UUID | None,
    wait_for_rooms: bool = True,
) -> Placement:
    """`wait_for_rooms=False`: rooms another transaction holds are left out rather than
    waited for (a second placement in one transaction must not wait: lock order)."""
    candidates = await conn.fetch(
        """SELECT room_id, beds24_unit_id FROM channel_sync_room_map
           WHERE property_id = $1 AND beds24_room_id = $2 AND is_active""",
        property_id,
        stay.beds24_room_id,
    )
    if not candidates:
        return Placement(None, f"Beds24 room {stay.beds24_room_id} is not mapped to any PMS room")
    lock = "FOR NO KEY UPDATE" if wait_for_rooms else "FOR NO KEY UPDATE SKIP LOCKED"
    room_ids = [
        r["id"]
        for r in await conn.fetch(
            f"SELECT id FROM rooms WHERE id = ANY($1::uuid[]) ORDER BY id {lock}",  # noqa: S608
            [c["room_id"] for c in candidates],
        )
    ]
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
        stay.arrival,
        stay.departure,
    )
    if not free:
        return Placement(
            None,
            f"no free PMS room for Beds24 room {stay.beds24_room_id} "
            f"from {stay.arrival} to {stay.departure}",
        )
    free_ids = [r["id"] for r in free]
    unit_rooms = [c["room_id"] for c in candidates if unit and c["beds24_unit_id"] == unit]
    for preferred in (current_room, *unit_rooms):
        if preferred in free_ids:
            return Placement(preferred)
    return Placement(free_ids[0])
