"""Replicas batch as one worker does: the same burst of PMS changes costs three replicas no
more Beds24 calls than one worker, and ends with every reservation in Beds24 exactly once
(`handler`: the account lease, untried events taken in). Before: 15 calls against 4."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import asyncpg
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from channel_sync_testing.waiting import wait_for

from .conftest import StartWorker, connect_hotel
from .factories import Hotel, insert_reservation

D = date.today() + timedelta(days=30)
STAYS = 40


async def _all_settled(db: asyncpg.Pool, hotel: Hotel) -> bool:
    async with db.acquire() as conn:
        open_events: int = await conn.fetchval(
            """SELECT count(*) FROM channel_events
               WHERE property_id = $1 AND direction = 'outbound'
                 AND status NOT IN ('done', 'failed')""",
            hotel.property_id,
        )
    return open_events == 0


async def _burst(
    db: asyncpg.Pool, sandbox: SandboxHandle, hotel: Hotel, prop: SandboxProperty
) -> list[str]:
    """STAYS reservations made in one PMS transaction, then all changed in another: the
    Beds24 calls it took until every event was done. The hotel's own set-up (its rooms'
    availability) is sent first and not counted: whether it joins the burst's batch or
    goes alone depends on when a worker's relay meets it, not on batching."""
    await wait_for(lambda: _all_settled(db, hotel), timeout=60, what="the hotel's set-up")
    await sandbox.clear_calls()
    async with db.acquire() as conn, conn.transaction():
        made: list[UUID] = [
            await insert_reservation(
                conn,
                hotel,
                room=n % 2,
                arrival=D + timedelta(days=2 * (n // 2)),
                departure=D + timedelta(days=2 * (n // 2) + 1),
            )
            for n in range(STAYS)
        ]
    await wait_for(lambda: _all_settled(db, hotel), timeout=60, what="the creates")
    async with db.acquire() as conn:
        await conn.execute("UPDATE reservations SET adults = 3 WHERE id = ANY($1)", made)
    await wait_for(lambda: _all_settled(db, hotel), timeout=60, what="the changes")
    async with db.acquire() as conn:
        failed = await conn.fetchval(
            """SELECT count(*) FROM channel_events
               WHERE property_id = $1 AND status = 'failed'""",
            hotel.property_id,
        )
    assert failed == 0
    in_beds24 = await sandbox.bookings(prop.id)
    assert len(in_beds24) == STAYS  # each exactly once
    assert {b["numAdult"] for b in in_beds24} == {3}
    # Each replica fetches its own access token (1 credit, once a day per account and
    # replica): a fixed cost, not batching; the calls that carry the changes are counted.
    return [
        f"{c['method']} {c['path']}"
        for c in await sandbox.calls()
        if not c["path"].startswith("/authentication")
    ]


async def test_three_replicas_make_no_more_calls_than_one_worker(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, start_worker: StartWorker
) -> None:
    settings = {"batch_window_ms": 300, "busy_retry_s": 0.2}
    alone, alone_prop = await connect_hotel(db, beds24_sandbox, units=2)
    await start_worker(**settings)
    one_worker = await _burst(db, beds24_sandbox, alone, alone_prop)

    replicated, replicated_prop = await connect_hotel(db, beds24_sandbox, units=2)
    await start_worker(**settings)
    await start_worker(**settings)
    three_replicas = await _burst(db, beds24_sandbox, replicated, replicated_prop)

    assert len(three_replicas) <= len(one_worker), (three_replicas, one_worker)
