"""What only operators ask of channel_events: filtered, keyset-paginated listings, a
booking's timeline, failures by reason, retries and statistics; on top of the services'
shared ChannelEventRepository. Methods take the caller's connection."""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from channel_sync.db import Connection
from channel_sync.events import ChannelEvent, Direction, EventStatus
from channel_sync.repository import EVENT_COLUMNS, ChannelEventRepository


class AdminEvent(ChannelEvent):
    """An event as operators see it: the shared row plus its dead-letter resolution (an
    operator said it needs nothing more: fixed by hand, or not ours)."""

    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_note: str | None = None


ADMIN_COLUMNS = EVENT_COLUMNS + ", resolved_at, resolved_by, resolution_note"


def event_of(record: Any) -> AdminEvent:
    return AdminEvent(**dict(record))


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
    # Dead letters only: failed events no operator has resolved.
    unresolved: bool = False
    # 'booking', or 'availability' (availability, prices and restrictions of a Beds24 room).
    entity_type: str | None = None

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
            ("entity_type", "=", self.entity_type),
        ):
            if value is not None:
                args.append(str(value) if isinstance(value, str) else value)
                conditions.append(f"{column} {op} ${start + len(args) - 1}")
        if self.unresolved:
            conditions.append("resolved_at IS NULL")
        return (" AND ".join(conditions) or "TRUE"), args


# Microseconds since 0001-01-01T00:00:00Z, a dot, the event id as 32 hex digits. Every string
# of this form is a position (a time past 9999 is read as the latest one), so the pattern
# the OpenAPI document gives for `cursor` is exactly what is accepted.
CURSOR_PATTERN = r"^([0-9]{1,18})\.([0-9a-f]{32})$"
_CURSOR = re.compile(CURSOR_PATTERN)
_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the (received_at, id) of the last event on the previous page."""

    received_at: datetime
    event_id: UUID

    def encode(self) -> str:
        at = self.received_at
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
        return f"{(at - _FIRST) // _MICROSECOND}.{self.event_id.hex}"

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Raises ValueError for anything not of CURSOR_PATTERN. In UTC, and never past
        9999, so that no hand-made time overflows when Postgres gets it."""
        match = _CURSOR.fullmatch(token)
        if match is None:
            raise ValueError("malformed cursor")
        micros = min(int(match[1]), (_LAST - _FIRST) // _MICROSECOND)
        return cls(_FIRST + micros * _MICROSECOND, UUID(hex=match[2]))


@dataclass(frozen=True)
class RoomActivity:
    """One Beds24 room's availability, price and restriction events, collapsed."""

    property_id: UUID
    beds24_room_id: str | None
    room_type_id: UUID | None
    events: int
    waiting: int
    failed: int
    latest_at: datetime
    latest_id: UUID
    latest_type: str
    latest_status: str


class EventAdmin(ChannelEventRepository):
    """The shared repository, and the operators' reads and retries (rows as AdminEvent)."""

    async def get(self, conn: Connection, event_id: UUID) -> AdminEvent | None:
        record = await conn.fetchrow(
            f"SELECT {ADMIN_COLUMNS} FROM channel_events WHERE id = $1", event_id
        )
        return None if record is None else event_of(record)

    async def lock(self, conn: Connection, event_id: UUID) -> AdminEvent | None:
        record = await conn.fetchrow(
            f"SELECT {ADMIN_COLUMNS} FROM channel_events WHERE id = $1 FOR UPDATE", event_id
        )
        return None if record is None else event_of(record)

    async def list(
        self,
        conn: Connection,
        event_filter: EventFilter,
        *,
        limit: int,
        after: Cursor | None = None,
    ) -> tuple[builtins.list[AdminEvent], int]:
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
            f"""SELECT {ADMIN_COLUMNS} FROM channel_events WHERE {where}
                ORDER BY received_at DESC, id DESC LIMIT ${len(page_args)}""",
            *page_args,
        )
        return [event_of(r) for r in records], int(total)

    async def rooms(
        self, conn: Connection, event_filter: EventFilter, *, limit: int, offset: int
    ) -> tuple[builtins.list[RoomActivity], int]:
        """Availability, price and restriction events collapsed to one line per Beds24 room
        (or, for a room type's prices with no Beds24 room, per room type), the most recently
        active first; `total` counts the rooms."""
        scoped = replace(event_filter, entity_type="availability")
        where, args = scoped.where()
        grouped = f"""
            SELECT property_id, entity_external_id AS beds24_room_id,
                   CASE WHEN entity_external_id IS NULL THEN entity_internal_id END
                       AS room_type_id,
                   count(*) AS events,
                   count(*) FILTER (WHERE status IN ('received', 'processing')) AS waiting,
                   count(*) FILTER (WHERE status = 'failed' AND resolved_at IS NULL) AS failed,
                   max(received_at) AS latest_at,
                   (array_agg(id ORDER BY received_at DESC, id DESC))[1] AS latest_id,
                   (array_agg(event_type ORDER BY received_at DESC, id DESC))[1] AS latest_type,
                   (array_agg(status ORDER BY received_at DESC, id DESC))[1] AS latest_status
            FROM channel_events WHERE {where}
            GROUP BY 1, 2, 3"""
        total = await conn.fetchval(f"SELECT count(*) FROM ({grouped}) g", *args)
        n = len(args)
        records = await conn.fetch(
            grouped
            + f""" ORDER BY latest_at DESC, property_id, beds24_room_id, room_type_id
                          LIMIT ${n + 1} OFFSET ${n + 2}""",
            *args,
            limit,
            offset,
        )
        return [RoomActivity(**dict(r)) for r in records], int(total)

    async def timeline(
        self, conn: Connection, event: ChannelEvent, *, limit: int = 200
    ) -> builtins.list[AdminEvent]:
        """Every event of the same booking (by Beds24 booking id or PMS reservation id) in
        the event's property, oldest first: what that booking went through, both ways."""
        records = await conn.fetch(
            f"""SELECT {ADMIN_COLUMNS} FROM channel_events
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
        return [event_of(r) for r in records]

    async def failed_by_reason(
        self, conn: Connection, *, limit: int = 100
    ) -> builtins.list[tuple[str | None, int, datetime]]:
        """Dead letters (failed, not resolved) grouped by their last error: (reason, count,
        latest received_at), the largest groups first."""
        records = await conn.fetch(
            """SELECT last_error, count(*) AS n, max(received_at) AS latest
               FROM channel_events WHERE status = 'failed' AND resolved_at IS NULL
               GROUP BY last_error ORDER BY n DESC, latest DESC LIMIT $1""",
            limit,
        )
        return [(r["last_error"], int(r["n"]), r["latest"]) for r in records]

    async def reset_for_retry(
        self,
        conn: Connection,
        event_id: UUID,
        *,
        allow_done: bool = False,
        publish_after_s: float = 0.0,
    ) -> AdminEvent | None:
        """Admin retry: attempts 0, `received`, any resolution cleared (if it fails again it
        is a dead letter again; the audit trail keeps the resolution). None if the event is
        in flight (or done without `allow_done`). `publish_after_s` holds it back from the
        relay, as in `create`."""
        allowed = ["failed", "done"] if allow_done else ["failed"]
        record = await conn.fetchrow(
            f"""
            UPDATE channel_events
            SET status = 'received', attempts = 0,
                next_attempt_at = now() + make_interval(secs => $3),
                processed_at = NULL, updated_at = now(),
                resolved_at = NULL, resolved_by = NULL, resolution_note = NULL
            WHERE id = $1 AND status = ANY($2::text[])
            RETURNING {ADMIN_COLUMNS}
            """,
            event_id,
            allowed,
            publish_after_s,
        )
        return None if record is None else event_of(record)

    async def reset_failed_matching(
        self,
        conn: Connection,
        event_filter: EventFilter,
        *,
        limit: int,
        publish_after_s: float = 0.0,
    ) -> builtins.list[AdminEvent]:
        """Bulk retry of dead letters chosen by a listing filter (its status is ignored):
        failed events an operator resolved are left as they are."""
        scoped = replace(event_filter, status=EventStatus.FAILED, unresolved=True)
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
            RETURNING {ADMIN_COLUMNS}
            """,
            *args,
        )
        return [event_of(r) for r in records]

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
