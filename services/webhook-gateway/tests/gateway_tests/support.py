"""Helpers for the gateway tests: the app served by uvicorn in this process, a tap on
inbound messages, and Beds24-shaped webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import uvicorn
from aio_pika.abc import AbstractQueue
from channel_sync.health import EmbeddedServer
from channel_sync_testing.waiting import wait_for
from webhook_gateway.app import create_app
from webhook_gateway.settings import GatewaySettings

from conftest import TEST_RETRY_DELAYS_MS

SECRET = "test-webhook-secret-1"
BEDS24_PROPERTY_ID = 424242


@dataclass(frozen=True)
class Hotel:
    property_id: UUID
    secret: str

    @property
    def path(self) -> str:
        return f"/webhooks/beds24/{self.property_id}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


async def add_secret(conn: asyncpg.Connection, property_id: UUID, secret: str) -> UUID:
    value: UUID = await conn.fetchval(
        "INSERT INTO webhook_secrets (property_id, secret_sha256) VALUES ($1, $2) RETURNING id",
        property_id,
        hashlib.sha256(secret.encode()).hexdigest(),
    )
    return value


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def gateway_settings(database_url: str, amqp_url: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "rabbitmq_url": amqp_url,
        "retry_delays_ms": TEST_RETRY_DELAYS_MS,
        "amqp_publish_timeout_s": 2.0,
        **overrides,
    }
    return GatewaySettings(**values)


@asynccontextmanager
async def serving(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway app on a free local port, and a client pointed at it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = EmbeddedServer(uvicorn.Config(create_app(settings), log_config=None, access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await wait_for(lambda: _started(server, task), timeout=15, what="gateway start")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> bool:
    if task.done():
        task.result()  # raises what stopped it
        raise AssertionError("gateway exited during start")
    return server.started


class Tap:
    """A private queue bound like beds24.inbound: receives a copy of each inbound message."""

    def __init__(self, queue: AbstractQueue) -> None:
        self._queue = queue

    async def drain(self) -> list[bytes]:
        bodies = []
        while (message := await self._queue.get(fail=False, no_ack=True)) is not None:
            bodies.append(message.body)
        return bodies


def webhook(booking_id: int = 70001, **booking: Any) -> dict[str, Any]:
    """A V2 booking webhook as Beds24 sends it (twoWithPersonalData)."""
    fields: dict[str, Any] = {
        "id": booking_id,
        "propertyId": BEDS24_PROPERTY_ID,
        "roomId": 5001,
        "unitId": 1,
        "status": "confirmed",
        "arrival": "2031-05-01",
        "departure": "2031-05-04",
        "numAdult": 2,
        "numChild": 0,
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "ada@example.com",
        "price": 360.0,
        "channel": "booking",
        "apiReference": "BDC-123",
        "modifiedTime": "2031-04-01T10:00:00Z",
        "customFieldWeDoNotModel": "kept",
        **booking,
    }
    return {
        "timeStamp": "2031-04-01T10:00:05Z",
        "booking": fields,
        "infoItems": [],
        "invoiceItems": [],
        "messages": [],
        "retries": 0,
    }


async def inbound_events(db: asyncpg.Pool) -> list[asyncpg.Record]:
    async with db.acquire() as conn:
        return list(
            await conn.fetch(
                "SELECT * FROM channel_events WHERE direction = 'inbound' ORDER BY received_at"
            )
        )
