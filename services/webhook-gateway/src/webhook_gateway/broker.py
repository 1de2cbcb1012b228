"""The gateway's link to RabbitMQ. Webhooks are accepted without it: a stored event that
cannot be published now is left to the inbound worker's relay.

The link is made at start and, if RabbitMQ is out of reach then, retried in the background;
once made, aio-pika's robust connection reconnects by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aio_pika.abc import AbstractRobustConnection
from aiormq.exceptions import AMQPError
from channel_sync.amqp.connection import connect
from channel_sync.amqp.publisher import Publisher, PublishFailed
from channel_sync.amqp.topology import declare_topology
from channel_sync.events import ChannelEvent, EventMessage
from prometheus_client import Gauge

logger = logging.getLogger(__name__)

BROKER_CONNECTED = Gauge(
    "webhook_gateway_broker_connected", "1 while the gateway holds a RabbitMQ connection"
)


class Broker:
    def __init__(
        self,
        url: str,
        *,
        retry_delays_ms: list[int],
        publish_timeout_s: float,
        reconnect_interval_s: float,
    ) -> None:
        self._url = url
        self._delays = retry_delays_ms
        self._timeout_s = publish_timeout_s
        self._interval_s = reconnect_interval_s
        self._connection: AbstractRobustConnection | None = None
        self._publisher: Publisher | None = None
        self._connector: asyncio.Task[None] | None = None
        BROKER_CONNECTED.set_function(lambda: float(self.connected))

    async def start(self) -> None:
        """One attempt now; if it fails, keep trying in the background."""
        if not await self._try_connect():
            self._connector = asyncio.create_task(self._keep_trying())

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def publish(self, event: ChannelEvent) -> bool:
        """True once the broker confirmed the message; False leaves it to the relay."""
        if self._publisher is None:
            return False
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._publisher.publish_event(EventMessage.for_event(event), event.event_type)
        except (PublishFailed, TimeoutError) as exc:
            logger.warning(
                "publish failed, left to the relay: %s", exc, extra={"event_id": str(event.id)}
            )
            return False
        return True

    async def close(self) -> None:
        if self._connector is not None:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        if self._connection is not None:
            await self._connection.close()

    async def _keep_trying(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            if await self._try_connect():
                return

    async def _try_connect(self) -> bool:
        connection: AbstractRobustConnection | None = None
        try:
            async with asyncio.timeout(self._timeout_s):
                connection = await connect(self._url, client_name="webhook-gateway")
                channel = await connection.channel()
                await declare_topology(channel, self._delays)
                await channel.close()
                self._publisher = await Publisher.open(connection, timeout_s=self._timeout_s)
        except (OSError, AMQPError, TimeoutError) as exc:
            logger.warning(
                "RabbitMQ unreachable (%s); webhooks are stored for the relay",
                exc.__class__.__name__,
            )
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()
            return False
        self._connection = connection
        logger.info("connected to RabbitMQ")
        return True
