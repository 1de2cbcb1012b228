"""The `sync_runs` rows. A run moves stage by stage (bookings → reservations → availability
→ finished); each step commits with the cursor it leaves, so a crash resumes at the first
step that did not commit. Every statement takes the caller's connection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from channel_sync.db import Connection

STAGES = ("bookings", "reservations", "availability", "finished")
UNFINISHED = ("requested", "running")


@dataclass
class Run:
    id: UUID
    property_id: UUID
    kind: str  # initial | reconcile
    stage: str
    cursor: dict[str, Any]
    progress: dict[str, int] = field(default_factory=dict)

    def count(self, name: str, n: int = 1) -> None:
        self.progress[name] = self.progress.get(name, 0) + n


async def unfinished(conn: Connection) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT id FROM sync_runs WHERE status = ANY($1) ORDER BY requested_at", list(UNFINISHED)
    )
    return [r["id"] for r in rows]


async def claim(conn: Connection, run_id: UUID) -> Run | None:
    """The run, locked for one step (inside the caller's transaction); None when it is
    finished, or another replica is working on the property (one at a time, as the poller)."""
    property_id = await conn.fetchval(
        "SELECT property_id FROM sync_runs WHERE id = $1 AND status = ANY($2)",
        run_id,
        list(UNFINISHED),
    )
    if property_id is None or not await conn.fetchval(
        "SELECT pg_try_advisory_xact_lock(hashtextextended('beds24-sync:' || $1, 0))",
        str(property_id),
    ):
        return None
    row = await conn.fetchrow(
        """SELECT id, property_id, kind, stage, cursor, progress FROM sync_runs
           WHERE id = $1 AND status = ANY($2) FOR UPDATE""",
        run_id,
        list(UNFINISHED),
    )
    if row is None:
        return None
    return Run(
        row["id"], row["property_id"], row["kind"], row["stage"], row["cursor"], row["progress"]
    )


async def save(conn: Connection, run: Run) -> None:
    """The step's cursor and counts; `finished` ends the run."""
    await conn.execute(
        """UPDATE sync_runs SET stage = $2::varchar, cursor = $3, progress = $4, last_error = NULL,
               status = CASE WHEN $2::varchar = 'finished' THEN 'done' ELSE 'running' END,
               started_at = coalesce(started_at, now()), updated_at = now(),
               finished_at = CASE WHEN $2::varchar = 'finished' THEN now() END
           WHERE id = $1""",
        run.id,
        run.stage,
        run.cursor,
        run.progress,
    )


async def note_error(conn: Connection, run_id: UUID, reason: str) -> None:
    """Why the last step failed (it is retried on the next round)."""
    await conn.execute(
        "UPDATE sync_runs SET last_error = $2, updated_at = now() WHERE id = $1",
        run_id,
        reason[:1000],
    )


async def schedule_due(conn: Connection, interval_s: float) -> int:
    """Request a reconciliation of every connected property whose initial sync is done and
    whose last run was requested longer ago than `interval_s`; returns how many."""
    result: str = await conn.execute(
        """INSERT INTO sync_runs (property_id, kind, requested_by)
           SELECT b.property_id, 'reconcile', 'schedule' FROM beds24_properties b
           WHERE b.poll_enabled AND EXISTS (
               SELECT 1 FROM sync_runs i WHERE i.property_id = b.property_id
                 AND i.kind = 'initial' AND i.status = 'done')
             AND NOT EXISTS (
               SELECT 1 FROM sync_runs s WHERE s.property_id = b.property_id
                 AND (s.status = ANY($2)
                      OR s.requested_at > now() - make_interval(secs => $1)))
           ON CONFLICT DO NOTHING""",
        interval_s,
        list(UNFINISHED),
    )
    return int(result.split()[-1])
