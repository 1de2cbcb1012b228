"""A channel booking cancelled in Beds24 gives its nights back: the inbound worker's
cancellation records an availability event (no booking event: nothing echoed), and the
outbound worker raises the `numAvail` we had lowered. Gateway, inbound and outbound workers
run in this process against the Beds24 sandbox.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import asyncpg
from beds24_sandbox.handle import SandboxHandle
from channel_sync.beds24 import Beds24Client
from channel_sync_testing.waiting import wait_for

from tests.conftest import connect, stack

ARRIVAL = date.today() + timedelta(days=30)
DEPARTURE = ARRIVAL + timedelta(days=2)
# The night before, the booking's two nights, and the night of its departure.
AROUND = [ARRIVAL + timedelta(days=n) for n in range(-1, 3)]


async def num_avail(client: Beds24Client, room_id: int) -> list[int]:
    """numAvail of each night in AROUND, as Beds24 shows it."""
    [room] = await client.get_calendar([room_id], AROUND[0], AROUND[-1])
    days: dict[date, int] = {}
    for entry in room["calendar"]:
        day = date.fromisoformat(entry["from"])
        while day <= date.fromisoformat(entry["to"]):
            days[day] = entry["numAvail"]
            day += timedelta(days=1)
    return [days.get(night, -1) for night in AROUND]


async def test_a_cancellation_in_beds24_raises_the_num_avail_we_lowered(
    settings_env: dict[str, str], db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    async with stack(beds24_sandbox) as gateway_url:
        # Two rooms, 101 and 102; credits to spare: the test reads the calendar until it
        # shows what it waits for.
        site = await connect(
            db,
            beds24_sandbox,
            gateway_url,
            name="Availability Hotel",
            rooms=("101", "102"),
            credit_limit=1000,
        )
        client = Beds24Client(beds24_sandbox.url, site.beds24.account.refresh_token)
        async with client:

            async def shows(expected: list[int]) -> bool:
                return await num_avail(client, site.room_id) == expected

            made = await beds24_sandbox.guest_booking(site.room_id, ARRIVAL, DEPARTURE)
            guest = await wait_for(lambda: _reservation(db, made["id"]), what="the reservation")
            assert guest is not None
            # The front desk takes the other room out of service: the PMS now has no room
            # left on the booking's nights, and pushes 0 for them.
            async with db.acquire() as conn:
                await conn.execute(
                    """UPDATE rooms SET is_active = false
                       WHERE property_id = $1 AND id IS DISTINCT FROM $2""",
                    site.property_id,
                    guest["room_id"],
                )
            await wait_for(
                lambda: shows([1, 0, 0, 1]), timeout=15, interval=0.3, what="numAvail lowered"
            )

            await beds24_sandbox.cancel_guest_booking(made["id"])
            await wait_for(
                lambda: shows([1, 1, 1, 1]), timeout=15, interval=0.3, what="numAvail raised"
            )

        freed = await _availability_events(db, site.property_id, guest["id"])
        assert [(e["payload"]["from"], e["payload"]["to"]) for e in freed][-1] == (
            ARRIVAL.isoformat(),
            (DEPARTURE - timedelta(days=1)).isoformat(),
        )
        assert await _booking_events(db, site.property_id) == 0  # no echo to Beds24
        assert await beds24_sandbox.calls(method="POST", path="/bookings") == []


async def _reservation(db: asyncpg.Pool, booking_id: int) -> asyncpg.Record | None:
    async with db.acquire() as conn:
        return await conn.fetchrow(
            "SELECT * FROM reservations WHERE beds24_booking_id = $1 AND room_id IS NOT NULL",
            booking_id,
        )


async def _availability_events(
    db: asyncpg.Pool, property_id: UUID, reservation_id: UUID
) -> list[asyncpg.Record]:
    async with db.acquire() as conn:
        return list(
            await conn.fetch(
                """SELECT * FROM channel_events WHERE property_id = $1 AND direction = 'outbound'
                     AND event_type = 'pms.availability.update' AND entity_internal_id = $2
                   ORDER BY received_at""",
                property_id,
                reservation_id,
            )
        )


async def _booking_events(db: asyncpg.Pool, property_id: UUID) -> int:
    async with db.acquire() as conn:
        count: int = await conn.fetchval(
            """SELECT count(*) FROM channel_events
               WHERE property_id = $1 AND direction = 'outbound' AND entity_type = 'booking'""",
            property_id,
        )
    return count
