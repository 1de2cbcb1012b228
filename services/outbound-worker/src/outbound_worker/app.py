"""Composition root: builds the outbound worker's parts and runs them until told to stop.

relay:     outbound channel_events still `received` → pms.events (pms.#)
consumer:  pms.outbound → batches → handler → Beds24 (bookings, then calendar)
health:    /healthz /readyz /metrics on HTTP_HOST:HTTP_PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from channel_sync.amqp.connection import connect
from channel_sync.amqp.publisher import Publisher
from channel_sync.amqp.topology import OUTBOUND, declare_topology
from channel_sync.db import create_pool, ping
from channel_sync.events import Direction
from channel_sync.health import health_server, serve_until
from channel_sync.relay import Relay

from outbound_worker.availability import AvailabilitySync
from outbound_worker.batcher import BatchingConsumer
from outbound_worker.bookings import BookingSync
from outbound_worker.clients import Beds24Clients
from outbound_worker.credits import CreditBudget
from outbound_worker.handler import OutboundHandler
from outbound_worker.settings import OutboundSettings

logger = logging.getLogger(__name__)


async def run(
    settings: OutboundSettings, stop: asyncio.Event, *, serve_health: bool = True
) -> None:
    """Run until `stop` is set, then drain: batches in flight finish, the rest is redelivered."""
    pool = await create_pool(
        settings.dsn, min_size=settings.db_pool_min_size, max_size=settings.db_pool_max_size
    )
    connection = await connect(settings.rabbitmq_url, client_name="outbound-worker")
    budget = CreditBudget(
        pool, reserve=settings.credit_reserve, max_wait_s=settings.max_credit_wait_s
    )
    clients = Beds24Clients(settings.beds24_api_url, budget, timeout_s=settings.beds24_timeout_s)
    try:
        setup = await connection.channel()
        await declare_topology(setup, settings.retry_delays_ms)
        await setup.close()
        publisher = await Publisher.open(connection, timeout_s=settings.amqp_publish_timeout_s)
        max_items = settings.max_items_per_call
        handler = OutboundHandler(
            pool,
            clients,
            BookingSync(pool, budget, max_items=max_items),
            AvailabilitySync(pool, budget, max_items=max_items),
            horizon_days=settings.availability_horizon_days,
            busy_retry_s=settings.busy_retry_s,
            # Two connections per account in flight; two left for the relay and settling.
            parallel_accounts=max(1, (settings.db_pool_max_size - 2) // 2),
        )
        consumer = BatchingConsumer(
            batch_handler=handler,
            window_s=settings.batch_window_ms / 1000,
            max_batch=settings.batch_max_events,
            channel=await connection.channel(),
            work_queue=OUTBOUND,
            pool=pool,
            publisher=publisher,
            retry_delays_ms=settings.retry_delays_ms,
        )
        relay = Relay(
            pool=pool,
            publisher=publisher,
            direction=Direction.OUTBOUND,
            poll_interval_s=settings.relay_poll_interval_s,
        )

        async def readiness() -> dict[str, bool]:
            return {"postgres": await ping(pool), "rabbitmq": not connection.is_closed}

        tasks = [asyncio.create_task(relay.run(stop), name="outbound-relay")]
        if serve_health:
            server = health_server(readiness, host=settings.http_host, port=settings.http_port)
            tasks.append(asyncio.create_task(serve_until(server, stop), name="health"))
        await consumer.start()
        logger.info("outbound worker running")
        try:
            await stop.wait()
        finally:
            budget.stop_waiting()  # a batch waiting for credits goes back to the queue now
            await consumer.stop()
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await publisher.close()
    finally:
        await clients.aclose()
        with contextlib.suppress(Exception):
            await connection.close()
        await pool.close()
        logger.info("outbound worker stopped")
