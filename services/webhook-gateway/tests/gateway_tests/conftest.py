"""Gateway test fixtures: a property with a webhook secret, the running app, a message tap."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from channel_sync.amqp.topology import EXCHANGE

from .support import BEDS24_PROPERTY_ID, SECRET, Hotel, Tap, add_secret, gateway_settings, serving


@pytest.fixture
async def hotel(db: asyncpg.Pool) -> Hotel:
    async with db.acquire() as conn:
        prop: UUID = await conn.fetchval(
            "INSERT INTO hotel_settings (name) VALUES ('Gateway Test Hotel') RETURNING id"
        )
        await conn.execute(
            """INSERT INTO beds24_properties (property_id, beds24_property_id, account_id,
                   refresh_token) VALUES ($1, $2, 'acct', 'rt')""",
            prop,
            BEDS24_PROPERTY_ID,
        )
        await add_secret(conn, prop, SECRET)
    return Hotel(prop, SECRET)


@pytest.fixture
async def gateway(database_url: str, amqp_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(gateway_settings(database_url, amqp_url)) as client:
        yield client


@pytest.fixture
async def tap(amqp_connection: AbstractRobustConnection) -> AsyncIterator[Tap]:
    channel = await amqp_connection.channel()
    queue = await channel.declare_queue(
        f"test.gateway.{uuid.uuid4().hex}", exclusive=True, auto_delete=True
    )
    await queue.bind(EXCHANGE, routing_key="beds24.#")
    yield Tap(queue)
    await channel.close()
