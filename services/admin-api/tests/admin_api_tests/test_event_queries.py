"""The operators' queries on channel_events (admin_api.queries.events) against the real
Postgres: moved here from the shared repository's tests with the code they test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg
import pytest
from admin_api.queries.events import Cursor, EventAdmin, EventFilter
from channel_sync.events import Direction, EventStatus
from channel_sync_testing.factories import new_event

from .factories import insert_property

repo = EventAdmin()


async def test_filtered_keyset_listing(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        other = await insert_property(conn, "Other")
        for i in range(7):
            await repo.create(
                conn, new_event(prop, direction=Direction.OUTBOUND if i % 2 else Direction.INBOUND)
            )
        await repo.create(conn, new_event(other))
        seen: list[str] = []
        cursor = None
        while True:
            page, total = await repo.list(
                conn, EventFilter(property_id=prop), limit=3, after=cursor
            )
            seen += [str(e.id) for e in page]
            if len(page) < 3:
                break
            cursor = Cursor(page[-1].received_at, page[-1].id)
        outbound, outbound_total = await repo.list(
            conn, EventFilter(direction=Direction.OUTBOUND), limit=50
        )
    assert total == 7 and len(seen) == 7 and len(set(seen)) == 7
    assert outbound_total == 3 and all(e.direction is Direction.OUTBOUND for e in outbound)


def test_cursor_round_trip_and_rejects_garbage() -> None:
    cursor = Cursor(datetime.now(UTC) - timedelta(minutes=1), uuid4())
    assert Cursor.decode(cursor.encode()) == cursor
    with pytest.raises(ValueError):
        Cursor.decode("not-a-cursor")


async def test_admin_reset_refuses_in_flight_and_needs_flag_for_done(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        event = await repo.create(conn, new_event(prop))
        assert event
        await repo.mark_published(conn, [event.id])
        assert await repo.reset_for_retry(conn, event.id) is None  # processing: in flight
        await repo.mark_done(conn, event.id)
        assert await repo.reset_for_retry(conn, event.id) is None
        replay = await repo.reset_for_retry(conn, event.id, allow_done=True)
    assert replay is not None and replay.status is EventStatus.RECEIVED and replay.attempts == 0
