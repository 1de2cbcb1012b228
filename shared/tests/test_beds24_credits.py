"""Credits: both header spellings read as decimals, the callback, refusal as its own error
carrying when to try again (whatever status Beds24 refuses with), and the window reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from beds24_sandbox.handle import SandboxHandle
from channel_sync.beds24 import (
    Beds24Client,
    Beds24CreditsExhausted,
    Beds24Rejected,
    CreditStatus,
)
from channel_sync.beds24.credits import parse_credit_headers
from channel_sync.errors import RetryAfter
from channel_sync_testing.waiting import wait_for


def test_headers_parse_in_both_spellings() -> None:
    now = datetime(2031, 1, 1, tzinfo=UTC)
    live = httpx.Headers(
        {
            "x-five-min-limit-remaining": "97.6",
            "x-five-min-limit-resets-in": "120",
            "x-request-cost": "1.5",
        }
    )
    openapi = httpx.Headers(
        {
            "X-FiveMinCreditLimit-Remaining": "12",
            "X-FiveMinCreditLimit-ResetsIn": "30",
            "X-RequestCost": "0.25",
        }
    )
    assert parse_credit_headers(live, now=now) == CreditStatus(
        Decimal("97.6"), now + timedelta(seconds=120), Decimal("1.5")
    )
    assert parse_credit_headers(openapi, now=now) == CreditStatus(
        Decimal("12"), now + timedelta(seconds=30), Decimal("0.25")
    )
    assert parse_credit_headers(httpx.Headers({}), now=now) is None
    garbage = httpx.Headers({"x-five-min-limit-remaining": "lots"})
    assert parse_credit_headers(garbage, now=now) is None


@pytest.mark.parametrize("style", ["live", "openapi"])
async def test_client_exposes_credits_and_calls_back(
    beds24_sandbox: SandboxHandle, style: str
) -> None:
    await beds24_sandbox.configure(credit_headers=style)
    prop = await beds24_sandbox.seed(credit_limit=50)
    seen: list[CreditStatus] = []

    async def record(status: CreditStatus) -> None:
        seen.append(status)

    async with Beds24Client(
        beds24_sandbox.url, prop.account.refresh_token, on_credits=record
    ) as client:
        await client.get_bookings()
        await client.get_properties()
    sandbox_view = await beds24_sandbox.credits(prop.account.account_id)
    assert client.credits is not None
    assert client.credits.remaining == Decimal(str(sandbox_view["remaining"]))
    assert client.credits.request_cost == Decimal("1.01")
    assert (
        datetime.now(UTC) < client.credits.resets_at <= datetime.now(UTC) + timedelta(seconds=301)
    )
    assert len(seen) == 3, "token, bookings and properties were each charged"
    assert seen[-1] == client.credits


async def test_a_failing_callback_does_not_fail_the_call(beds24_sandbox: SandboxHandle) -> None:
    prop = await beds24_sandbox.seed()

    async def broken(_: CreditStatus) -> None:
        raise RuntimeError("database down")

    async with Beds24Client(
        beds24_sandbox.url, prop.account.refresh_token, on_credits=broken
    ) as client:
        assert await client.get_properties()


async def test_spent_credits_raise_retry_after_with_reset_time(
    beds24_sandbox: SandboxHandle,
) -> None:
    prop = await beds24_sandbox.seed(credit_limit=3, window_s=120)
    async with Beds24Client(beds24_sandbox.url, prop.account.refresh_token) as client:
        await client.get_properties()  # token 1 + 1.01
        with pytest.raises(Beds24CreditsExhausted) as caught:
            await client.get_properties()
    assert isinstance(caught.value, RetryAfter)
    assert caught.value.status_code == 429
    wait = (caught.value.not_before - datetime.now(UTC)).total_seconds()
    assert 100 < wait <= 120
    assert (await beds24_sandbox.credits(prop.account.account_id))["refused"] == 1


@pytest.mark.parametrize("status", [429, 400, 200])
async def test_refusal_is_recognised_whatever_the_status(
    beds24_sandbox: SandboxHandle, status: int
) -> None:
    prop = await beds24_sandbox.seed()
    async with Beds24Client(beds24_sandbox.url, prop.account.refresh_token) as client:
        await client.get_properties()
        await beds24_sandbox.inject_fault("credits", path="/bookings", status=status)
        with pytest.raises(Beds24CreditsExhausted) as caught:
            await client.write_bookings([{"roomId": prop.room_ids[0]}])
        assert not isinstance(caught.value, Beds24Rejected)
        assert await beds24_sandbox.bookings() == []


async def test_credits_come_back_when_the_window_ends(beds24_sandbox: SandboxHandle) -> None:
    prop = await beds24_sandbox.seed(credit_limit=2.5, window_s=1)
    async with Beds24Client(beds24_sandbox.url, prop.account.refresh_token) as client:
        await client.get_properties()
        with pytest.raises(Beds24CreditsExhausted) as caught:
            await client.get_properties()
        assert caught.value.not_before <= datetime.now(UTC) + timedelta(seconds=1)

        async def succeeds() -> bool:
            try:
                await client.get_properties()
            except Beds24CreditsExhausted:
                return False
            return True

        await wait_for(succeeds, timeout=5, interval=0.1, what="credits to reset")
