"""ChannelEventRepository against the real Postgres."""

from __future__ import annotations

import asyncio

import asyncpg
from channel_sync.events import Direction, EventStatus
from channel_sync.repository import ChannelEventRepository
from channel_sync_testing.factories import new_event

from .factories import insert_property

repo = ChannelEventRepository()


async def test_create_and_find_round_trip(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        created = await repo.create(conn, new_event(prop, key="k-1", correlation_id="c-1"))
        assert created is not None
        found = await repo.find_by_idempotency_key(conn, "k-1")
    assert found == created
    assert found.status is EventStatus.RECEIVED
    assert found.attempts == 0 and found.max_attempts == 3
    assert found.payload == {"booking": {"id": 1001}}


async def test_duplicate_key_returns_none(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        assert await repo.create(conn, new_event(prop, key="dup")) is not None
        assert await repo.create(conn, new_event(prop, key="dup")) is None
        assert await conn.fetchval("SELECT count(*) FROM channel_events") == 1


async def test_concurrent_inserts_of_one_key_exactly_one_wins(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)

    async def insert() -> bool:
        async with db.acquire() as conn, conn.transaction():
            return await repo.create(conn, new_event(prop, key="race")) is not None

    results = await asyncio.gather(*(insert() for _ in range(10)))
    assert results.count(True) == 1
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM channel_events") == 1


async def test_update_status_and_failed_listing(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        first = await repo.create(conn, new_event(prop))
        second = await repo.create(conn, new_event(prop))
        assert first and second
        await repo.update_status(conn, first.id, EventStatus.FAILED, "Beds24 refused: room unknown")
        await repo.update_status(conn, second.id, EventStatus.DONE)
        failed = await repo.get_failed_events(conn, 10)
        done = await repo.get(conn, second.id)
    assert [e.id for e in failed] == [first.id]
    assert failed[0].last_error == "Beds24 refused: room unknown"
    assert failed[0].processed_at is not None
    assert done is not None and done.status is EventStatus.DONE


async def test_failed_attempts_end_failed_at_max(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        event = await repo.create(conn, new_event(prop))
        assert event
        outcomes = [await repo.record_failed_attempt(conn, event.id, f"boom {i}") for i in range(3)]
        final = await repo.get(conn, event.id)
    assert [o.gave_up for o in outcomes] == [False, False, True]
    assert final and final.status is EventStatus.FAILED and final.attempts == 3
    assert final.last_error == "boom 2"


async def test_failed_never_overwrites_done(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        event = await repo.create(conn, new_event(prop))
        assert event
        await repo.mark_done(conn, event.id)
        assert await repo.mark_failed(conn, event.id, "late duplicate failed") is False
        final = await repo.get(conn, event.id)
    assert final and final.status is EventStatus.DONE and final.last_error is None


async def test_stalled_sweeps_count_attempts_and_end_failed(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        event = await repo.create(conn, new_event(prop, max_attempts=2))
        assert event
        sweeps = []
        for _ in range(2):
            await repo.mark_published(conn, [event.id])
            await conn.execute(
                "UPDATE channel_events SET updated_at = now() - interval '1 hour' WHERE id = $1",
                event.id,
            )
            sweeps.append(await repo.requeue_stalled(conn, Direction.INBOUND, 60))
        final = await repo.get(conn, event.id)
    assert [(s.requeued, s.failed) for s in sweeps] == [(1, 0), (0, 1)]
    assert final and final.status is EventStatus.FAILED and final.attempts == 2
    assert final.last_error and "crashes on it" in final.last_error


async def test_marking_published_skips_a_row_a_worker_holds_and_never_waits_for_it(
    db: asyncpg.Pool,
) -> None:
    """A publisher marks many rows at once while a worker's batch locks its rows in id order;
    waiting for the worker's rows, the two deadlocked. The held row keeps its status until
    the worker settles it; a wait the worker notes puts it in flight."""
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        held, free = [await repo.create(conn, new_event(prop)) for _ in range(2)]
    assert held and free
    async with db.acquire() as worker, worker.transaction():
        await worker.execute("SELECT 1 FROM channel_events WHERE id = $1 FOR UPDATE", held.id)
        async with db.acquire() as publisher, publisher.transaction():
            await asyncio.wait_for(repo.mark_published(publisher, [held.id, free.id]), 5)
        assert (await repo.get(worker, held.id)).status is EventStatus.RECEIVED  # type: ignore[union-attr]
        await repo.note_waiting(worker, held.id, "another worker is sending this room")
    async with db.acquire() as conn:
        statuses = {e.id: e.status for e in await repo.get_many(conn, [held.id, free.id])}
    assert statuses == {held.id: EventStatus.PROCESSING, free.id: EventStatus.PROCESSING}
