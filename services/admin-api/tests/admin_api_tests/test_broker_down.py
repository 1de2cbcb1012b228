"""With RabbitMQ unreachable the admin-api still starts and serves; a retry is committed as
`received` and left to the relay, which publishes it once it can."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractConnection
from channel_sync.amqp.publisher import Publisher
from channel_sync.amqp.topology import OUTBOUND
from channel_sync.events import Direction, EventStatus
from channel_sync.relay import Relay

from .amqp_helpers import drain, wait_for_messages
from .conftest import CLOSED_AMQP, Admin, admin_settings, serve
from .factories import insert_event, insert_property


@pytest.fixture(scope="module")
async def admin_without_broker(database_url: str) -> AsyncIterator[Admin]:
    settings = admin_settings(database_url, CLOSED_AMQP, amqp_start_wait_s=0.2)
    async with serve(settings) as running:
        yield running


@pytest.fixture
async def offline_api(
    admin_without_broker: Admin, db: asyncpg.Pool
) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_without_broker.client() as client:
        yield client


async def test_serves_but_is_not_ready(offline_api: httpx.AsyncClient) -> None:
    ready = await offline_api.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"postgres": True, "rabbitmq": False}
    assert (await offline_api.get("/admin/events")).status_code == 200
    stats = (await offline_api.get("/admin/stats")).json()
    assert stats["dlq"] == {"beds24.dlq": None, "pms.dlq": None}
    sweep = await offline_api.post("/admin/dlq/sweep")
    assert sweep.status_code == 503 and "RabbitMQ" in sweep.json()["error"]


async def test_retry_is_left_to_the_relay(
    offline_api: httpx.AsyncClient, db: asyncpg.Pool, amqp_connection: AbstractConnection
) -> None:
    await drain(amqp_connection, OUTBOUND.name)
    async with db.acquire() as conn:
        event = await insert_event(
            conn, await insert_property(conn), status=EventStatus.FAILED, attempts=3
        )
    response = await offline_api.post(f"/admin/events/{event.id}/retry")
    assert response.status_code == 202
    assert response.json()["published"] is False
    async with db.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT status, attempts, next_attempt_at <= now() AS due FROM channel_events "
            "WHERE id = $1",
            event.id,
        )
    assert dict(row) == {"status": "received", "attempts": 0, "due": True}

    publisher = await Publisher.open(amqp_connection)
    relay = Relay(pool=db, publisher=publisher, direction=Direction.OUTBOUND, poll_interval_s=0.1)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await wait_for_messages(amqp_connection, OUTBOUND.name, {str(event.id)})
    finally:
        stop.set()
        await task
        await publisher.close()
    async with db.acquire() as conn:
        assert (
            await conn.fetchval("SELECT status FROM channel_events WHERE id = $1", event.id)
            == "processing"
        )
