"""Composition root: builds the inbound worker's parts and runs them until told to stop.

relay:     inbound channel_events still `received` (gateway could not publish, or polled)
           → pms.events (beds24.#)
consumer:  beds24.inbound → handler → PMS reservations (one transaction per event)
poller:    Beds24 GET /bookings?modifiedFrom= per property → inbound events (lost webhooks)
health:    /healthz /readyz /metrics on HTTP_HOST:HTTP_PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from channel_sync.amqp.connection import connect
from channel_sync.amqp.consumer import EventConsumer
from channel_sync.amqp.publisher import Publisher
from channel_sync.amqp.topology import INBOUND, declare_topology
from channel_sync.db import create_pool, ping
from channel_sync.events import Direction
from channel_sync.health import health_server, serve_until
from channel_sync.relay import Relay

from inbound_worker.clients import Beds24Clients
from inbound_worker.credits import Credits
from inbound_worker.handler import InboundHandler
from inbound_worker.poller import Poller
from inbound_worker.settings import InboundSettings

logger = logging.getLogger(__name__)


async def run(settings: InboundSettings, stop: asyncio.Event, *, serve_health: bool = True) -> None:
    """Run until `stop` is set, then drain: messages in flight finish, the rest is redelivered."""
    pool = await create_pool(
        settings.dsn, min_size=settings.db_pool_min_size, max_size=settings.db_pool_max_size
    )
    clients = Beds24Clients(
        settings.beds24_api_url,
        pool,
        Credits(pool, reserve=settings.credit_reserve),
        timeout_s=settings.beds24_timeout_s,
    )
    try:
        connection = await connect(settings.rabbitmq_url, client_name="inbound-worker")
    except BaseException:
        await clients.aclose()
        await pool.close()
        raise
    try:
        setup = await connection.channel()
        await declare_topology(setup, settings.retry_delays_ms)
        await setup.close()
        publisher = await Publisher.open(connection, timeout_s=settings.amqp_publish_timeout_s)
        consumer = EventConsumer(
            channel=await connection.channel(),
            work_queue=INBOUND,
            pool=pool,
            publisher=publisher,
            handler=InboundHandler(pool, clients),
            retry_delays_ms=settings.retry_delays_ms,
            prefetch=settings.prefetch,
        )
        relay = Relay(
            pool=pool,
            publisher=publisher,
            direction=Direction.INBOUND,
            poll_interval_s=settings.relay_poll_interval_s,
        )
        tasks = [asyncio.create_task(relay.run(stop), name="inbound-relay")]
        if settings.poll_enabled:
            poller = Poller(
                pool,
                clients,
                interval_s=settings.poll_interval_s,
                margin_s=settings.poll_margin_s,
                first_lookback_s=settings.poll_first_lookback_s,
                max_attempts=settings.poll_max_attempts,
            )
            tasks.append(asyncio.create_task(poller.run(stop), name="inbound-poller"))

        async def readiness() -> dict[str, bool]:
            return {"postgres": await ping(pool), "rabbitmq": not connection.is_closed}

        if serve_health:
            server = health_server(readiness, host=settings.http_host, port=settings.http_port)
            tasks.append(asyncio.create_task(serve_until(server, stop), name="health"))
        await consumer.start()
        logger.info("inbound worker running")
        try:
            await stop.wait()
        finally:
            await consumer.stop()
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await publisher.close()
    finally:
        await clients.aclose()
        with contextlib.suppress(Exception):
            await connection.close()
        await pool.close()
        logger.info("inbound worker stopped")
