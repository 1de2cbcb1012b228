"""Postgres and RabbitMQ restarts are non-events: a worker's relay and consumer resume by
themselves, and readiness says the truth meanwhile.

These tests restart PRIVATE instances (own ports, own folders), never the machine's servers.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from uuid import UUID

import httpx
import pytest
from channel_sync.amqp.link import BrokerLink
from channel_sync.db import DATABASE_ERRORS, connect, create_pool
from channel_sync.events import Direction, EventStatus
from channel_sync.relay import Relay
from channel_sync.repository import ChannelEventRepository
from channel_sync.supervision import LoopHealth
from channel_sync_testing import infra
from channel_sync_testing.factories import new_event
from channel_sync_testing.private_infra import PrivatePostgres, PrivateRabbitMQ
from channel_sync_testing.waiting import wait_for

from conftest import TEST_RETRY_DELAYS_MS

from .factories import insert_property

repo = ChannelEventRepository()


def _free_port(low: int = 30_000, high: int = 40_000) -> int:
    """A free port in [low, high) whose RabbitMQ distribution port (+20,000) is free too."""
    start = low + os.getpid() % (high - low)
    for offset in range(high - low):
        port = low + (start - low + offset) % (high - low)
        if _bindable(port) and _bindable(port + 20_000):
            return port
    raise RuntimeError("no free port")


def _any_free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres(_free_port())
    server.start()
    yield server
    server.remove()


@pytest.fixture(scope="module")
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    server = PrivateRabbitMQ(_free_port(41_000, 45_000))
    server.start()
    yield server
    server.remove()


@pytest.fixture(scope="module")
async def private_dsn(private_postgres: PrivatePostgres) -> AsyncIterator[str]:
    _, dsn = await infra.create_database(private_postgres.dsn())
    infra.migrate(dsn)
    yield dsn


async def _status(dsn: str, event_id: UUID) -> EventStatus | None:
    try:
        conn = await connect(dsn)
    except DATABASE_ERRORS:
        return None
    try:
        event = await repo.get(conn, event_id)
    finally:
        await conn.close()
    return None if event is None else event.status


async def _new_outbound_event(dsn: str, prop: UUID | None = None) -> tuple[UUID, UUID]:
    conn = await connect(dsn)
    try:
        prop = prop or await insert_property(conn)
        event = await repo.create(
            conn, new_event(prop, direction=Direction.OUTBOUND, event_type="pms.booking.update")
        )
    finally:
        await conn.close()
    assert event is not None
    return prop, event.id


async def test_relay_resumes_after_a_postgres_restart(
    private_postgres: PrivatePostgres, private_dsn: str, amqp_url: str
) -> None:
    """The relay's rounds fail while Postgres is down, and it publishes again, woken by its
    re-opened LISTEN, once Postgres is back: no restart of the process."""
    pool = await create_pool(private_dsn, min_size=2, max_size=4)
    link = BrokerLink(amqp_url, client_name="tests", retry_delays_ms=TEST_RETRY_DELAYS_MS)
    await link.start(wait_s=10)
    health = LoopHealth()
    relay = Relay(pool=pool, publisher=link, direction=Direction.OUTBOUND, poll_interval_s=20)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop, health))
    try:
        prop, first = await _new_outbound_event(private_dsn)
        await wait_for(
            lambda: _is(private_dsn, first, EventStatus.PROCESSING), timeout=10, what="relayed"
        )
        private_postgres.stop("fast")
        # The dropped LISTEN wakes a round at once: it fails, well before the 20 s poll.
        await wait_for(lambda: _not(health.working(relay.name)), timeout=10, what="relay failing")
        private_postgres.start()
        _, second = await _new_outbound_event(private_dsn, prop)
        # Well before the 20 s poll: a back-off round after the outage finds the row.
        await wait_for(
            lambda: _is(private_dsn, second, EventStatus.PROCESSING),
            timeout=15,
            what="relayed after the restart",
        )
        assert not task.done()
        await wait_for(lambda: _truthy(health.working(relay.name)), timeout=15, what="healthy")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await link.close()
        await pool.close()


async def test_worker_readiness_follows_outages_and_work_resumes(
    private_postgres: PrivatePostgres,
    private_rabbitmq: PrivateRabbitMQ,
    private_dsn: str,
) -> None:
    """An outbound worker process against private servers: ready; not ready while RabbitMQ
    is stopped, ready again after it returns; not ready while Postgres restarts, ready
    after; and an event recorded after both outages is relayed and consumed."""
    port = _any_free_port()
    env = {
        **os.environ,
        "DATABASE_URL": private_dsn,
        "RABBITMQ_URL": private_rabbitmq.url,
        "RETRY_DELAYS_MS": "200,400,800",
        "HTTP_PORT": str(port),
        "RELAY_POLL_INTERVAL_S": "0.5",
        "BEDS24_API_URL": "http://127.0.0.1:9/api/v2",
        "LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "outbound_worker.main",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:

            async def readiness() -> dict[str, bool] | None:
                try:
                    answer = await http.get("/readyz")
                except httpx.TransportError:
                    return None
                checks: dict[str, bool] = answer.json()["checks"]
                return checks

            async def ready(expected: bool) -> bool:
                checks = await readiness()
                return checks is not None and all(checks.values()) is expected

            await wait_for(lambda: ready(True), timeout=40, interval=0.2, what="ready")
            private_rabbitmq.stop()
            checks = await wait_for(lambda: ready(False), timeout=20, what="not ready")
            private_rabbitmq.start()
            await wait_for(lambda: ready(True), timeout=60, interval=0.2, what="ready again")
            private_postgres.stop("fast")
            await wait_for(lambda: ready(False), timeout=20, what="not ready without Postgres")
            checks = await readiness()
            assert checks is not None and checks["postgres"] is False
            private_postgres.start()
            await wait_for(lambda: ready(True), timeout=60, interval=0.2, what="ready after PG")
            assert (await http.get("/healthz")).status_code == 200

        _, event_id = await _new_outbound_event(private_dsn)
        # Relayed and consumed: the handler settles it (no Beds24 link for this property).
        await wait_for(
            lambda: _settled(private_dsn, event_id), timeout=30, what="event handled after outages"
        )
        assert process.returncode is None
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)


async def _is(dsn: str, event_id: UUID, status: EventStatus) -> bool:
    return await _status(dsn, event_id) == status


async def _settled(dsn: str, event_id: UUID) -> bool:
    return await _status(dsn, event_id) in (EventStatus.DONE, EventStatus.FAILED)


async def _not(value: bool) -> bool:
    return not value


async def _truthy(value: bool) -> bool:
    return value
