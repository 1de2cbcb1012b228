"""sync_runs, drift_records and beds24_properties.sync_policy, as the admin API reads and
requests them (the inbound worker does the runs)."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from channel_sync.db import Connection

from admin_api.schemas.sync import DriftQuery, DriftRecord, SyncRun

_RUN = """SELECT id, property_id, kind, status, stage, progress, requested_by, last_error,
                 requested_at, started_at, updated_at, finished_at FROM sync_runs"""
_DRIFT = """SELECT id, property_id, run_id, kind, subject, beds24_value, pms_value, status,
                   resolution, event_id, found_at, last_seen_at, resolved_at
            FROM drift_records"""


async def request(conn: Connection, property_id: UUID, kind: str) -> SyncRun | None:
    """A new run; None when one of the property is unfinished already."""
    row = await conn.fetchrow(
        """INSERT INTO sync_runs (property_id, kind) VALUES ($1, $2)
           ON CONFLICT DO NOTHING RETURNING id""",
        property_id,
        kind,
    )
    return None if row is None else await get(conn, row["id"])


async def unfinished_of(conn: Connection, property_id: UUID) -> SyncRun | None:
    row = await conn.fetchrow(
        _RUN + " WHERE property_id = $1 AND status IN ('requested', 'running')", property_id
    )
    return None if row is None else SyncRun.model_validate(dict(row))


async def get(conn: Connection, run_id: UUID) -> SyncRun | None:
    row = await conn.fetchrow(_RUN + " WHERE id = $1", run_id)
    return None if row is None else SyncRun.model_validate(dict(row))


async def of_property(conn: Connection, property_id: UUID, limit: int = 50) -> list[SyncRun]:
    rows = await conn.fetch(
        _RUN + " WHERE property_id = $1 ORDER BY requested_at DESC LIMIT $2", property_id, limit
    )
    return [SyncRun.model_validate(dict(r)) for r in rows]


async def initial_sync_done(conn: Connection, property_id: UUID) -> bool:
    done: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM sync_runs WHERE property_id = $1
                          AND kind = 'initial' AND status = 'done')""",
        property_id,
    )
    return done


_DRIFT_MATCH = """WHERE ($1::uuid IS NULL OR property_id = $1)
                     AND ($2::text IS NULL OR status = $2)
                     AND ($3::text IS NULL OR kind = $3)"""


async def drift(conn: Connection, query: DriftQuery) -> tuple[list[DriftRecord], int]:
    args = (query.property_id, query.status, query.kind)
    total: int = await conn.fetchval(
        """SELECT count(*) FROM drift_records
           WHERE ($1::uuid IS NULL OR property_id = $1)
             AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR kind = $3)""",
        *args,
    )
    rows: list[asyncpg.Record] = await conn.fetch(
        _DRIFT + " " + _DRIFT_MATCH + " ORDER BY found_at DESC, id LIMIT $4 OFFSET $5",
        *args,
        query.limit,
        query.offset,
    )
    return [DriftRecord.model_validate(dict(r)) for r in rows], total


async def set_policy(conn: Connection, property_id: UUID, policy: str) -> bool:
    result: str = await conn.execute(
        "UPDATE beds24_properties SET sync_policy = $2, updated_at = now() WHERE property_id = $1",
        property_id,
        policy,
    )
    return result != "UPDATE 0"


async def policy_of(conn: Connection, property_id: UUID) -> str | None:
    policy: str | None = await conn.fetchval(
        "SELECT sync_policy FROM beds24_properties WHERE property_id = $1", property_id
    )
    return policy
