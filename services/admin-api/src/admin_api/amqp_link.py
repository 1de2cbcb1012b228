"""The admin-api's RabbitMQ link: connects in the background and keeps trying.

Operators need the admin API most when something is broken, so it starts and serves even
while the broker is down; retries then leave events to the relay, and stats show the DLQ
depths as unknown. Once connected, the robust connection restores itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aio_pika.abc import AbstractRobustConnection
from aio_pika.exceptions import AMQPError, ChannelClosed
from aiormq.exceptions import AMQPError as AiormqError
from channel_sync.amqp.connection import connect
from channel_sync.amqp.publisher import Publisher
from channel_sync.amqp.topology import declare_topology

logger = logging.getLogger(__name__)

_CONNECT_ERRORS = (OSError, AMQPError, AiormqError, ConnectionError, TimeoutError)


class AmqpLink:
    def __init__(
        self,
        url: str,
        *,
        retry_delays_ms: list[int],
        publish_timeout_s: float,
        reconnect_every_s: float = 2.0,
    ) -> None:
        self._url = url
        self._delays = retry_delays_ms
        self._publish_timeout_s = publish_timeout_s
        self._reconnect_every_s = reconnect_every_s
        self.connection: AbstractRobustConnection | None = None
        self.publisher: Publisher | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self.connection is not None and not self.connection.is_closed

    async def start(self, *, wait_s: float) -> None:
        """Start connecting; wait up to `wait_s` so a healthy start is ready at once."""
        self._task = asyncio.create_task(self._connect_until_done())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._task), wait_s)

    async def _connect_until_done(self) -> None:
        while True:
            try:
                await self._connect_once()
                return
            except _CONNECT_ERRORS as exc:
                logger.warning("RabbitMQ not reachable (%s); retrying", exc.__class__.__name__)
                await asyncio.sleep(self._reconnect_every_s)

    async def _connect_once(self) -> None:
        connection = await connect(self._url, client_name="admin-api")
        try:
            channel = await connection.channel()
            await declare_topology(channel, self._delays)
            await channel.close()
            self.publisher = await Publisher.open(connection, timeout_s=self._publish_timeout_s)
        except BaseException:
            await connection.close()
            raise
        self.connection = connection
        logger.info("connected to RabbitMQ")

    async def queue_depth(self, name: str) -> int | None:
        """Ready messages in a queue, by passive declare; None when the broker cannot say."""
        if self.connection is None:
            return None
        try:
            channel = await self.connection.channel()
            try:
                queue = await channel.declare_queue(name, passive=True)
                return queue.declaration_result.message_count
            finally:
                if not channel.is_closed:
                    await channel.close()
        except (*_CONNECT_ERRORS, ChannelClosed, RuntimeError) as exc:
            logger.warning("cannot read depth of %s: %s", name, exc.__class__.__name__)
            return None

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.publisher is not None:
            with contextlib.suppress(*_CONNECT_ERRORS, RuntimeError):
                await self.publisher.close()
        if self.connection is not None:
            await self.connection.close()
