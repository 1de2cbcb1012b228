"""ChannelEventRepository: the SQL on channel_events the services share.

What only operators ask of the events (listing, timelines, statistics, retries) lives in the
admin-api (admin_api.queries.events), on top of this class.

Methods take the caller's connection, so they join the caller's transaction; the repository
never opens one itself.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from pydantic_core import to_json

from channel_sync.db import Connection
from channel_sync.events import ChannelEvent, Direction, EventStatus, NewChannelEvent

EVENT_COLUMNS = """id, property_id, direction, event_type, entity_type, entity_external_id,
    entity_internal_id, idempotency_key, payload, status, attempts, max_attempts, last_error,
    received_at, processed_at, next_attempt_at, published_at, correlation_id, outcome_note,
    updated_at"""

# Longest error text kept per event: enough for Beds24's messages, bounded for the table.
_MAX_ERROR_CHARS = 2000


def event_of(record: asyncpg.Record) -> ChannelEvent:
    return ChannelEvent(**dict(record))


def _clip(error: str | None) -> str | None:
    return None if error is None else error[:_MAX_ERROR_CHARS]


@dataclass(frozen=True)
class Inserted:
    """What `create_many` answers per new row."""

    id: UUID
    event_type: str


@dataclass(frozen=True)
class StalledSweep:
    requeued: int
    failed: int


@dataclass(frozen=True)
class FailedAttempt:
    attempts: int
    max_attempts: int
    gave_up: bool


class ChannelEventRepository:
    # --- create, find, update, list failed ------------------------------------------------

    async def create(
        self,
        conn: Connection,
        event: NewChannelEvent,
        *,
        publish_after_s: float = 0.0,
    ) -> ChannelEvent | None:
        """Insert as `received`; None when the idempotency key exists already (a duplicate).

        `publish_after_s` holds the row back from the relay, for producers that publish
        themselves right after commit; the relay still takes it if they never do.
        """
        record = await conn.fetchrow(
            f"""
            INSERT INTO channel_events (property_id, direction, event_type, entity_type,
                entity_external_id, entity_internal_id, idempotency_key, payload,
                max_attempts, correlation_id, next_attempt_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                    now() + make_interval(secs => $11))
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING {EVENT_COLUMNS}
            """,
            event.property_id,
            str(event.direction),
            event.event_type,
            event.entity_type,
            event.entity_external_id,
            event.entity_internal_id,
            event.idempotency_key,
            event.payload,
            event.max_attempts,
            event.correlation_id,
            publish_after_s,
        )
        return None if record is None else event_of(record)

    async def create_many(
        self,
        conn: Connection,
        events: builtins.list[NewChannelEvent],
        *,
        publish_after_s: float = 0.0,
        booking_ids: builtins.list[int | None] | None = None,
        types_if_known: builtins.list[str | None] | None = None,
    ) -> dict[str, Inserted]:
        """`create` for many events in one statement; returns those inserted by idempotency
        key (a key already stored, or repeated within `events`, is a duplicate and left out;
        the first of a repeated key wins). Only ids and types come back: a hot path has no
        use for its own payloads.

        With `booking_ids` (a Beds24 booking id per event, or None), the same statement
        links each event to the PMS reservation holding that booking and, where there is
        one, gives it the event type of `types_if_known`: a look-up and an insert in one
        round trip and one snapshot."""
        if not events:
            return {}
        count = len(events)
        records = await conn.fetch(
            """
            INSERT INTO channel_events (property_id, direction, event_type, entity_type,
                entity_external_id, entity_internal_id, idempotency_key, payload,
                max_attempts, correlation_id, next_attempt_at)
            SELECT e.p, e.d, CASE WHEN r.id IS NULL OR e.tk IS NULL THEN e.t ELSE e.tk END,
                   e.et, e.ext, COALESCE(e.int_id, r.id), e.k, e.pl::jsonb, e.ma, e.c,
                   now() + make_interval(secs => $13)
            FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                        $6::uuid[], $7::text[], $8::text[], $9::int[], $10::text[],
                        $11::text[], $12::bigint[])
                 WITH ORDINALITY AS e(p, d, t, et, ext, int_id, k, pl, ma, c, tk, b, n)
            LEFT JOIN LATERAL (
                SELECT id FROM reservations WHERE beds24_booking_id = e.b ORDER BY id LIMIT 1
            ) r ON e.b IS NOT NULL
            ORDER BY e.n
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING idempotency_key, id, event_type
            """,
            [e.property_id for e in events],
            [str(e.direction) for e in events],
            [e.event_type for e in events],
            [e.entity_type for e in events],
            [e.entity_external_id for e in events],
            [e.entity_internal_id for e in events],
            [e.idempotency_key for e in events],
            [to_json(e.payload).decode() for e in events],  # pydantic-core's: 3x json's speed
            [e.max_attempts for e in events],
            [e.correlation_id for e in events],
            types_if_known or [None] * count,
            booking_ids or [None] * count,
            publish_after_s,
        )
        return {r["idempotency_key"]: Inserted(r["id"], r["event_type"]) for r in records}

    async def defer_publish_many(self, conn: Connection, event_ids: builtins.list[UUID]) -> None:
        """Hand rows the producer could not publish to the relay, now."""
        await conn.execute(
            """UPDATE channel_events SET next_attempt_at = now(), updated_at = now()
               WHERE id = ANY($1::uuid[]) AND status = 'received'""",
            event_ids,
        )

    async def find_by_idempotency_key(self, conn: Connection, key: str) -> ChannelEvent | None:
        record = await conn.fetchrow(
            f"SELECT {EVENT_COLUMNS} FROM channel_events WHERE idempotency_key = $1", key
        )
        return None if record is None else event_of(record)

    async def update_status(
        self,
        conn: Connection,
        event_id: UUID,
        status: EventStatus,
        error: str | None = None,
        *,
        note: str | None = None,
    ) -> None:
        await conn.execute(
            """
            UPDATE channel_events
            SET status = $2::varchar,
                last_error = COALESCE($3, last_error),
                outcome_note = COALESCE($4, outcome_note),
                processed_at = CASE WHEN $2::varchar IN ('done', 'failed') THEN now()
                                    ELSE processed_at END,
                updated_at = now()
            WHERE id = $1
            """,
            event_id,
            str(status),
            _clip(error),
            note,
        )

    async def mark_many_done(
        self, conn: Connection, event_ids: Sequence[UUID], *, note: str | None = None
    ) -> None:
        """`mark_done` for many events in one statement (a batch's thousands stay quick)."""
        await conn.execute(
            """UPDATE channel_events
               SET status = 'done', outcome_note = COALESCE($2, outcome_note),
                   processed_at = now(), updated_at = now()
               WHERE id = ANY($1::uuid[])""",
            list(event_ids),
            note,
        )

    async def mark_applied(
        self, conn: Connection, applied: Sequence[tuple[UUID, UUID | None, str]]
    ) -> None:
        """Many events done at once, each with the PMS row it applied to (its
        `entity_internal_id`) and its own note: (event id, row id, note)."""
        await conn.execute(
            """UPDATE channel_events e
               SET status = 'done', outcome_note = a.note,
                   entity_internal_id = COALESCE(a.row_id, e.entity_internal_id),
                   processed_at = now(), updated_at = now()
               FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS a(id, row_id, note)
               WHERE e.id = a.id""",
            [event_id for event_id, _, _ in applied],
            [row_id for _, row_id, _ in applied],
            [note for _, _, note in applied],
        )

    async def get_failed_events(self, conn: Connection, limit: int) -> list[ChannelEvent]:
        records = await conn.fetch(
            f"""SELECT {EVENT_COLUMNS} FROM channel_events WHERE status = 'failed'
                ORDER BY received_at DESC, id DESC LIMIT $1""",
            limit,
        )
        return [event_of(r) for r in records]

    # --- reading --------------------------------------------------------------------------

    async def get(self, conn: Connection, event_id: UUID) -> ChannelEvent | None:
        record = await conn.fetchrow(
            f"SELECT {EVENT_COLUMNS} FROM channel_events WHERE id = $1", event_id
        )
        return None if record is None else event_of(record)

    async def get_many(
        self, conn: Connection, event_ids: builtins.list[UUID]
    ) -> builtins.list[ChannelEvent]:
        """The events that exist among `event_ids` (any order): for batching consumers."""
        records = await conn.fetch(
            f"SELECT {EVENT_COLUMNS} FROM channel_events WHERE id = ANY($1::uuid[])", event_ids
        )
        return [event_of(r) for r in records]

    async def lock(self, conn: Connection, event_id: UUID) -> ChannelEvent | None:
        """Lock the row for this transaction (workers: one applier per event at a time)."""
        record = await conn.fetchrow(
            f"SELECT {EVENT_COLUMNS} FROM channel_events WHERE id = $1 FOR UPDATE", event_id
        )
        return None if record is None else event_of(record)

    # --- life cycle -----------------------------------------------------------------------

    async def mark_published(self, conn: Connection, event_ids: builtins.list[UUID]) -> None:
        """`received` → `processing`; never overwrites a worker's later status. A row a worker
        has locked is skipped, not waited for: the worker already has its message and sets
        its status itself, and a worker's batch locks its rows in id order while this marks
        many at once (waiting, the two deadlocked: gateway marks against inbound batches)."""
        await conn.execute(
            """UPDATE channel_events SET status = 'processing', published_at = now(),
                   updated_at = now()
               WHERE id IN (SELECT id FROM channel_events
                            WHERE id = ANY($1::uuid[]) AND status = 'received'
                            FOR UPDATE SKIP LOCKED)""",
            event_ids,
        )

    async def claim_for_relay(
        self, conn: Connection, direction: Direction, limit: int
    ) -> builtins.list[ChannelEvent]:
        """Lock due `received` rows; other relay replicas skip them (use in a transaction)."""
        records = await conn.fetch(
            f"""SELECT {EVENT_COLUMNS} FROM channel_events
                WHERE status = 'received' AND direction = $1 AND next_attempt_at <= now()
                ORDER BY next_attempt_at, received_at
                LIMIT $2 FOR UPDATE SKIP LOCKED""",
            str(direction),
            limit,
        )
        return [event_of(r) for r in records]

    async def requeue_stalled(
        self, conn: Connection, direction: Direction, older_than_s: float
    ) -> StalledSweep:
        """`processing` rows untouched for too long: their message was lost, or a worker keeps
        dying on it. Each sweep counts an attempt, so a poison event ends `failed` instead of
        being republished forever; the rest go back to the relay."""
        rows = await conn.fetch(
            """
            UPDATE channel_events
            SET attempts = COALESCE(attempts, 0) + 1,
                status = CASE WHEN COALESCE(attempts, 0) + 1 >= COALESCE(max_attempts, 3)
                              THEN 'failed' ELSE 'received' END,
                last_error = CASE WHEN COALESCE(attempts, 0) + 1 >= COALESCE(max_attempts, 3)
                                  THEN $3 ELSE last_error END,
                processed_at = CASE WHEN COALESCE(attempts, 0) + 1 >= COALESCE(max_attempts, 3)
                                    THEN now() ELSE processed_at END,
                next_attempt_at = now(),
                updated_at = now()
            WHERE status = 'processing' AND direction = $1
              AND updated_at < now() - make_interval(secs => $2)
            RETURNING status
            """,
            str(direction),
            older_than_s,
            f"no worker finished it within {older_than_s:.0f}s, several times: its message "
            "was lost or a worker crashes on it; check the worker logs, then retry",
        )
        failed = sum(1 for r in rows if r["status"] == "failed")
        return StalledSweep(requeued=len(rows) - failed, failed=failed)

    async def mark_done(self, conn: Connection, event_id: UUID, *, note: str | None = None) -> None:
        await self.update_status(conn, event_id, EventStatus.DONE, note=note)

    async def mark_failed(self, conn: Connection, event_id: UUID, reason: str) -> bool:
        """`failed` with the reason; False (and nothing changed) if the event is already done,
        e.g. a duplicate delivery failing after its twin applied the change."""
        result = await conn.execute(
            """UPDATE channel_events
               SET status = 'failed', last_error = $2, processed_at = now(), updated_at = now()
               WHERE id = $1 AND status <> 'done'""",
            event_id,
            _clip(reason),
        )
        return result != "UPDATE 0"

    async def record_failed_attempt(
        self, conn: Connection, event_id: UUID, reason: str
    ) -> FailedAttempt:
        """Count one failed attempt; the event ends `failed` once attempts reach the maximum."""
        record = await conn.fetchrow(
            """
            UPDATE channel_events
            SET attempts = COALESCE(attempts, 0) + 1,
                last_error = $2,
                status = CASE WHEN COALESCE(attempts, 0) + 1 >= COALESCE(max_attempts, 3)
                              THEN 'failed' ELSE 'processing' END,
                processed_at = CASE WHEN COALESCE(attempts, 0) + 1 >= COALESCE(max_attempts, 3)
                                    THEN now() ELSE processed_at END,
                updated_at = now()
            WHERE id = $1 AND status <> 'done'
            RETURNING attempts, max_attempts, status
            """,
            event_id,
            _clip(reason),
        )
        if record is None:  # done meanwhile (a concurrent redelivery won): nothing to retry
            return FailedAttempt(0, 0, gave_up=False)
        return FailedAttempt(
            record["attempts"], record["max_attempts"], gave_up=record["status"] == "failed"
        )

    async def note_waiting(self, conn: Connection, event_id: UUID, reason: str) -> None:
        """Record why an event waits without counting an attempt (e.g. credits). Its message
        waits in a retry queue: a row still `received` (its publisher's mark skipped it while
        the worker held it: `mark_published`) is in flight, not the relay's to publish."""
        await conn.execute(
            """UPDATE channel_events
               SET last_error = $2, updated_at = now(),
                   status = CASE WHEN status = 'received' THEN 'processing' ELSE status END
               WHERE id = $1""",
            event_id,
            _clip(reason),
        )
