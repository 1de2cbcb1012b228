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


async def merge_availability_events(conn: Connection, property_ids: list[UUID]) -> int:
    """Merge the availability events this transaction recorded for these properties into
    one per Beds24 room, spanning their nights (a batch of bookings is one event per room,
    not one per booking); returns how many events remain. Safe because the worker sends the
    room's CURRENT availability for the nights an event names: a wider span costs nothing
    more than nights to compute. Events of this transaction are told by their `received_at`
    (the transaction's start, `now()`) and are never published before it commits."""
    _require_transaction(conn)
    merged: int = await conn.fetchval(
        """
        WITH mine AS (
            DELETE FROM channel_events
            WHERE direction = 'outbound' AND event_type = 'pms.availability.update'
              AND status = 'received' AND published_at IS NULL AND received_at = now()
              AND property_id = ANY($1::uuid[])
            RETURNING property_id, payload, entity_internal_id
        ), spans AS (
            SELECT property_id, payload->>'beds24_room_id' AS room,
                   min((payload->>'from')::date) AS first,
                   CASE WHEN bool_or(payload->>'to' IS NULL) THEN NULL
                        ELSE max((payload->>'to')::date) END AS last,
                   -- the reservation that caused it, where one did
                   CASE WHEN count(DISTINCT entity_internal_id) = 1
                             AND bool_and(entity_internal_id IS NOT NULL)
                        THEN (array_agg(entity_internal_id))[1] END AS source
            FROM mine GROUP BY 1, 2
        )
        SELECT count(channel_sync_record_availability_change(property_id, room, first, last,
                                                             source))
        FROM spans
        """,
        property_ids,
    )
    return merged


async def record_availability_of(conn: Connection, reservation_ids: list[UUID]) -> int:
    """Queue the availability of the nights these (new) reservations take: one event per
    Beds24 room, spanning their nights; what the capture trigger records row by row, for
    rows written under `pms_origin.capture_deferred`. Returns how many events."""
    _require_transaction(conn)
    recorded: int = await conn.fetchval(
        """
        SELECT count(*) FROM (
            SELECT channel_sync_record_availability_change(
                r.property_id, m.beds24_room_id, min(r.arrival), max(r.departure) - 1,
                CASE WHEN count(*) = 1 THEN (array_agg(r.id))[1] END)
            FROM reservations r JOIN channel_sync_room_map m ON m.room_id = r.room_id
            WHERE r.id = ANY($1::uuid[]) AND channel_sync_occupies(r.status)
              AND channel_sync_connected(r.property_id)
            GROUP BY r.property_id, m.beds24_room_id
        ) AS recorded
        """,
        reservation_ids,
    )
    return recorded
