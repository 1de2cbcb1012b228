"""What both workers do around their own parts: open Postgres and the broker link, run a
consumer beside supervised background loops and the health server until told to stop, then
drain in order: consumer first (messages in flight finish, the rest is redelivered), then the
loops, then the link and the pool.

Neither Postgres nor RabbitMQ has to be up when a worker starts or stays up while it runs:
the pool and the link recover by themselves, the consumer starts once the link is made, and
every loop retries its rounds. Readiness says whether the worker can do its job right now;
liveness fails when a loop no longer turns. A loop task that ends while the worker runs
stops the worker (LoopEnded: the entry point exits with code 1, so the orchestrator
restarts it): never a silent death.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from channel_sync.amqp.consumer import Consumer
from channel_sync.amqp.link import BrokerLink
from channel_sync.db import create_pool, is_database_unavailable, ping
from channel_sync.events import Direction
from channel_sync.health import health_server, serve_until
from channel_sync.outages import BROKER_UNAVAILABLE
from channel_sync.progress import stalled_of
from channel_sync.relay import Relay
from channel_sync.settings import CommonSettings
from channel_sync.supervision import LoopHealth, backoff_s

logger = logging.getLogger(__name__)

# A supervised loop of the worker's own (relay, poller): runs until the event is set,
# reporting its rounds to the health record.
Loop = Callable[[asyncio.Event, LoopHealth], Coroutine[Any, Any, None]]

# How long a starting worker keeps trying to reach Postgres before giving up (and being
# restarted by its supervisor).
STARTUP_DB_WAIT_S = 120.0


class LoopEnded(RuntimeError):
    """A loop that must run for the worker's whole life ended: the entry point exits with
    code 1 so that the orchestrator restarts the process."""


@dataclass(frozen=True)
class Infra:
    pool: asyncpg.Pool
    link: BrokerLink
    health: LoopHealth = field(default_factory=LoopHealth)
    # Postgres itself, for the relay's LISTEN (the pool may go through a transaction pooler).
    listen_dsn: str | None = None

    @property
    def publisher(self) -> BrokerLink:
        return self.link

    def relay(self, direction: Direction, *, poll_interval_s: float) -> Relay:
        """The relay publishing this direction's stored events still `received`."""
        return Relay(
            pool=self.pool,
            publisher=self.link,
            direction=direction,
            poll_interval_s=poll_interval_s,
            listen_dsn=self.listen_dsn,
        )


@contextlib.asynccontextmanager
async def open_infra(settings: CommonSettings, *, client_name: str) -> AsyncIterator[Infra]:
    """The pool (waiting for Postgres at start) and the broker link (connecting in the
    background); closed on exit."""
    pool = await _pool_when_reachable(settings)
    link = BrokerLink(
        settings.rabbitmq_url,
        client_name=client_name,
        retry_delays_ms=settings.retry_delays_ms,
        publish_timeout_s=settings.amqp_publish_timeout_s,
    )
    try:
        await link.start(wait_s=5)
        yield Infra(pool, link, listen_dsn=settings.listen_dsn)
    finally:
        await link.close()
        await pool.close()


async def _pool_when_reachable(settings: CommonSettings) -> asyncpg.Pool:
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(is_database_unavailable),
        wait=wait_exponential(multiplier=0.5, max=10),
        stop=stop_after_delay(STARTUP_DB_WAIT_S),
        reraise=True,
        before_sleep=lambda s: logger.warning("Postgres unreachable at start; retrying"),
    ):
        with attempt:
            return await create_pool(
                settings.dsn,
                min_size=settings.db_pool_min_size,
                max_size=settings.db_pool_max_size,
                statement_cache_size=settings.db_statement_cache_size,
            )
    raise AssertionError("unreachable: tenacity reraises the last error")


async def run_until_stopped(
    stop: asyncio.Event,
    infra: Infra,
    consumer: Consumer,
    loops: dict[str, Loop],
    *,
    health_at: tuple[str, int] | None,
    on_stopping: Iterable[Callable[[], object]] = (),
    ready_loops: Iterable[str] = (),
) -> None:
    """Run `consumer` and each named loop (and the health server at host, port) until `stop`
    is set; then call `on_stopping` (e.g. release calls waiting for credits), drain the
    consumer and let the loops finish. `ready_loops`: loops whose last round must have
    succeeded for the worker to be ready (its relays)."""
    health = infra.health
    needed = list(ready_loops)

    async def readiness() -> dict[str, bool]:
        checks = {
            "postgres": await ping(infra.pool),
            "rabbitmq": infra.link.connected,
            "consumer": consumer.consuming,
        }
        return checks | {name: health.working(name) for name in needed}

    tasks: dict[asyncio.Task[Any], str] = {
        asyncio.create_task(loop(stop, health), name=name): name for name, loop in loops.items()
    }
    starter = asyncio.create_task(_start_consumer(consumer, infra.link, stop), name="consumer")
    server_task = None
    if health_at is not None:
        host, port = health_at
        server = health_server(
            readiness,
            host=host,
            port=port,
            liveness=lambda: health.stuck() + stalled_of([consumer.progress]),
        )
        server_task = asyncio.create_task(serve_until(server, stop), name="health")
    crashed = False
    try:
        logger.info("worker running: %s", ", ".join(["consumer", *loops]))
        stopping: asyncio.Task[Any] = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        for task in done - {stopping}:
            crashed = True
            error = None if task.cancelled() else task.exception()
            logger.critical(
                "loop %s ended unexpectedly; stopping the worker", tasks[task], exc_info=error
            )
    finally:
        for callback in on_stopping:
            callback()
        stop.set()
        starter.cancel()
        await asyncio.gather(starter, return_exceptions=True)
        await consumer.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        if server_task is not None:
            await asyncio.gather(server_task, return_exceptions=True)
        logger.info("worker stopped")
    if crashed:
        raise LoopEnded("a background loop ended while the worker ran; see the log")


async def _start_consumer(consumer: Consumer, link: BrokerLink, stop: asyncio.Event) -> None:
    """Start the consumer once the link is up; a failed start is tried again."""
    failures = 0
    while not stop.is_set():
        await link.wait_connected()
        try:
            async with asyncio.timeout(30):
                await consumer.start(await link.channel())
            return
        except BROKER_UNAVAILABLE as exc:
            failures += 1
            logger.warning("consumer could not start (%s); retrying", exc.__class__.__name__)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff_s(1.0, failures)):
                    await stop.wait()
