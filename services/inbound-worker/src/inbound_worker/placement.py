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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from channel_sync.db import Connection

from inbound_worker.booking import Booking

# The statuses that hold a room (SQL: channel_sync_occupies).
OCCUPYING = frozenset({"confirmed", "tentative", "blocked"})


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


async def lock_rooms_for(conn: Connection, sold_in: Sequence[tuple[UUID, str]]) -> None:
    """Lock, in one statement and id order, every candidate room of these (PMS property,
    Beds24 room) pairs: a transaction placing several bookings takes its rooms at once, so
    the later lock of each booking's own rooms holds already and two batches cannot each
    hold rooms the other waits for (booking by booking, they deadlocked)."""
    if not sold_in:
        return
    await conn.execute(
        """SELECT id FROM rooms WHERE id IN (
               SELECT m.room_id FROM channel_sync_room_map m
               JOIN unnest($1::uuid[], $2::text[]) AS s(property_id, beds24_room_id)
                 ON s.property_id = m.property_id AND s.beds24_room_id = m.beds24_room_id
               WHERE m.is_active)
           ORDER BY id FOR NO KEY UPDATE""",
        [p for p, _ in sold_in],
        [r for _, r in sold_in],
    )


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
        return _unmapped(stay)
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
    unit_rooms = [c["room_id"] for c in candidates if unit and c["beds24_unit_id"] == unit]
    return _choose(stay, [r["id"] for r in free], unit_rooms, current_room)


def _choose(
    stay: Stay, free_ids: list[UUID], unit_rooms: list[UUID], current_room: UUID | None
) -> Placement:
    """Among the free rooms (by name): the room it has, else its Beds24 unit's, else the
    first."""
    if not free_ids:
        return Placement(
            None,
            f"no free PMS room for Beds24 room {stay.beds24_room_id} "
            f"from {stay.arrival} to {stay.departure}",
        )
    for preferred in (current_room, *unit_rooms):
        if preferred in free_ids:
            return Placement(preferred)
    return Placement(free_ids[0])


def _unmapped(stay: Stay) -> Placement:
    return Placement(None, f"Beds24 room {stay.beds24_room_id} is not mapped to any PMS room")


async def place_new(
    conn: Connection, bookings: Sequence[tuple[UUID, Booking]]
) -> dict[int, Placement]:
    """`place` for many bookings the PMS does not hold yet (property, booking), in their
    order, with a handful of statements for all of them: the candidate rooms of every
    booking are locked at once (in id order), their occupied nights read once, and each
    booking takes a room as `place` would choose it, the nights it takes counting against
    the bookings after it. Rooms are chosen by the same rules as `place`."""
    placements: dict[int, Placement] = {}
    stays: list[tuple[UUID, Booking, Stay]] = []
    for property_id, booking in bookings:
        if booking.cancelled:
            placements[booking.booking_id] = Placement(None)
        elif booking.beds24_room_id is None:
            placements[booking.booking_id] = Placement(
                None, f"Beds24 booking {booking.booking_id} has no roomId"
            )
        else:
            stay = Stay(str(booking.beds24_room_id), booking.arrival, booking.departure)
            stays.append((property_id, booking, stay))
    if not stays:
        return placements
    rooms_asked = sorted({(p, s.beds24_room_id) for p, _, s in stays}, key=str)
    mapped = await conn.fetch(
        """SELECT m.property_id, m.beds24_room_id, m.room_id, m.beds24_unit_id
           FROM channel_sync_room_map m
           JOIN unnest($1::uuid[], $2::text[]) AS s(property_id, beds24_room_id)
             ON s.property_id = m.property_id AND s.beds24_room_id = m.beds24_room_id
           WHERE m.is_active""",
        [p for p, _ in rooms_asked],
        [r for _, r in rooms_asked],
    )
    candidates: dict[tuple[UUID, str], list[tuple[UUID, str | None]]] = {}
    for row in mapped:
        found = candidates.setdefault((row["property_id"], row["beds24_room_id"]), [])
        found.append((row["room_id"], row["beds24_unit_id"]))
    # Locked in id order (as `place` does); ranked by name as `place` orders the free ones.
    ranked = await conn.fetch(
        """SELECT id, row_number() OVER (ORDER BY name, id) AS rank FROM (
               SELECT id, name FROM rooms WHERE id = ANY($1::uuid[])
               ORDER BY id FOR NO KEY UPDATE) AS locked""",
        list({room for rooms in candidates.values() for room, _ in rooms}),
    )
    rank = {row["id"]: row["rank"] for row in ranked}
    taken: dict[UUID, list[tuple[date, date]]] = {room: [] for room in rank}
    for row in await conn.fetch(
        """SELECT room_id, arrival, departure FROM reservations
           WHERE room_id = ANY($1::uuid[]) AND channel_sync_occupies(status)
             AND arrival < $3 AND departure > $2""",
        list(rank),
        min(s.arrival for _, _, s in stays),
        max(s.departure for _, _, s in stays),
    ):
        taken[row["room_id"]].append((row["arrival"], row["departure"]))
    for property_id, booking, stay in stays:
        rooms = [r for r, _ in candidates.get((property_id, stay.beds24_room_id), [])]
        if not rooms:
            placements[booking.booking_id] = _unmapped(stay)
            continue
        free = sorted(
            (
                room
                for room in rooms
                if room in rank
                and not any(a < stay.departure and d > stay.arrival for a, d in taken[room])
            ),
            key=rank.__getitem__,
        )
        unit = None if booking.beds24_unit_id is None else str(booking.beds24_unit_id)
        unit_rooms = [
            r for r, u in candidates[property_id, stay.beds24_room_id] if unit and u == unit
        ]
        placement = _choose(stay, free, unit_rooms, None)
        placements[booking.booking_id] = placement
        if placement.room_id is not None and booking.status in OCCUPYING:
            taken[placement.room_id].append((stay.arrival, stay.departure))
    return placements
