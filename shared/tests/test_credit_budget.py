"""The shared credit budget on real Postgres: answers recorded, each request's estimated cost
taken by the gate, RetryAfter at once (max_wait 0) or a wait for the reset while low,
stop_waiting, refusals counted, and the pause that spreads short credits until the reset."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest
from channel_sync.beds24 import Beds24CreditsExhausted, CreditStatus
from channel_sync.beds24.credit_budget import RESET_MARGIN, CreditBudget, request_cost
from channel_sync.errors import RetryAfter
from channel_sync.metrics import BEDS24_CREDIT_REFUSALS

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

    gate = budget.gate(ACCOUNT)

    async def request() -> None:  # what a client gated by the budget does
        await gate("GET", "/bookings", None)
        called.append(True)

    with pytest.raises(RetryAfter) as raised:
        await budget.call(ACCOUNT, request)
    assert raised.value.not_before == resets_at + RESET_MARGIN
    assert called == []
    row = await budget_row(db)
    assert row is not None and row["remaining"] == 5  # nothing taken


async def test_low_waits_for_the_reset_when_allowed(db: asyncpg.Pool) -> None:
    waits: list[bool] = []
    budget = CreditBudget(db, reserve=5, max_wait_s=5, on_wait=lambda s: waits.append(s > 0))
    resets_at = datetime.now(UTC) + timedelta(seconds=0.3)
    await budget.record(ACCOUNT, CreditStatus(Decimal(1), resets_at))
    await budget.spend(ACCOUNT)
    assert datetime.now(UTC) >= resets_at
    assert waits == [True]


async def test_stop_waiting_releases_a_waiting_call(db: asyncpg.Pool) -> None:
    reached = asyncio.Event()
    budget = CreditBudget(db, reserve=5, max_wait_s=60, on_wait=lambda _: reached.set())
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

    counted = BEDS24_CREDIT_REFUSALS._value.get()
    with pytest.raises(Beds24CreditsExhausted):
        await budget.call(ACCOUNT, refused)
    row = await budget_row(db)
    assert row is not None and row["remaining"] == 0 and row["resets_at"] == not_before
    assert BEDS24_CREDIT_REFUSALS._value.get() == counted + 1


def test_a_request_is_estimated_by_its_kind_and_size() -> None:
    assert request_cost("GET", "/authentication/details") == 0  # free
    assert request_cost("GET", "/authentication/token") == 1
    assert request_cost("GET", "/bookings") == Decimal("1.5")  # a page of 100
    assert request_cost("POST", "/bookings", [{}] * 200) == 3


async def test_the_gate_takes_a_write_by_its_size_and_holds_what_it_cannot_pay(
    db: asyncpg.Pool,
) -> None:
    budget = CreditBudget(db, reserve=5, max_wait_s=0)
    gate = budget.gate(ACCOUNT)
    await budget.record(
        ACCOUNT, CreditStatus(Decimal(10), datetime.now(UTC) + timedelta(minutes=2))
    )
    await gate("POST", "/bookings", [{}] * 200)
    row = await budget_row(db)
    assert row is not None and row["remaining"] == 7
    with pytest.raises(RetryAfter):  # 7 - 3 would leave less than the reserve
        await gate("POST", "/bookings", [{}] * 200)
    await gate("GET", "/authentication/details", None)  # free: never held


async def test_pause_spreads_short_credits_until_the_reset(db: asyncpg.Pool) -> None:
    budget = CreditBudget(db, reserve=5, max_wait_s=0)
    resets_at = datetime.now(UTC) + timedelta(seconds=100)
    await budget.record(ACCOUNT, CreditStatus(Decimal(85), resets_at))
    pause = budget.pause_s
    assert await pause([ACCOUNT], batch_cost=4, short_below=50) == 0  # plenty
    assert await pause(["another"], batch_cost=4, short_below=50) == 0  # unknown account
    await budget.record(ACCOUNT, CreditStatus(Decimal(45), resets_at))
    # 40 to spend over ~100 s at 4 a batch: one batch every ~10 s.
    assert 9 < await pause([ACCOUNT], batch_cost=4, short_below=50) <= 10.5
    await budget.record(ACCOUNT, CreditStatus(Decimal(7), resets_at))
    assert 99 < await pause([ACCOUNT], batch_cost=4, short_below=50) <= 100.5  # the reset


async def test_a_pause_holds_every_replica_until_it_ends_or_credits_return(
    db: asyncpg.Pool,
) -> None:
    """The pause one replica's batch asked for is what another replica's batch for the same
    account still has to wait (`paced_s`); a pause of 0 (credits back) ends it."""
    budget, other_replica = (CreditBudget(db, reserve=5, max_wait_s=0) for _ in range(2))
    resets_at = datetime.now(UTC) + timedelta(seconds=100)
    assert await other_replica.paced_s([ACCOUNT]) == 0  # nothing recorded
    await budget.record(ACCOUNT, CreditStatus(Decimal(45), resets_at))
    pause = await budget.pause_s([ACCOUNT], batch_cost=4, short_below=50)
    assert pause > 9
    held = await other_replica.paced_s([ACCOUNT])
    assert pause - 1 < held <= pause
    assert await other_replica.paced_s(["another"]) == 0  # only its own account
    await budget.record(ACCOUNT, CreditStatus(Decimal(100), resets_at + timedelta(seconds=300)))
    assert await budget.pause_s([ACCOUNT], batch_cost=4, short_below=50) == 0
    assert await other_replica.paced_s([ACCOUNT]) == 0
