"""The starlette app: the webhook routes and health routes, and a lifespan that opens the
Postgres pool and the RabbitMQ link (built here, never at import time)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from channel_sync.amqp.link import BrokerLink
from channel_sync.db import create_pool, ping
from channel_sync.health import health_routes
from channel_sync.supervision import LoopHealth
from prometheus_client import Gauge
from starlette.applications import Starlette
from starlette.types import ASGIApp

from webhook_gateway.errors import EXCEPTION_HANDLERS
from webhook_gateway.group_commit import GroupCommitter
from webhook_gateway.intake import Policy
from webhook_gateway.routes import Gateway, WebhooksFirst
from webhook_gateway.settings import GatewaySettings
from webhook_gateway.targets import TargetCache

BROKER_CONNECTED = Gauge(
    "webhook_gateway_broker_connected", "1 while the gateway holds a RabbitMQ connection"
)


class _Readiness:
    """Ready while Postgres answers. RabbitMQ is not required: webhooks are stored without
    it and the relay publishes them later, so a broker outage must not take the gateway out
    of the load balancer (its state is the `webhook_gateway_broker_connected` metric)."""

    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None

    async def __call__(self) -> dict[str, bool]:
        return {"postgres": self.pool is not None and await ping(self.pool)}


def create_app(settings: GatewaySettings) -> ASGIApp:
    readiness = _Readiness()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        pool = await create_pool(  # single statements only: see group_commit
            settings.dsn,
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            session_state=False,
            statement_cache_size=settings.db_statement_cache_size,
        )
        broker = BrokerLink(
            settings.rabbitmq_url,
            client_name="webhook-gateway",
            retry_delays_ms=settings.retry_delays_ms,
            publish_timeout_s=settings.amqp_publish_timeout_s,
            reconnect_interval_s=settings.amqp_reconnect_interval_s,
        )
        BROKER_CONNECTED.set_function(lambda: float(broker.connected))
        # Its LISTEN goes to Postgres itself; the commit slots go where the pool goes.
        targets = TargetCache(pool, settings.listen_dsn, db_timeout_s=settings.db_timeout_s)
        committer = GroupCommitter(
            pool,
            settings.dsn,
            broker,
            Policy(settings.event_max_attempts, settings.publish_hold_s),
            db_timeout_s=settings.db_timeout_s,
            statement_cache_size=settings.db_statement_cache_size,
        )
        try:
            await broker.start(wait_s=settings.amqp_publish_timeout_s)
            targets.start(LoopHealth())
            committer.start()
            readiness.pool = pool
            yield {
                "gateway": Gateway(
                    pool=pool,
                    committer=committer,
                    targets=targets,
                    max_body_bytes=settings.max_body_bytes,
                    db_timeout_s=settings.db_timeout_s,
                )
            }
        finally:
            readiness.pool = None
            await committer.close()
            await targets.close()
            await broker.close()
            await pool.close()

    return WebhooksFirst(
        Starlette(
            routes=health_routes(readiness),
            exception_handlers=EXCEPTION_HANDLERS,
            lifespan=lifespan,
        )
    )
