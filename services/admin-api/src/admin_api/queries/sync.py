"""sync_runs, drift_records and beds24_properties.sync_policy, as the admin API reads and
requests them (the inbound worker does the runs); and what an operator's decision on a drift
record reads and writes (the rules are `routes.sync`'s). Every statement takes the caller's
connection, inside its transaction where it writes."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
from channel_sync.db import Connection
from channel_sync.events import Direction, NewChannelEvent
from channel_sync.inbound import ENTITY_TYPE, MODIFIED
from channel_sync.pms_changes import record_reservation_change
from channel_sync.pms_origin import mark_beds24_origin
from channel_sync.repository import ChannelEventRepository

from admin_api.schemas.sync import DriftQuery, DriftRecord, SyncRun

_events = ChannelEventRepository()

_RUN = """SELECT id, property_id, kind, status, stage, progress, requested_by, last_error,
                 requested_at, started_at, updated_at, finished_at FROM sync_runs"""
_DRIFT = """SELECT id, property_id, run_id, kind, subject, beds24_value, pms_value, status,
                   resolution, event_id, decision, found_at, last_seen_at, resolved_at
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


# An operator's decision (routes.sync.decide_drift).


async def drift_record(
    conn: Connection, drift_id: UUID, *, lock: bool = False
) -> DriftRecord | None:
    row = await conn.fetchrow(_DRIFT + " WHERE id = $1" + (" FOR UPDATE" if lock else ""), drift_id)
    return None if row is None else DriftRecord.model_validate(dict(row))


async def lock_sync_of(conn: Connection, property_id: UUID, *, wait_s: float) -> bool:
    """The lock a sync run's step holds on the property (`inbound_worker.sync.runs.claim`),
    until the transaction ends: a decision never lands in the middle of a step that is
    comparing the same stays. False if a step held it longer than `wait_s`."""
    before = await conn.fetchval("SELECT current_setting('lock_timeout')")
    await conn.execute(
        "SELECT set_config('lock_timeout', $1, true)", f"{max(1, int(wait_s * 1000))}ms"
    )
    try:
        async with conn.transaction():  # a savepoint: a lock timeout ends only this
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('beds24-sync:' || $1, 0))",
                str(property_id),
            )
    except asyncpg.LockNotAvailableError:
        return False
    finally:
        await conn.execute("SELECT set_config('lock_timeout', $1, true)", before)
    return True


async def lock_booking(conn: Connection, booking_id: int) -> None:
    """The lock the inbound worker holds while it applies a version of this Beds24 booking
    (`inbound_worker.reservations.lock_booking`), until the transaction ends."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('beds24-booking:' || $1::bigint::text, 0))",
        booking_id,
    )


async def reservation_to_link(conn: Connection, reservation_id: UUID) -> asyncpg.Record | None:
    """The reservation, row-locked, with what a link must know of it."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT r.id, r.property_id, r.status, r.beds24_booking_id, r.beds24_qty_booking_id,
                  EXISTS (SELECT 1 FROM beds24_pending_creates p WHERE p.reservation_id = r.id)
                  OR EXISTS (SELECT 1 FROM channel_events e
                             WHERE e.direction = 'outbound' AND e.entity_type = 'booking'
                               AND e.entity_internal_id = r.id
                               AND e.status IN ('received', 'processing')) AS sending
           FROM reservations r WHERE r.id = $1 FOR UPDATE OF r""",
        reservation_id,
    )
    return row


async def holder_of(conn: Connection, booking_id: int) -> UUID | None:
    """The reservation holding this Beds24 booking id (any property), row-locked."""
    holder: UUID | None = await conn.fetchval(
        "SELECT id FROM reservations WHERE beds24_booking_id = $1 FOR UPDATE", booking_id
    )
    return holder


async def link(conn: Connection, reservation_id: UUID, booking_id: int) -> None:
    """Give the reservation the Beds24 booking's id, as the inbound worker stores a booking it
    matched (`inbound_worker.own_bookings`): the write is Beds24's (the capture trigger sends
    nothing back), and the booking is recorded as made by Beds24 (a channel or Beds24 itself:
    our own creates carry our reference and are matched by it, never proposed)."""
    await mark_beds24_origin(conn)
    await conn.execute(
        """UPDATE reservations SET beds24_booking_id = $2, made_by = 'beds24'
           WHERE id = $1 AND beds24_booking_id IS NULL""",
        reservation_id,
        booking_id,
    )


async def last_holder(conn: Connection, property_id: UUID, booking_id: int) -> UUID | None:
    """The reservation an applied version of this Beds24 booking last went to (its inbound
    event names it); None if none was ever applied."""
    holder: UUID | None = await conn.fetchval(
        """SELECT entity_internal_id FROM channel_events
           WHERE property_id = $1 AND direction = 'inbound' AND entity_type = 'booking'
             AND entity_external_id = $2 AND entity_internal_id IS NOT NULL
           ORDER BY received_at DESC LIMIT 1""",
        property_id,
        str(booking_id),
    )
    return holder


async def record_refetch(
    conn: Connection, property_id: UUID, booking_id: int, *, key: str, correlation_id: str
) -> UUID | None:
    """An inbound event naming the booking only (as a V1 ping, or a run's Beds24 win): the
    inbound worker fetches Beds24's current state and applies it to the PMS as current."""
    event = await _events.create(
        conn,
        NewChannelEvent(
            property_id=property_id,
            direction=Direction.INBOUND,
            event_type=MODIFIED,
            entity_type=ENTITY_TYPE,
            entity_external_id=str(booking_id),
            idempotency_key=key,
            payload={"v1": {"bookid": booking_id, "status": "modify"}, "source": "decision"},
            correlation_id=correlation_id,
        ),
    )
    return None if event is None else event.id


async def record_pms_state(
    conn: Connection, reservation_id: UUID, *, correlation_id: str
) -> UUID | None:
    """The capture path's outbound event: the outbound worker sends the reservation's
    current state to Beds24. None if the property is not connected."""
    return await record_reservation_change(conn, reservation_id, correlation_id=correlation_id)


async def record_cancel_in_beds24(
    conn: Connection,
    property_id: UUID,
    reservation_id: UUID,
    booking_id: int,
    *,
    correlation_id: str,
) -> UUID | None:
    """The event the capture trigger records when a linked reservation is deleted: the
    outbound worker, finding no reservation, cancels the Beds24 booking. None if the
    property is not connected."""
    event_id: UUID | None = await conn.fetchval(
        """SELECT channel_sync_record_booking_change($1, $2, 'pms.booking.cancel', $3, $4)
           WHERE channel_sync_connected($2)""",
        reservation_id,
        property_id,
        booking_id,
        correlation_id,
    )
    return event_id


async def record_nights(
    conn: Connection,
    property_id: UUID,
    beds24_room_id: str,
    first: date,
    last: date,
    *,
    source_id: UUID,
    correlation_id: str,
) -> UUID | None:
    """An availability event for these nights of the Beds24 room (the PMS's free units are
    sent, as for any change that frees or takes them); None if the room is not mapped."""
    event_id: UUID | None = await conn.fetchval(
        """SELECT channel_sync_record_availability_change($1, $2, $3, $4, $5, $6)
           WHERE EXISTS (SELECT 1 FROM channel_sync_room_map
                         WHERE property_id = $1 AND beds24_room_id = $2 AND is_active)
             AND channel_sync_connected($1)""",
        property_id,
        beds24_room_id,
        first,
        last,
        source_id,
        correlation_id,
    )
    return event_id


async def decide(
    conn: Connection,
    drift_id: UUID,
    *,
    status: str,
    decision: dict[str, Any],
    resolution: str,
    event_id: UUID | None,
) -> DriftRecord:
    """Close the open record with the operator's decision; both values stay as found."""
    row = await conn.fetchrow(
        """UPDATE drift_records SET status = $2, decision = $3, resolution = $4,
               event_id = coalesce($5, event_id), resolved_at = now()
           WHERE id = $1 AND status = 'open'
           RETURNING id""",
        drift_id,
        status,
        decision,
        resolution,
        event_id,
    )
    assert row is not None  # locked open by the caller
    decided = await drift_record(conn, drift_id)
    assert decided is not None
    return decided
