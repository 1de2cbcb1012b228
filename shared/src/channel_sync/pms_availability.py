"""Free units of a Beds24 room per night, as the PMS holds them now: what the outbound worker
pushes to Beds24 and what a reconciliation compares Beds24's calendar with."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from channel_sync.db import Connection


async def free_units(
    conn: Connection, property_id: UUID, beds24_room_id: str, nights: list[date]
) -> dict[date, int]:
    """Its active mapped PMS rooms minus the reservations occupying them that night, minus
    the bookings Beds24 sold in that room that still wait for a PMS room (they hold a unit
    all the same), minus the Beds24 bookings the PMS no longer holds that wait for an
    operator's decision (an open `missing_in_pms` drift: until decided, their nights are not
    offered for sale again), minus the live inventory holds on it (`held`, not past their
    expiry: a guest is booking that unit); never below zero."""
    # Whatever holds a unit on some night of the span is read ONCE (each part on its own
    # index: a room's reservations by departure, waiting ones by property), then counted
    # per night: one pass however many nights, and no scan of the rooms' past stays.
    rows = await conn.fetch(
        """
        WITH units AS (
            SELECT room_id FROM channel_sync_room_map
            WHERE property_id = $1 AND beds24_room_id = $2 AND is_active
        ), span AS (
            SELECT min(n) AS first, max(n) AS last FROM unnest($3::date[]) AS n
        ), taken AS (
            SELECT r.arrival, r.departure FROM reservations r, span
            WHERE r.room_id IN (SELECT room_id FROM units)
              AND r.departure > span.first AND r.arrival <= span.last
              AND channel_sync_occupies(r.status)
            UNION ALL
            SELECT r.arrival, r.departure FROM reservations r, span
            WHERE r.room_id IS NULL AND r.beds24_room_id IS NOT NULL
              AND r.property_id = $1 AND r.beds24_room_id = $2
              AND r.departure > span.first AND r.arrival <= span.last
              AND channel_sync_occupies(r.status)
            UNION ALL
            SELECT (d.beds24_value->>'arrival')::date, (d.beds24_value->>'departure')::date
            FROM drift_records d
            WHERE d.property_id = $1 AND d.status = 'open' AND d.kind = 'missing_in_pms'
              AND d.beds24_value->>'roomId' = $2
              AND coalesce(d.beds24_value->>'status', '') <> 'cancelled'
            UNION ALL
            SELECT h.arrival, h.departure FROM inventory_holds h, span
            WHERE h.property_id = $1 AND h.beds24_room_id = $2 AND h.status = 'held'
              AND h.expires_at > now()
              AND h.departure > span.first AND h.arrival <= span.last
        )
        SELECT night,
               GREATEST(0, (SELECT count(*) FROM units) - (
                   SELECT count(*) FROM taken t
                   WHERE t.arrival <= night AND t.departure > night)) AS free
        FROM unnest($3::date[]) AS night
        """,
        property_id,
        beds24_room_id,
        nights,
    )
    return {row["night"]: int(row["free"]) for row in rows}
