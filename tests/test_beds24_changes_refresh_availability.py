"""A channel booking cancelled in Beds24 gives its nights back: the inbound worker's
cancellation records an availability event (no booking event: nothing echoed), and the
outbound worker raises the `numAvail` we had lowered. Gateway, inbound and outbound workers
run in this process against the Beds24 sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

import asyncpg
import uvicorn
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from channel_sync.beds24 import Beds24Client
from channel_sync.health import EmbeddedServer
from channel_sync.testing.waiting import wait_for
from inbound_worker.app import run as run_inbound_worker
from inbound_worker.settings import InboundSettings
from outbound_worker.app import run as run_outbound_worker
from outbound_worker.settings import OutboundSettings
from webhook_gateway.app import create_app as create_gateway_app
from webhook_gateway.settings import GatewaySettings

ARRIVAL = date.today() + timedelta(days=30)
DEPARTURE = ARRIVAL + timedelta(days=2)
# The night before, the booking's two nights, and the night of its departure.
AROUND = [ARRIVAL + timedelta(days=n) for n in range(-1, 3)]


@contextlib.asynccontextmanager
async def stack(sandbox: SandboxHandle) -> AsyncIterator[str]:
    """Gateway (its URL is yielded) and both workers; settings from `settings_env`."""
    server = EmbeddedServer(
        uvicorn.Config(create_gateway_app(GatewaySettings()), port=0, log_config=None)
    )
    stop = asyncio.Event()
    inbound = InboundSettings(
        beds24_api_url=sandbox.url, relay_poll_interval_s=0.2, poll_enabled=False
    )
    outbound = OutboundSettings(
        beds24_api_url=sandbox.url, batch_window_ms=50, relay_poll_interval_s=0.2
    )
    tasks = [
        asyncio.create_task(server.serve()),
        asyncio.create_task(run_inbound_worker(inbound, stop, serve_health=False)),
        asyncio.create_task(run_outbound_worker(outbound, stop, serve_health=False)),
    ]
    try:
        await wait_for(lambda: _started(server, tasks), timeout=15, what="gateway start")
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        assert not any(t.done() for t in tasks), "a service stopped by itself"
    finally:
        server.should_exit = True
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)


async def _started(server: uvicorn.Server, tasks: list[asyncio.Task[None]]) -> bool:
    for task in tasks:
        if task.done():
            task.result()
            raise AssertionError("a service stopped during start")
    return server.started


@dataclass(frozen=True)
class Site:
    property_id: UUID
    beds24: SandboxProperty

    @property
    def room_id(self) -> int:
        return self.beds24.room_ids[0]


async def connect(db: asyncpg.Pool, sandbox: SandboxHandle, gateway_url: str) -> Site:
    """A Beds24 room of 2 units and its PMS twin (rooms 101, 102), webhooks to the gateway."""
    # Credits to spare: the test reads the calendar until it shows what it waits for.
    beds24 = await sandbox.seed(rooms=[{"name": "Double", "qty": 2}], credit_limit=1000)
    secret = f"avail-{uuid.uuid4().hex}"
    async with db.acquire() as conn, conn.transaction():
        prop: UUID = await conn.fetchval(
            "INSERT INTO hotel_settings (name) VALUES ('Availability Hotel') RETURNING id"
        )
        await conn.execute(
            """INSERT INTO beds24_properties (property_id, beds24_property_id, account_id,
                   refresh_token) VALUES ($1, $2, $3, $4)""",
            prop,
            beds24.id,
            str(beds24.account.account_id),
            beds24.account.refresh_token,
        )
        await conn.execute(
            "INSERT INTO webhook_secrets (property_id, secret_sha256) VALUES ($1, $2)",
            prop,
            hashlib.sha256(secret.encode()).hexdigest(),
        )
        room_type = await conn.fetchval(
            "INSERT INTO room_types (property_id, name) VALUES ($1, 'Double') RETURNING id", prop
        )
        await conn.execute(
            """INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id)
               VALUES ($1, 'room_type', $2, $3)""",
            prop,
            room_type,
            str(beds24.room_ids[0]),
        )
        await conn.execute(
            """INSERT INTO rooms (property_id, room_type_id, name)
               VALUES ($1, $2, '101'), ($1, $2, '102')""",
            prop,
            room_type,
        )
    await sandbox.update_property(
        beds24.id,
        webhook={
            "urls": [f"{gateway_url}/webhooks/beds24/{prop}"],
            "custom_header": f"Authorization: Bearer {secret}",
            "version": "twoWithPersonalData",
        },
    )
    return Site(prop, beds24)


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
        site = await connect(db, beds24_sandbox, gateway_url)
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
