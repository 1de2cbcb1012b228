"""End-to-end helpers shared by the tests in this folder: services run in this process
against the Beds24 sandbox, and a sandbox property connected to its PMS twin.

Loaded as the conftest plugin `tests.conftest` (the root conftest is `conftest`); the test
modules import it by that name.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import uvicorn
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from channel_sync.health import EmbeddedServer
from channel_sync_testing.waiting import wait_for
from inbound_worker.app import run as run_inbound_worker
from inbound_worker.settings import InboundSettings
from outbound_worker.app import run as run_outbound_worker
from outbound_worker.settings import OutboundSettings
from starlette.types import ASGIApp
from webhook_gateway.app import create_app as create_gateway_app
from webhook_gateway.settings import GatewaySettings


@dataclass
class Running:
    url: str
    client: httpx.AsyncClient


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, headers: dict[str, str]) -> AsyncIterator[Running]:
    """`app` on a free local port, and a client for it."""
    server = EmbeddedServer(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None))
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: _started(server, [task]), timeout=15, what="server start")
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
            yield Running(url, client)
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def stack(sandbox: SandboxHandle, **outbound: Any) -> AsyncIterator[str]:
    """Gateway (its URL is yielded) and both workers; settings from `settings_env`,
    `outbound` adds to the outbound worker's."""
    server = EmbeddedServer(
        uvicorn.Config(create_gateway_app(GatewaySettings()), port=0, log_config=None)
    )
    stop = asyncio.Event()
    inbound_settings = InboundSettings(
        beds24_api_url=sandbox.url, relay_poll_interval_s=0.2, poll_enabled=False
    )
    outbound_settings = OutboundSettings(
        **{"beds24_api_url": sandbox.url, "batch_window_ms": 50, "relay_poll_interval_s": 0.2}
        | outbound
    )
    tasks = [
        asyncio.create_task(server.serve()),
        asyncio.create_task(run_inbound_worker(inbound_settings, stop, serve_health=False)),
        asyncio.create_task(run_outbound_worker(outbound_settings, stop, serve_health=False)),
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


async def connect(
    db: asyncpg.Pool,
    sandbox: SandboxHandle,
    gateway_url: str,
    *,
    name: str,
    rooms: tuple[str, ...] = ("101",),
    **seed: Any,
) -> Site:
    """A Beds24 room with one unit per PMS room in `rooms` and its PMS twin (hotel `name`,
    one room type mapped to that Beds24 room); its webhooks go to the gateway."""
    beds24 = await sandbox.seed(rooms=[{"name": "Double", "qty": len(rooms)}], **seed)
    secret = f"e2e-{uuid.uuid4().hex}"
    async with db.acquire() as conn, conn.transaction():
        prop: UUID = await conn.fetchval(
            "INSERT INTO hotel_settings (name) VALUES ($1) RETURNING id", name
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
        await conn.executemany(
            "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, $3)",
            [(prop, room_type, room) for room in rooms],
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


async def book(db: asyncpg.Pool, property_id: UUID, arrival: date, last_name: str) -> UUID:
    """The front desk books the property's room for two nights, as a PMS write: the capture
    trigger records the outbound create."""
    async with db.acquire() as conn:
        reservation: UUID = await conn.fetchval(
            """INSERT INTO reservations (property_id, room_id, arrival, departure,
                   guest_last_name, adults)
               SELECT $1, id, $2, $3, $4, 2 FROM rooms WHERE property_id = $1
               RETURNING id""",
            property_id,
            arrival,
            arrival + timedelta(days=2),
            last_name,
        )
    return reservation


async def ours(sandbox: SandboxHandle, reservation: UUID) -> list[dict[str, Any]]:
    """The Beds24 bookings the outbound worker made for `reservation`."""
    return [b for b in await sandbox.bookings() if b.get("apiReference") == f"pms-{reservation}"]
