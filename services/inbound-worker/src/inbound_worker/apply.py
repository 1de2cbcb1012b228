"""Applying one Beds24 booking to the PMS, inside the caller's transaction.

State wins over events: the booking is applied only if its `modifiedTime` is newer than the
version the PMS holds; an older or equal one changes nothing and says so in the outcome.

While a PMS change to the reservation is still on its way to Beds24 (an outbound booking
event not yet done), a newer Beds24 version waits for it: applied first, it would overwrite
the unsent change, and the outbound worker (which sends the CURRENT state) would then lose
it for good. Applied after, the PMS's change is in Beds24 and a later version (webhook or
poll) brings both sides together again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from channel_sync.db import Connection
from channel_sync.errors import PermanentError, RetryAfter

from inbound_worker import reservations
from inbound_worker.booking import Booking
from inbound_worker.mapping import Placement, place
from inbound_worker.own_bookings import Recognised, recognise


@dataclass(frozen=True)
class Outcome:
    reservation_id: UUID
    kind: str  # created | updated | cancelled | stale | unchanged
    note: str  # what happened, for the event's audit trail
    needs_attention: bool = False


async def apply_booking(conn: Connection, property_id: UUID, booking: Booking) -> Outcome:
    await _check_property(conn, property_id, booking)
    await reservations.lock_booking(conn, booking.booking_id)
    stored = await reservations.find(conn, booking.booking_id)
    if stored is not None and stored.property_id != property_id:
        raise PermanentError(
            f"Beds24 booking {booking.booking_id} is already a reservation of another PMS "
            f"property ({stored.property_id})"
        )
    own = Recognised(stored) if stored else await recognise(conn, property_id, booking)
    stored, prefix = own.stored, f"{own.note}; " if own.note else ""
    newer = stored is None or _newer(booking.modified_time, stored.modified_time)
    if stored is not None and (newer or own.note):  # an adoption too waits for a pending create
        await _wait_for_unsent_pms_changes(conn, stored.id)
    if stored is not None and not newer:
        note = _unchanged_note(booking.modified_time, stored.modified_time)
        return Outcome(stored.id, note.split(":", 1)[0], prefix + note)
    placement = await place(
        conn,
        property_id,
        booking,
        reservation_id=stored.id if stored else None,
        current_room=stored.room_id if stored else None,
    )
    if own.doubt:
        placement = Placement(
            placement.room_id, "; ".join(filter(None, (own.doubt, placement.attention)))
        )
    if stored is None:
        reservation_id = await reservations.insert(conn, property_id, booking.columns, placement)
        kind, note = (
            ("cancelled", "recorded as cancelled") if booking.cancelled else ("created", "created")
        )
    else:
        reservation_id = stored.id
        await reservations.update(conn, stored.id, booking.columns, placement)
        kind = note = "cancelled" if booking.cancelled else "updated"
    note = prefix + note
    if placement.attention:
        note += f"; needs attention: {placement.attention}"
    return Outcome(reservation_id, kind, note, needs_attention=placement.attention is not None)


async def _check_property(conn: Connection, property_id: UUID, booking: Booking) -> None:
    linked: int | None = await conn.fetchval(
        "SELECT beds24_property_id FROM beds24_properties WHERE property_id = $1", property_id
    )
    if None not in (linked, booking.beds24_property_id) and linked != booking.beds24_property_id:
        raise PermanentError(
            f"Beds24 booking {booking.booking_id} belongs to Beds24 property "
            f"{booking.beds24_property_id}, but this PMS property is linked to {linked}"
        )


# How long a booking waits before looking again for the PMS's unsent changes.
UNSENT_CHANGES_WAIT = timedelta(seconds=5)


async def _wait_for_unsent_pms_changes(conn: Connection, reservation_id: UUID) -> None:
    pending = await conn.fetchval(
        """SELECT count(*) FROM channel_events
           WHERE direction = 'outbound' AND entity_type = 'booking'
             AND entity_internal_id = $1 AND status IN ('received', 'processing')""",
        reservation_id,
    )
    if pending:
        raise RetryAfter(
            f"reservation {reservation_id} has PMS changes not yet sent to Beds24; "
            "applying the Beds24 version after them",
            datetime.now(UTC) + UNSENT_CHANGES_WAIT,
        )


def _newer(incoming: datetime | None, stored: datetime | None) -> bool:
    if stored is None:
        return True
    return incoming is not None and incoming > stored


def _unchanged_note(incoming: datetime | None, stored: datetime | None) -> str:
    if incoming is None:
        return f"stale: the booking carries no modifiedTime; the PMS keeps version {stored}"
    if incoming == stored:
        return f"unchanged: version {stored} is already applied"
    return f"stale: version {incoming} is older than the PMS's {stored}"
