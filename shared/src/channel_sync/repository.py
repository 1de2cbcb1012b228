"""ChannelEventRepository: every SQL statement on channel_events, in one place.

Methods take the caller's connection, so they join the caller's transaction; the repository
never opens one itself.
"""

from __future__ import annotations

import base64
import builtins
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from channel_sync.db import Connection
from channel_sync.events import ChannelEvent, Direction, EventStatus, NewChannelEvent

_COLUMNS = """id, property_id, direction, event_type, entity_type, entity_external_id,
    entity_internal_id, idempotency_key, payload, status, attempts, max_attempts, last_error,
    received_at, processed_at, next_attempt_at, published_at, correlation_id, outcome_note,
    updated_at"""

# Longest error text kept per event: enough for Beds24's messages, bounded for the table.
_MAX_ERROR_CHARS = 2000


def _event(record: asyncpg.Record) -> ChannelEvent:
    return ChannelEvent(**dict(record))


def _clip(error: str | None) -> str | None:
    return None if error is None else error[:_MAX_ERROR_CHARS]


@dataclass(frozen=True)
class Inserted:
    """What `create_many` answers per new row."""

    id: UUID
    event_type: str


@dataclass(frozen=True)
class EventFilter:
    status: EventStatus | None = None
    direction: Direction | None = None
    event_type: str | None = None
    property_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    # The Beds24 booking id (or room id, for availability events) the event is about.
    entity_external_id: str | None = None
    # Exactly this reason: an operator retrying every failed event of one reason.
    last_error: str | None = None

    def where(self, start: int = 1) -> tuple[str, list[Any]]:
        """SQL conditions and their arguments, numbered from `$start`."""
        conditions: list[str] = []
        args: list[Any] = []
        for column, op, value in (
            ("status", "=", self.status),
            ("direction", "=", self.direction),
            ("event_type", "=", self.event_type),
            ("property_id", "=", self.property_id),
            ("received_at", ">=", self.since),
            ("received_at", "<", self.until),
            ("entity_external_id", "=", self.entity_external_id),
            ("last_error", "=", self.last_error),
        ):
            if value is not None:
                args.append(str(value) if isinstance(value, str) else value)
                conditions.append(f"{column} {op} ${start + len(args) - 1}")
        return (" AND ".join(conditions) or "TRUE"), args


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the (received_at, id) of the last event on the previous page."""

    received_at: datetime
    event_id: UUID

    def encode(self) -> str:
        raw = json.dumps([self.received_at.isoformat(), str(self.event_id)])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Raises ValueError for anything that is not a cursor this class produced."""
        try:
            padded = token + "=" * (-len(token) % 4)
            received_at, event_id = json.loads(base64.urlsafe_b64decode(padded))
            at = datetime.fromisoformat(received_at)
            # In UTC, so that no hand-made time overflows when Postgres gets it.
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
            return cls(at, UUID(event_id))
        except (TypeError, ValueError, OverflowError, AttributeError) as exc:
            raise ValueError("malformed cursor") from exc


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
    # --- the seed's methods -------------------------------------------------------------

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
            RETURNING {_COLUMNS}
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
        return None if record is None else _event(record)

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
            [json.dumps(e.payload) for e in events],
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
            f"SELECT {_COLUMNS} FROM channel_events WHERE idempotency_key = $1", key
        )
        return None if record is None else _event(record)

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

    async def get_failed_events(self, conn: Connection, limit: int) -> list[ChannelEvent]:
        records = await conn.fetch(
            f"""SELECT {_COLUMNS} FROM channel_events WHERE status = 'failed'
                ORDER BY received_at DESC, id DESC LIMIT $1""",
            limit,
        )
        return [_event(r) for r in records]

    # --- reading --------------------------------------------------------------------------

    async def get(self, conn: Connection, event_id: UUID) -> ChannelEvent | None:
        record = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM channel_events WHERE id = $1", event_id
        )
        return None if record is None else _event(record)

    async def get_many(
        self, conn: Connection, event_ids: builtins.list[UUID]
    ) -> builtins.list[ChannelEvent]:
        """The events that exist among `event_ids` (any order): for batching consumers."""
        records = await conn.fetch(
            f"SELECT {_COLUMNS} FROM channel_events WHERE id = ANY($1::uuid[])", event_ids
        )
        return [_event(r) for r in records]

    async def lock(self, conn: Connection, event_id: UUID) -> ChannelEvent | None:
        """Lock the row for this transaction (workers: one applier per event at a time)."""
        record = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM channel_events WHERE id = $1 FOR UPDATE", event_id
        )
        return None if record is None else _event(record)

    async def list(
        self,
        conn: Connection,
        event_filter: EventFilter,
        *,
        limit: int,
        after: Cursor | None = None,
    ) -> tuple[builtins.list[ChannelEvent], int]:
        """Newest first, keyset-paginated; `total` counts every match of the filter."""
        where, args = event_filter.where()
        total = await conn.fetchval(f"SELECT count(*) FROM channel_events WHERE {where}", *args)
        page_args = list(args)
        if after is not None:
            page_args += [after.received_at, after.event_id]
            n = len(page_args)
            where = f"{where} AND (received_at, id) < (${n - 1}, ${n})"
        page_args.append(limit)
        records = await conn.fetch(
            f"""SELECT {_COLUMNS} FROM channel_events WHERE {where}
                ORDER BY received_at DESC, id DESC LIMIT ${len(page_args)}""",
            *page_args,
        )
        return [_event(r) for r in records], int(total)

    async def timeline(
        self, conn: Connection, event: ChannelEvent, *, limit: int = 200
    ) -> builtins.list[ChannelEvent]:
        """Every event of the same booking (by Beds24 booking id or PMS reservation id) in
        the event's property, oldest first: what that booking went through, both ways."""
        records = await conn.fetch(
            f"""SELECT {_COLUMNS} FROM channel_events
                WHERE property_id = $1 AND entity_type = $2
                  AND (entity_external_id = $3 OR entity_internal_id = $4 OR id = $5)
                ORDER BY received_at, id LIMIT $6""",
            event.property_id,
            event.entity_type,
            event.entity_external_id,
            event.entity_internal_id,
            event.id,
            limit,
        )
        return [_event(r) for r in records]

    async def failed_by_reason(
        self, conn: Connection, *, limit: int = 100
    ) -> builtins.list[tuple[str | None, int, datetime]]:
        """Failed events grouped by their last error: (reason, count, latest received_at),
        the largest groups first."""
        records = await conn.fetch(
            """SELECT last_error, count(*) AS n, max(received_at) AS latest
               FROM channel_events WHERE status = 'failed'
               GROUP BY last_error ORDER BY n DESC, latest DESC LIMIT $1""",
            limit,
        )
        return [(r["last_error"], int(r["n"]), r["latest"]) for r in records]

    # --- life cycle -----------------------------------------------------------------------

    async def mark_published(self, conn: Connection, event_ids: builtins.list[UUID]) -> None:
        """`received` → `processing`; never overwrites a worker's later status."""
        await conn.execute(
            """UPDATE channel_events SET status = 'processing', published_at = now(),
                   updated_at = now()
               WHERE id = ANY($1::uuid[]) AND status = 'received'""",
            event_ids,
        )

    async def defer_publish(self, conn: Connection, event_id: UUID) -> None:
        """Hand a row the producer could not publish to the relay, now."""
        await conn.execute(
            """UPDATE channel_events SET next_attempt_at = now(), updated_at = now()
               WHERE id = $1 AND status = 'received'""",
            event_id,
        )

    async def claim_for_relay(
        self, conn: Connection, direction: Direction, limit: int
    ) -> builtins.list[ChannelEvent]:
        """Lock due `received` rows; other relay replicas skip them (use in a transaction)."""
        records = await conn.fetch(
            f"""SELECT {_COLUMNS} FROM channel_events
                WHERE status = 'received' AND direction = $1 AND next_attempt_at <= now()
                ORDER BY next_attempt_at, received_at
                LIMIT $2 FOR UPDATE SKIP LOCKED""",
            str(direction),
            limit,
        )
        return [_event(r) for r in records]

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
        """Record why an event waits without counting an attempt (e.g. credits)."""
        await conn.execute(
            "UPDATE channel_events SET last_error = $2, updated_at = now() WHERE id = $1",
            event_id,
            _clip(reason),
        )

    async def reset_for_retry(
        self,
        conn: Connection,
        event_id: UUID,
        *,
        allow_done: bool = False,
        publish_after_s: float = 0.0,
    ) -> ChannelEvent | None:
        """Admin retry: attempts 0, `received`. None if the event is in flight (or done
        without `allow_done`). `publish_after_s` holds it back from the relay, as in `create`."""
        allowed = ["failed", "done"] if allow_done else ["failed"]
        record = await conn.fetchrow(
            f"""
            UPDATE channel_events
            SET status = 'received', attempts = 0,
                next_attempt_at = now() + make_interval(secs => $3),
                processed_at = NULL, updated_at = now()
            WHERE id = $1 AND status = ANY($2::text[])
            RETURNING {_COLUMNS}
            """,
            event_id,
            allowed,
            publish_after_s,
        )
        return None if record is None else _event(record)

    async def reset_failed_matching(
        self,
        conn: Connection,
        event_filter: EventFilter,
        *,
        limit: int,
        publish_after_s: float = 0.0,
    ) -> builtins.list[ChannelEvent]:
        """Bulk retry of `failed` events chosen by a listing filter (its status is ignored)."""
        scoped = replace(event_filter, status=EventStatus.FAILED)
        where, args = scoped.where()
        args += [limit, publish_after_s]
        records = await conn.fetch(
            f"""
            UPDATE channel_events
            SET status = 'received', attempts = 0,
                next_attempt_at = now() + make_interval(secs => ${len(args)}),
                processed_at = NULL, updated_at = now()
            WHERE id IN (SELECT id FROM channel_events WHERE {where}
                         ORDER BY received_at LIMIT ${len(args) - 1} FOR UPDATE SKIP LOCKED)
            RETURNING {_COLUMNS}
            """,
            *args,
        )
        return [_event(r) for r in records]

    # --- operator statistics ----------------------------------------------------------------

    async def count_by_direction_and_status(
        self, conn: Connection
    ) -> dict[tuple[Direction, EventStatus], int]:
        records = await conn.fetch(
            "SELECT direction, status, count(*) AS n FROM channel_events GROUP BY 1, 2"
        )
        return {(Direction(r["direction"]), EventStatus(r["status"])): r["n"] for r in records}

    async def oldest_unfinished(self, conn: Connection) -> dict[Direction, tuple[datetime, float]]:
        """Per direction: received_at of the oldest `received`/`processing` event and its age
        in seconds by the database clock."""
        records = await conn.fetch(
            """SELECT direction, min(received_at) AS oldest,
                      extract(epoch FROM now() - min(received_at))::float8 AS age_s
               FROM channel_events WHERE status IN ('received', 'processing')
               GROUP BY direction"""
        )
        return {Direction(r["direction"]): (r["oldest"], r["age_s"]) for r in records}
