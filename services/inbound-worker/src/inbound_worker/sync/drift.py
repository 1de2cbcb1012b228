"""The `drift_records` rows: each difference a run found between Beds24 and the PMS.

An open record is kept once per (property, kind, subject): a later run that finds it again
refreshes its values and `last_seen_at`; one that no longer finds it resolves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from channel_sync.db import Connection

OPEN, REPAIRED = "open", "repaired"


@dataclass(frozen=True)
class Drift:
    kind: str  # booking_differs | missing_in_pms | missing_in_beds24 | availability_differs
    subject: str  # what differs, e.g. "booking 123" or "room 5001 2031-09-01..2031-09-03"
    beds24_value: Any
    pms_value: Any


async def record_repaired(
    conn: Connection,
    property_id: UUID,
    run_id: UUID | None,
    drift: Drift,
    *,
    resolution: str,
    event_id: UUID | None,
) -> None:
    """A difference repaired by an event (its id kept); an open record of it is closed."""
    closed: str = await conn.execute(
        """UPDATE drift_records SET status = 'repaired', resolution = $4, event_id = $5,
               resolved_at = now(), last_seen_at = now(), last_run_id = $6
           WHERE property_id = $1 AND kind = $2 AND subject = $3 AND status = 'open'""",
        property_id,
        drift.kind,
        drift.subject,
        resolution,
        event_id,
        run_id,
    )
    if closed != "UPDATE 0":
        return
    await conn.execute(
        """INSERT INTO drift_records (property_id, run_id, last_run_id, kind, subject,
               beds24_value, pms_value, status, resolution, event_id, resolved_at)
           VALUES ($1, $2, $2, $3, $4, $5, $6, 'repaired', $7, $8, now())""",
        property_id,
        run_id,
        drift.kind,
        drift.subject,
        drift.beds24_value,
        drift.pms_value,
        resolution,
        event_id,
    )


async def record_open(
    conn: Connection, property_id: UUID, run_id: UUID | None, drift: Drift, *, reason: str
) -> bool:
    """A difference left for an operator; True if it was not open already."""
    inserted: bool = await conn.fetchval(
        """INSERT INTO drift_records (property_id, run_id, last_run_id, kind, subject,
               beds24_value, pms_value, status, resolution)
           VALUES ($1, $2, $2, $3, $4, $5, $6, 'open', $7)
           ON CONFLICT (property_id, kind, subject) WHERE status = 'open'
           DO UPDATE SET beds24_value = EXCLUDED.beds24_value,
               pms_value = EXCLUDED.pms_value, resolution = EXCLUDED.resolution,
               last_seen_at = now(), last_run_id = EXCLUDED.last_run_id
           RETURNING xmax = 0""",
        property_id,
        run_id,
        drift.kind,
        drift.subject,
        drift.beds24_value,
        drift.pms_value,
        reason,
    )
    return inserted


async def resolve_unseen(conn: Connection, property_id: UUID, run_id: UUID) -> int:
    """Open records this (complete) run did not find again no longer differ."""
    result: str = await conn.execute(
        """UPDATE drift_records SET status = 'resolved', resolved_at = now(),
               resolution = 'no longer differs'
           WHERE property_id = $1 AND status = 'open'
             AND last_run_id IS DISTINCT FROM $2""",
        property_id,
        run_id,
    )
    return int(result.split()[-1])
