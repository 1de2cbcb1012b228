"""The one RabbitMQ link of a process, used by every service.

It connects in the background and keeps trying while RabbitMQ is out of reach (a service
starts and serves without it: the gateway stores webhooks for the relay, the admin API
still answers operators, a worker is alive but not ready). Once connected it declares the
topology and opens a confirming publisher; from then on aio-pika's robust connection
reconnects by itself and restores its channels and consumers, and the topology is declared
again after each reconnect (a broker that lost its data gets its queues back).

Publishing through the link while it is down raises PublishFailed at once, as a refused
publish does: callers leave the event to the relay or retry the round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from aio_pika.exceptions import ChannelClosed

from channel_sync import metrics
from channel_sync.amqp.connection import connect
from channel_sync.amqp.publisher import Publisher, PublishFailed, check_versions
from channel_sync.amqp.topology import declare_topology
from channel_sync.events import EventMessage
from channel_sync.outages import BROKER_UNAVAILABLE

logger = logging.getLogger(__name__)

# Raised by one publish or depth query while the link is (or is going) down.
_LINK_DOWN: tuple[type[BaseException], ...] = (*BROKER_UNAVAILABLE, ChannelClosed, PublishFailed)


class BrokerLink:
    def __init__(
        self,
        url: str,
        *,
        client_name: str,
        retry_delays_ms: list[int],
        publish_timeout_s: float = 5.0,
        reconnect_interval_s: float = 2.0,
    ) -> None:
        self._url = url
        self._client_name = client_name
        self._delays = retry_delays_ms
        self._timeout_s = publish_timeout_s
        self._interval_s = reconnect_interval_s
        self.connection: AbstractRobustConnection | None = None
        self._publisher: Publisher | None = None
        self._connector: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._first_attempt = asyncio.Event()
        self._redeclaring: asyncio.Future[None] | None = None  # held: tasks are weakly kept
        check_versions()  # refuse to run on an aiormq the publisher was not written for
        metrics.BROKER_CONNECTED.set_function(lambda: float(self.connected))

    async def start(self, *, wait_s: float = 0.0) -> None:
        """Start connecting in the background; wait up to `wait_s` for the first attempt to
        end, so a healthy start is ready at once."""
        self._connector = asyncio.create_task(self._connect_until_done(), name="broker-link")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_s):
                await self._first_attempt.wait()

    @property
    def connected(self) -> bool:
        return self.connection is not None and not self.connection.is_closed

    async def wait_connected(self) -> None:
        """Until the first connection is made (the robust connection then keeps itself)."""
        await self._ready.wait()

    async def channel(self) -> AbstractChannel:
        """A new channel on the link (e.g. for a consumer); restored after reconnects."""
        if self.connection is None:
            raise PublishFailed("broker unavailable: not connected yet")
        return await self.connection.channel()

    async def publish_event(self, message: EventMessage, routing_key: str) -> None:
        """Publish with a confirm, within the publish timeout even while reconnecting."""
        await self._bounded(self._publisher_or_fail().publish_event(message, routing_key))

    async def publish(self, routing_key: str, body: bytes, **options: Any) -> None:
        await self._bounded(self._publisher_or_fail().publish(routing_key, body, **options))

    async def publish_events(self, messages: Sequence[EventMessage]) -> list[PublishFailed | None]:
        """One round of confirms (see Publisher.publish_events); every message fails alike
        while the broker is away."""
        try:
            return await self._publisher_or_fail().publish_events(messages)
        except _LINK_DOWN as exc:
            failed = (
                exc
                if isinstance(exc, PublishFailed)
                else PublishFailed(f"broker unavailable: {exc.__class__.__name__}")
            )
            return [failed] * len(messages)

    async def _bounded(self, publishing: Coroutine[Any, Any, None]) -> None:
        try:
            async with asyncio.timeout(self._timeout_s + 1):
                await publishing
        except TimeoutError as exc:
            raise PublishFailed(f"no publisher confirm within {self._timeout_s}s") from exc

    async def queue_depth(self, name: str) -> int | None:
        """Ready messages in a queue, by passive declare; None when the broker cannot say."""
        if not self.connected:
            return None
        try:
            async with asyncio.timeout(self._timeout_s):
                channel = await self.channel()
                try:
                    queue = await channel.declare_queue(name, passive=True)
                    return queue.declaration_result.message_count
                finally:
                    if not channel.is_closed:
                        await channel.close()
        except _LINK_DOWN as exc:
            logger.warning("cannot read depth of %s: %s", name, exc.__class__.__name__)
            return None

    async def close(self) -> None:
        if self._connector is not None and not self._connector.done():
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        if self._publisher is not None:
            with contextlib.suppress(*BROKER_UNAVAILABLE):
                await self._publisher.close()
        if self.connection is not None:
            with contextlib.suppress(*BROKER_UNAVAILABLE):
                await self.connection.close()

    def _publisher_or_fail(self) -> Publisher:
        if self._publisher is None or not self.connected:
            raise PublishFailed("broker unavailable: not connected")
        return self._publisher

    async def _connect_until_done(self) -> None:
        while True:
            try:
                async with asyncio.timeout(max(self._timeout_s, 10.0)):
                    await self._connect_once()
                return
            except BROKER_UNAVAILABLE as exc:
                self._first_attempt.set()
                logger.warning(
                    "RabbitMQ unreachable (%s); retrying in %.0f s",
                    exc.__class__.__name__,
                    self._interval_s,
                )
                await asyncio.sleep(self._interval_s)

    async def _connect_once(self) -> None:
        connection = await connect(self._url, client_name=self._client_name)
        try:
            await self._declare(connection)
            self._publisher = await Publisher.open(connection, timeout_s=self._timeout_s)
        except BaseException:
            with contextlib.suppress(*BROKER_UNAVAILABLE):
                await connection.close()
            raise
        connection.reconnect_callbacks.add(self._on_reconnect)
        self.connection = connection
        self._ready.set()
        self._first_attempt.set()
        logger.info("connected to RabbitMQ")

    async def _declare(self, connection: AbstractRobustConnection) -> None:
        channel = await connection.channel()
        try:
            await declare_topology(channel, self._delays)
        finally:
            if not channel.is_closed:
                await channel.close()

    def _on_reconnect(self, connection: AbstractRobustConnection | None, /) -> None:
        logger.info("reconnected to RabbitMQ")
        if connection is not None:
            self._redeclaring = asyncio.ensure_future(self._redeclare(connection))

    async def _redeclare(self, connection: AbstractRobustConnection) -> None:
        try:
            async with asyncio.timeout(max(self._timeout_s, 10.0)):
                await self._declare(connection)
        except BROKER_UNAVAILABLE as exc:
            logger.warning("topology not declared after reconnect: %s", exc.__class__.__name__)
