"""Inventory holds end to end: a hold placed in the PMS takes its unit off Beds24 within
seconds, and when it expires the reaper gives it back, also within seconds (both workers in
this process against the Beds24 sandbox)."""

from __future__ import annotations

import time
from datetime import date, timedelta
from uuid import UUID

import asyncpg
from beds24_sandbox.handle import SandboxHandle
from channel_sync.beds24 import Beds24Client
from channel_sync.holds import HoldTarget, place_hold
from channel_sync_testing.waiting import wait_for

from tests.conftest import connect, stack

ARRIVAL = date.today() + timedelta(days=20)
DEPARTURE = ARRIVAL + timedelta(days=2)
HOLD_S = 4.0


async def test_a_hold_closes_its_unit_on_beds24_and_its_expiry_opens_it_again(
    settings_env: dict[str, str], db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    async with stack(beds24_sandbox) as gateway_url:
        site = await connect(
            db, beds24_sandbox, gateway_url, name="Hold Hotel", rooms=("1",), credit_limit=1000
        )
        async with Beds24Client(beds24_sandbox.url, site.beds24.account.refresh_token) as api:

            async def shows(expected: int) -> bool:
                [room] = await api.get_calendar([site.room_id], ARRIVAL, ARRIVAL)
                return [c["numAvail"] for c in room["calendar"]] == [expected]

            await wait_for(lambda: shows(1), timeout=15, interval=0.3, what="the room on sale")
            async with db.acquire() as conn, conn.transaction():
                kind: UUID = await conn.fetchval(
                    "SELECT id FROM room_types WHERE property_id = $1", site.property_id
                )
                await place_hold(
                    conn,
                    site.property_id,
                    HoldTarget(room_type_id=kind),
                    arrival=ARRIVAL,
                    departure=DEPARTURE,
                    lasts=timedelta(seconds=HOLD_S),
                    reference="cart-42",
                    placed_by="booking engine",
                )
                expires = time.monotonic() + HOLD_S
            await wait_for(lambda: shows(0), timeout=HOLD_S, interval=0.2, what="the unit held")

            # Given back within 5 s of the expiry plus the batch window and calendar spacing.
            await wait_for(
                lambda: shows(1),
                timeout=expires - time.monotonic() + 5 + 0.05 + 1.5,
                interval=0.2,
                what="the unit back on sale after the hold expired",
            )
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT status FROM inventory_holds") == "expired"
