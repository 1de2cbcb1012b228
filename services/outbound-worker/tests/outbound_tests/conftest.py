"""Fixtures for the outbound worker's end-to-end tests: a Beds24 sandbox property connected
to a PMS hotel, and the worker running in this process (real Postgres, RabbitMQ, sandbox)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from outbound_worker.app import run
from outbound_worker.settings import OutboundSettings

from .factories import Hotel, insert_hotel

Connected = tuple[Hotel, SandboxProperty]
StartWorker = Callable[..., Awaitable[None]]


async def connect_hotel(
    db: asyncpg.Pool, sandbox: SandboxHandle, *, units: int = 3, **account: float
) -> Connected:
    """A sandbox account and property with one Beds24 room of `units` (`account`: the
    sandbox's credit_limit, window_s...), and a PMS hotel whose 2 rooms are mapped (by room
    type) to that Beds24 room."""
    prop = await sandbox.seed(rooms=[{"name": "Double", "qty": units}], **account)
    async with db.acquire() as conn:
        hotel = await insert_hotel(
            conn,
            beds24_property_id=prop.id,
            beds24_room_id=str(prop.room_ids[0]),
            account_id=str(prop.account.account_id),
            refresh_token=prop.account.refresh_token,
        )
    return hotel, prop


@pytest.fixture
async def connected(db: asyncpg.Pool, beds24_sandbox: SandboxHandle) -> Connected:
    return await connect_hotel(db, beds24_sandbox)


def worker_settings(sandbox: SandboxHandle, **overrides: object) -> OutboundSettings:
    values: dict[str, object] = {
        "beds24_api_url": sandbox.url,
        "batch_window_ms": 100,
        "relay_poll_interval_s": 0.5,
        "busy_retry_s": 0.2,
        "beds24_timeout_s": 3.0,
    }
    values.update(overrides)
    return OutboundSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def start_worker(
    settings_env: dict[str, str], beds24_sandbox: SandboxHandle
) -> AsyncIterator[StartWorker]:
    """`await start_worker(**settings)`: runs the worker until the test ends."""
    stops: list[asyncio.Event] = []
    tasks: list[asyncio.Task[None]] = []

    async def start(**overrides: object) -> None:
        stop = asyncio.Event()
        settings = worker_settings(beds24_sandbox, **overrides)
        tasks.append(asyncio.create_task(run(settings, stop, serve_health=False)))
        stops.append(stop)

    yield start
    for stop in stops:
        stop.set()
    await asyncio.gather(*tasks)
