"""The shared credit budget on real Postgres: answers recorded, one credit taken per call,
RetryAfter at once (max_wait 0) or a wait for the reset while low, stop_waiting, refusals."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest
from channel_sync.beds24 import Beds24CreditsExhausted, CreditStatus
from channel_sync.beds24.credit_budget import RESET_MARGIN, CreditBudget
from channel_sync.errors import RetryAfter

ACCOUNT = "acc-1"


async def budget_row(db: asyncpg.Pool) -> asyncpg.Record | None:
    async with db.acquire() as conn:
        return await conn.fetchrow(
            "SELECT remaining, resets_at FROM beds24_credit_budgets WHERE account_id = $1",
            ACCOUNT,
        )


async def test_an_answer_is_recorded_and_a_call_takes_one_credit(db: asyncpg.Pool) -> None:
    budget = CreditBudget(db, reserve=5, max_wait_s=0)
    resets_at = datetime.now(UTC) + timedelta(minutes=2)
    await budget.recorder(ACCOUNT)(CreditStatus(Decimal("20.5"), resets_at))
    await budget.spend(ACCOUNT)
    row = await budget_row(db)
    assert row is not None and row["remaining"] == Decimal("19.5")
    assert row["resets_at"] == resets_at


async def test_an_unknown_or_expired_window_lets_the_call_find_out(db: asyncpg.Pool) -> None:
    budget = CreditBudget(db, reserve=5, max_wait_s=0)
    await budget.spend(ACCOUNT)  # no row yet
    await budget.record(ACCOUNT, CreditStatus(Decimal(0), datetime.now(UTC) - timedelta(seconds=1)))
    await budget.spend(ACCOUNT)
    row = await budget_row(db)
    assert row is not None and row["remaining"] is None


async def test_low_without_waiting_raises_retry_after_the_reset(db: asyncpg.Pool) -> None:
    budget = CreditBudget(db, reserve=5, max_wait_s=0)
    resets_at = datetime.now(UTC) + timedelta(minutes=2)
    await budget.record(ACCOUNT, CreditStatus(Decimal(5), resets_at))
    called: list[bool] = []

    async def request() -> None:
        called.append(True)

    with pytest.raises(RetryAfter) as raised:
        await budget.call(ACCOUNT, request)
    assert raised.value.not_before == resets_at + RESET_MARGIN
    assert called == []
    row = await budget_row(db)
    assert row is not None and row["remaining"] == 5  # nothing taken


async def test_low_waits_for_the_reset_when_allowed(db: asyncpg.Pool) -> None:
    waits: list[bool] = []
    budget = CreditBudget(db, reserve=5, max_wait_s=5, on_wait=lambda: waits.append(True))
    resets_at = datetime.now(UTC) + timedelta(seconds=0.3)
    await budget.record(ACCOUNT, CreditStatus(Decimal(1), resets_at))
    await budget.spend(ACCOUNT)
    assert datetime.now(UTC) >= resets_at
    assert waits == [True]


async def test_stop_waiting_releases_a_waiting_call(db: asyncpg.Pool) -> None:
    reached = asyncio.Event()
    budget = CreditBudget(db, reserve=5, max_wait_s=60, on_wait=reached.set)
    resets_at = datetime.now(UTC) + timedelta(seconds=30)
    await budget.record(ACCOUNT, CreditStatus(Decimal(1), resets_at))
    waiting = asyncio.create_task(budget.spend(ACCOUNT))
    await asyncio.wait_for(reached.wait(), timeout=2)
    assert not waiting.done()
    budget.stop_waiting()
    with pytest.raises(RetryAfter):
        await asyncio.wait_for(waiting, timeout=2)


async def test_a_refusal_empties_the_budget_until_beds24s_reset(db: asyncpg.Pool) -> None:
    budget = CreditBudget(db, reserve=5, max_wait_s=0)
    not_before = datetime.now(UTC) + timedelta(minutes=4)

    async def refused() -> None:
        raise Beds24CreditsExhausted("credits exhausted", not_before)

    with pytest.raises(Beds24CreditsExhausted):
        await budget.call(ACCOUNT, refused)
    row = await budget_row(db)
    assert row is not None and row["remaining"] == 0 and row["resets_at"] == not_before
