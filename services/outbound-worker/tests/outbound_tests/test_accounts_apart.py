"""Accounts are batched and paced apart (`outbound_worker.lanes`): while one account's next
batch waits for its credits, another account's change goes out within its own window."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from uuid import UUID

import asyncpg
from beds24_sandbox.handle import SandboxHandle
from channel_sync_testing.waiting import wait_for

from .conftest import StartWorker, connect_hotel
from .factories import insert_reservation

D = date.today() + timedelta(days=45)


async def _settled(db: asyncpg.Pool, reservation: UUID) -> bool:
    async with db.acquire() as conn:
        open_events: int = await conn.fetchval(
            """SELECT count(*) FROM channel_events
               WHERE entity_internal_id = $1 AND status NOT IN ('done', 'failed')""",
            reservation,
        )
    return open_events == 0


async def test_an_account_paced_for_credits_does_not_hold_back_another(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, start_worker: StartWorker
) -> None:
    # 20 credits a 30 s window: after its first batch the account has ~12 to spend, under
    # PACE_BELOW_CREDITS, so its next batch waits about 4 * 30 / 12 = 10 s.
    short, short_account = await connect_hotel(db, beds24_sandbox, credit_limit=20, window_s=30)
    plenty, plenty_account = await connect_hotel(db, beds24_sandbox, credit_limit=100, window_s=30)
    await start_worker(batch_window_ms=100, pace_below_credits=50, batch_credits=4)
    async with db.acquire() as conn:
        first = await insert_reservation(conn, short, arrival=D, departure=D + timedelta(days=1))
    await wait_for(lambda: _settled(db, first), timeout=20, what="the short account's create")

    async with db.acquire() as conn:
        await conn.execute("UPDATE reservations SET adults = 4 WHERE id = $1", first)
        other = await insert_reservation(conn, plenty, arrival=D, departure=D + timedelta(days=2))
    loop_time = asyncio.get_running_loop().time
    since = loop_time()
    await wait_for(lambda: _settled(db, other), timeout=20, what="the other account's create")
    other_took = loop_time() - since

    assert other_took < 4.0, f"the other account waited {other_took:.1f} s"
    assert not await _settled(db, first)  # the short account's change still waits its turn
    await wait_for(lambda: _settled(db, first), timeout=40, what="the paced change")
    assert loop_time() - since > 4.0  # it waited for its pause, not for the other account
    for prop in (short_account, plenty_account):
        assert (await beds24_sandbox.credits(prop.account.account_id))["refused"] == 0
