"""Credits: one budget per Beds24 account; waiting for the reset instead of being refused,
and a refusal anyway retried after the reset without counting as a failed attempt."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import asyncpg
import pytest
from beds24_sandbox.handle import SandboxHandle
from channel_sync.beds24.credit_budget import CreditBudget
from channel_sync_testing.waiting import wait_for

from .conftest import StartWorker, connect_hotel
from .factories import Hotel, insert_reservation

D = date.today() + timedelta(days=50)


async def _hotel(db: asyncpg.Pool, sandbox: SandboxHandle, **account: float) -> tuple[Hotel, int]:
    hotel, prop = await connect_hotel(db, sandbox, units=2, **account)
    async with db.acquire() as conn:
        await conn.execute("DELETE FROM channel_events")  # the rooms' own availability events
    return hotel, prop.account.account_id


async def _booking_event(db: asyncpg.Pool, reservation: UUID) -> asyncpg.Record | None:
    async with db.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT status, attempts, last_error FROM channel_events "
            "WHERE entity_internal_id = $1 AND entity_type = 'booking'",
            reservation,
        )
    return row if row is not None and row["status"] in ("done", "failed") else None


async def test_refusal_for_credits_is_retried_after_the_reset_without_counting(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, start_worker: StartWorker
) -> None:
    hotel, _ = await _hotel(db, beds24_sandbox, window_s=2)
    await beds24_sandbox.inject_fault("credits", method="POST", path="/bookings")
    await start_worker()
    async with db.acquire() as conn:
        res = await insert_reservation(conn, hotel, arrival=D, departure=D + timedelta(days=1))
    row = await wait_for(lambda: _booking_event(db, res), timeout=15, what="event settled")
    assert row["status"] == "done"
    assert row["attempts"] == 0  # waiting for credits is not a failed attempt
    assert "credits" in row["last_error"]
    posts = await beds24_sandbox.calls(method="POST", path="/bookings")
    assert [c["status"] for c in posts] == [429, 201]
    assert len(await beds24_sandbox.bookings()) == 1


async def test_low_budget_waits_for_the_reset_instead_of_being_refused(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, start_worker: StartWorker
) -> None:
    # 8 credits per 3 s; each reservation costs about 2 (bookings + calendar), the token 1.
    hotel, account_id = await _hotel(db, beds24_sandbox, credit_limit=8, window_s=3)
    await start_worker(credit_reserve=3)
    for n in range(4):  # one at a time, so each is its own batch
        async with db.acquire() as conn:
            res = await insert_reservation(
                conn,
                hotel,
                arrival=D + timedelta(days=3 * n),
                departure=D + timedelta(days=3 * n + 1),
            )
        row = await wait_for(
            lambda res=res: _booking_event(db, res), timeout=15, what="event settled"
        )
        assert row["status"] == "done"
    calls = await beds24_sandbox.calls()
    credits = await beds24_sandbox.credits(account_id)
    assert credits["refused"] == 0
    assert sum(c["cost"] for c in calls) > 8  # more than one window's worth: it waited
    async with db.acquire() as conn:
        budget = await conn.fetchrow(
            "SELECT remaining, resets_at FROM beds24_credit_budgets WHERE account_id = $1",
            str(account_id),
        )
    assert budget is not None and budget["resets_at"] is not None


async def test_batches_keep_flowing_when_the_credit_pacing_cannot_be_read(
    db: asyncpg.Pool,
    beds24_sandbox: SandboxHandle,
    start_worker: StartWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hotel, account_id = await _hotel(db, beds24_sandbox)

    async def unreadable(*_: object, **__: object) -> float:
        raise ConnectionResetError("the budget's database connection dropped")

    monkeypatch.setattr(CreditBudget, "pause_s", unreadable)
    await start_worker()
    for n in range(2):  # one at a time: the pause is asked (and fails) after each batch
        async with db.acquire() as conn:
            res = await insert_reservation(
                conn,
                hotel,
                arrival=D + timedelta(days=3 * n),
                departure=D + timedelta(days=3 * n + 1),
            )
        row = await wait_for(
            lambda res=res: _booking_event(db, res), timeout=15, what="event settled"
        )
        assert row["status"] == "done"
    assert len(await beds24_sandbox.bookings()) == 2
    assert (await beds24_sandbox.credits(account_id))["refused"] == 0
