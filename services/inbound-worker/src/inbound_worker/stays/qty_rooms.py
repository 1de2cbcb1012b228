"""The extra rooms of a Beds24 booking with `roomQty` > 1, inside the caller's transaction.

The booking's first room is its reservation (`beds24_booking_id`); rooms 2..roomQty are
reservations that carry the booking's id in `beds24_qty_booking_id` with their number in
`beds24_qty_index`. Each copies the first room's stay (dates, guest, status, Beds24 room)
but not its price or deposit, which are the booking's totals and stay on the first room;
each is placed in its own PMS room, or waits for one, flagged, as any booking does
(`mapping`). `roomQty` is matched by count: a lower one cancels the highest-numbered rooms
still held (a room the PMS cancelled stays cancelled), a higher one revives cancelled rooms
before adding new ones; a cancelled booking cancels them all. The capture trigger queues
the availability of every placed room; that of rooms that wait (or stop waiting) is queued
here.
"""

from __future__ import annotations

from uuid import UUID

from channel_sync.db import Connection
from channel_sync.pms_fields import FIELDS, INBOUND_COLUMNS

from inbound_worker.booking import Booking
from inbound_worker.placement import Placement, Stay, place, push_waiting_availability

# Columns an extra room takes from the first room: every column a booking writes
# (channel_sync.pms_fields) but its status, its Beds24 id and its totals (names are
# constants, never input).
_NOT_COPIED = frozenset({"status", "beds24_booking_id", "price", "deposit"})
_COPIED = ", ".join(
    f.column for f in FIELDS if f.column in INBOUND_COLUMNS and f.column not in _NOT_COPIED
)


async def sync_extra_rooms(
    conn: Connection, property_id: UUID, booking: Booking, first_room: UUID, stay_id: UUID
) -> str | None:
    """Bring rooms 2..roomQty in line with the booking; a note of what needs attention."""
    qty = booking.group.room_qty if booking.group is not None else 1
    rows = await conn.fetch(
        """SELECT id, beds24_qty_index, room_id, status FROM reservations
           WHERE beds24_qty_booking_id = $1 ORDER BY beds24_qty_index FOR UPDATE""",
        booking.booking_id,
    )
    if qty == 1 and not rows:
        return None
    waited = await _waiting(conn, booking.booking_id)
    need = 0 if booking.cancelled else qty - 1
    active = [r for r in rows if r["status"] != "cancelled"]
    revived = [r for r in rows if r["status"] == "cancelled"][: max(0, need - len(active))]
    kept = sorted(active[:need] + revived, key=lambda r: r["beds24_qty_index"])
    for row in active[need:]:  # first: the rooms they free may be the ones others need
        await _update(conn, first_room, row["id"], stay_id, "cancelled", Placement(row["room_id"]))
    attention = []
    for row in kept:
        placement = await place(
            conn, property_id, booking, reservation_id=row["id"], current_room=row["room_id"]
        )
        await _update(conn, first_room, row["id"], stay_id, booking.status, placement)
        if placement.attention:
            attention.append(f"room {row['beds24_qty_index']}: {placement.attention}")
    next_index = max((r["beds24_qty_index"] for r in rows), default=1) + 1
    for index in range(next_index, next_index + need - len(kept)):
        placement = await place(conn, property_id, booking, reservation_id=None, current_room=None)
        await _insert(
            conn, first_room, stay_id, booking.booking_id, index, booking.status, placement
        )
        if placement.attention:
            attention.append(f"room {index}: {placement.attention}")
    waits = await _waiting(conn, booking.booking_id)
    if waited != waits:
        await push_waiting_availability(conn, property_id, waited + waits, first_room)
    rooms = f"{max(qty, 1)} rooms of booking {booking.booking_id}" if qty > 1 else None
    if attention:
        return "; ".join(filter(None, (rooms, "needs attention: " + "; ".join(attention))))
    return rooms


async def _insert(
    conn: Connection,
    first_room: UUID,
    stay_id: UUID,
    booking_id: int,
    index: int,
    status: str,
    placement: Placement,
) -> None:
    await conn.execute(
        f"""INSERT INTO reservations (property_id, stay_id, beds24_qty_booking_id,
                beds24_qty_index, status, room_id, needs_attention, attention_reason, made_by,
                {_COPIED})
            SELECT property_id, $2, $3, $4, $5, $6, $7, $8, made_by, {_COPIED}
            FROM reservations WHERE id = $1""",  # noqa: S608 - constant column names
        first_room,
        stay_id,
        booking_id,
        index,
        status,
        placement.room_id,
        placement.attention is not None,
        placement.attention,
    )


async def _update(
    conn: Connection,
    first_room: UUID,
    reservation_id: UUID,
    stay_id: UUID,
    status: str,
    placement: Placement,
) -> None:
    copied = ", ".join(f"{c.strip()} = f.{c.strip()}" for c in _COPIED.split(","))
    await conn.execute(
        f"""UPDATE reservations x SET {copied}, stay_id = coalesce(x.stay_id, $3),
                   status = $4, room_id = $5, needs_attention = $6, attention_reason = $7,
                   updated_at = now()
            FROM reservations f WHERE f.id = $1 AND x.id = $2""",  # noqa: S608 - constants
        first_room,
        reservation_id,
        stay_id,
        status,
        placement.room_id,
        placement.attention is not None,
        placement.attention,
    )


async def _waiting(conn: Connection, booking_id: int) -> list[Stay]:
    """The nights the booking's extra rooms hold while they wait for a PMS room."""
    rows = await conn.fetch(
        """SELECT beds24_room_id, arrival, departure FROM reservations
           WHERE beds24_qty_booking_id = $1 AND room_id IS NULL
             AND beds24_room_id IS NOT NULL AND channel_sync_occupies(status)
           ORDER BY beds24_qty_index""",
        booking_id,
    )
    return [Stay(r["beds24_room_id"], r["arrival"], r["departure"]) for r in rows]
