"""The `drift_records` rows: each difference a run found between Beds24 and the PMS.

An open record is kept once per (property, kind, subject): a later run that finds it again
refreshes its values and `last_seen_at`; one that no longer finds it resolves it.

An operator decides an open record through the admin API (`decision`, migration 0017); runs
honour it: a look-alike said to be another stay (`differ`) is never proposed again for that
booking, and a difference dismissed is not opened again while both sides hold the same
values (a new value is a new difference). A link needs nothing here: the booking is then
matched by its Beds24 id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from channel_sync.db import Connection

from inbound_worker.sync.metrics import count_drift
from inbound_worker.sync.runs import Run

OPEN, REPAIRED = "open", "repaired"


@dataclass(frozen=True)
class Drift:
    # booking_differs | match_differs | possible_match | missing_in_pms | missing_in_beds24 |
    # availability_differs
    kind: str
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


async def leave_open(conn: Connection, run: Run, found: Drift, *, reason: str) -> None:
    """A difference left for an operator, counted on the run; one an operator dismissed with
    these very values is left alone (counted `drift_dismissed`, not shown again)."""
    if await dismissed(conn, run.property_id, found):
        run.count("drift_dismissed")
        return
    if await record_open(conn, run.property_id, run.id, found, reason=reason):
        run.count("drift_found")
        count_drift(found.kind, OPEN)
    run.count("drift_open")


async def dismissed(conn: Connection, property_id: UUID, drift: Drift) -> bool:
    """An operator dismissed this difference, and both sides still hold what they held then."""
    found: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM drift_records
               WHERE property_id = $1 AND kind = $2 AND subject = $3 AND status = 'decided'
                 AND decision->>'decision' = 'dismiss'
                 AND beds24_value IS NOT DISTINCT FROM $4::jsonb
                 AND pms_value IS NOT DISTINCT FROM $5::jsonb)""",
        property_id,
        drift.kind,
        drift.subject,
        drift.beds24_value,
        drift.pms_value,
    )
    return found


async def declared_different(conn: Connection, property_id: UUID, booking_id: int) -> set[UUID]:
    """Reservations an operator said are not this Beds24 booking's stay (a `possible_match`
    decided `differ`): never proposed for it again."""
    rows = await conn.fetch(
        """SELECT DISTINCT jsonb_array_elements_text(decision->'reservation_ids') AS id
           FROM drift_records
           WHERE property_id = $1 AND kind = 'possible_match' AND subject = $2
             AND status = 'decided' AND decision->>'decision' = 'differ'""",
        property_id,
        f"booking {booking_id}",
    )
    return {UUID(r["id"]) for r in rows}


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
