"""What both workers do around their own parts: open Postgres and RabbitMQ (topology declared,
a confirming publisher), run a consumer beside background loops and the health server until
told to stop, then drain in order: consumer first (messages in flight finish, the rest is
redelivered), then the loops, then the publisher, the connection and the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aio_pika.abc import AbstractRobustConnection

from channel_sync.amqp.connection import connect
from channel_sync.amqp.consumer import EventConsumer
from channel_sync.amqp.publisher import Publisher
from channel_sync.amqp.topology import declare_topology
from channel_sync.db import create_pool, ping
from channel_sync.events import Direction
from channel_sync.health import health_server, serve_until
from channel_sync.relay import Relay
from channel_sync.settings import CommonSettings

logger = logging.getLogger(__name__)

# A loop of the worker's own (relay, poller): runs until the event is set.
Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Infra:
    pool: asyncpg.Pool
    connection: AbstractRobustConnection
    publisher: Publisher

    async def readiness(self) -> dict[str, bool]:
        return {"postgres": await ping(self.pool), "rabbitmq": not self.connection.is_closed}

    def relay(self, direction: Direction, *, poll_interval_s: float) -> Relay:
        """The relay publishing this direction's stored events still `received`."""
        return Relay(
            pool=self.pool,
            publisher=self.publisher,
            direction=direction,
            poll_interval_s=poll_interval_s,
        )


@contextlib.asynccontextmanager
async def open_infra(settings: CommonSettings, *, client_name: str) -> AsyncIterator[Infra]:
    """The pool, the broker connection (topology declared) and a publisher; closed on exit."""
    pool = await create_pool(
        settings.dsn, min_size=settings.db_pool_min_size, max_size=settings.db_pool_max_size
    )
    try:
        connection = await connect(settings.rabbitmq_url, client_name=client_name)
    except BaseException:
        await pool.close()
        raise
    try:
        setup = await connection.channel()
        await declare_topology(setup, settings.retry_delays_ms)
        await setup.close()
        publisher = await Publisher.open(connection, timeout_s=settings.amqp_publish_timeout_s)
        try:
            yield Infra(pool, connection, publisher)
        finally:
            await publisher.close()
    finally:
        with contextlib.suppress(Exception):
            await connection.close()
        await pool.close()


async def run_until_stopped(
    stop: asyncio.Event,
    infra: Infra,
    consumer: EventConsumer,
    loops: dict[str, Loop],
    *,
    health_at: tuple[str, int] | None,
    on_stopping: Iterable[Callable[[], object]] = (),
) -> None:
    """Run `consumer` and each named loop (and the health server at host, port) until `stop`
    is set; then call `on_stopping` (e.g. release calls waiting for credits), drain the
    consumer and let the loops finish."""
    tasks = [asyncio.create_task(loop(stop), name=name) for name, loop in loops.items()]
    if health_at is not None:
        host, port = health_at
        server = health_server(infra.readiness, host=host, port=port)
        tasks.append(asyncio.create_task(serve_until(server, stop), name="health"))
    try:
        await consumer.start()
        logger.info("worker running: %s", ", ".join(["consumer", *loops]))
        await stop.wait()
    finally:
        for callback in on_stopping:
            callback()
        await consumer.stop()
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        logger.info("worker stopped")
