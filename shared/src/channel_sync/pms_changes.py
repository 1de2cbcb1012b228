"""Explicit outbound capture, for PMS changes the database triggers cannot see.

The triggers of migration 0004 record an outbound event for every change to `reservations`,
`rooms` and `channel_mappings`. A PMS whose change lives elsewhere (a table of its own, a
column the triggers do not watch) calls these functions inside the transaction that makes
the change, so the event commits, or rolls back, with it. They write through the same SQL
functions as the triggers and skip in the same cases: a transaction marked as applying
Beds24's own changes, or a property not connected to Beds24.

The outbound worker always sends the CURRENT state when it runs, so an extra event is
harmless; a missing one is not.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from channel_sync.db import Connection


class NotInTransaction(RuntimeError):
    """The change must be recorded inside the transaction that makes it."""


def _require_transaction(conn: Connection) -> None:
    if not conn.is_in_transaction():
        raise NotInTransaction("record the change inside the PMS transaction that makes it")


async def record_reservation_change(
    conn: Connection, reservation_id: UUID, *, correlation_id: str | None = None
) -> UUID | None:
    """Queue the reservation's current state for Beds24; the event id, or None if skipped."""
    _require_transaction(conn)
    event_id: UUID | None = await conn.fetchval(
        """
        SELECT channel_sync_record_booking_change(
            r.id, r.property_id,
            CASE WHEN r.status = 'cancelled' THEN 'pms.booking.cancel'
                 WHEN r.beds24_booking_id IS NULL THEN 'pms.booking.create'
                 ELSE 'pms.booking.update' END,
            r.beds24_booking_id, $2)
        FROM reservations r
        WHERE r.id = $1 AND NOT channel_sync_from_beds24()
          AND channel_sync_connected(r.property_id)
        """,
        reservation_id,
        correlation_id,
    )
    return event_id


async def record_room_availability_change(
    conn: Connection,
    room_id: UUID,
    first_night: date,
    last_night: date | None = None,
    *,
    correlation_id: str | None = None,
) -> UUID | None:
    """Queue the availability of the Beds24 room this PMS room belongs to, for the nights
    `first_night`..`last_night` (inclusive; None: up to the worker's horizon)."""
    _require_transaction(conn)
    if last_night is not None and last_night < first_night:
        raise ValueError("last_night is before first_night")
    event_id: UUID | None = await conn.fetchval(
        """
        SELECT channel_sync_record_availability_change(
            m.property_id, m.beds24_room_id, $2, $3, m.room_id, $4)
        FROM channel_sync_room_map m
        WHERE m.room_id = $1 AND NOT channel_sync_from_beds24()
          AND channel_sync_connected(m.property_id)
        """,
        room_id,
        first_night,
        last_night,
        correlation_id,
    )
    return event_id
