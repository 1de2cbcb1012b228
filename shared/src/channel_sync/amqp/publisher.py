"""Publishing with confirms: a publish returns only once the broker has the message.

A message the broker cannot route (mandatory) or refuses (nack), or no answer within the
timeout, raises PublishFailed; nothing passes silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import aiormq
from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from aio_pika.exceptions import AMQPError, DeliveryError

from channel_sync.amqp.topology import EXCHANGE
from channel_sync.errors import TransientError
from channel_sync.events import EventMessage

logger = logging.getLogger(__name__)


class PublishFailed(TransientError):
    """The broker did not take the message; the caller keeps it (e.g. for the relay)."""


class EventPublisher(Protocol):
    """What relays and consumers publish through: a Publisher, or the process's BrokerLink
    (which raises PublishFailed while the broker is away)."""

    async def publish_event(self, message: EventMessage, routing_key: str) -> None: ...

    async def publish_events(
        self, messages: Sequence[EventMessage]
    ) -> list[PublishFailed | None]: ...

    async def publish(self, routing_key: str, body: bytes, **options: Any) -> None: ...


class Publisher:
    def __init__(self, channel: AbstractChannel, *, timeout_s: float = 5.0) -> None:
        self._channel = channel
        self._timeout_s = timeout_s
        self._exchange: AbstractExchange | None = None

    @classmethod
    async def open(cls, connection: AbstractConnection, *, timeout_s: float = 5.0) -> Publisher:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        return cls(channel, timeout_s=timeout_s)

    async def publish_event(self, message: EventMessage, routing_key: str) -> None:
        await self.publish(
            routing_key,
            message.model_dump_json().encode(),
            message_id=str(message.event_id),
            correlation_id=message.correlation_id,
        )

    async def publish_events(self, messages: Sequence[EventMessage]) -> list[PublishFailed | None]:
        """Publish many events (routed by event type) in one round of publisher confirms:
        every frame is queued without waiting for the socket, then every confirm is awaited
        under one timeout. None where the broker confirmed, else why not; those stay with
        the caller."""
        if not messages:
            return []
        channel = await self._channel.get_underlay_channel()

        async def one(message: EventMessage) -> PublishFailed | None:
            try:
                # `wait` (aiormq's, missing from its abstract type) queues the frames
                # without holding the channel lock until the socket took them.
                confirmation = await channel.basic_publish(  # type: ignore[call-arg]
                    message.model_dump_json().encode(),
                    exchange=EXCHANGE,
                    routing_key=message.event_type,
                    properties=aiormq.spec.Basic.Properties(
                        content_type="application/json",
                        delivery_mode=DeliveryMode.PERSISTENT.value,
                        message_id=str(message.event_id),
                        correlation_id=message.correlation_id,
                        headers={},
                    ),
                    mandatory=True,
                    wait=False,
                )
            except aiormq.exceptions.PublishError:
                return PublishFailed(f"broker returned the message for {message.event_type!r}")
            except (AMQPError, aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
                return PublishFailed(f"broker unavailable: {exc.__class__.__name__}")
            if not isinstance(confirmation, aiormq.spec.Basic.Ack):
                return PublishFailed(f"broker refused the message for {message.event_type!r}")
            return None

        publishing = [asyncio.ensure_future(one(m)) for m in messages]
        done, pending = await asyncio.wait(publishing, timeout=self._timeout_s)
        for late in pending:
            late.cancel()
        if pending:
            await asyncio.wait(pending)
        late_reason = PublishFailed(f"no publisher confirm within {self._timeout_s}s")
        return [p.result() if p in done else late_reason for p in publishing]

    async def publish(
        self,
        routing_key: str,
        body: bytes,
        *,
        message_id: str | None = None,
        correlation_id: str | None = None,
        headers: dict[str, Any] | None = None,
        to_queue: bool = False,
    ) -> None:
        """Publish to `pms.events`, or with `to_queue` straight to the queue named by
        `routing_key` through the default exchange (used for delayed retries)."""
        exchange = self._channel.default_exchange if to_queue else await self._events_exchange()
        message = Message(
            body,
            content_type="application/json",
            delivery_mode=DeliveryMode.PERSISTENT,
            message_id=message_id,
            correlation_id=correlation_id,
            headers=headers or {},
        )
        try:
            confirmation = await exchange.publish(
                message, routing_key=routing_key, mandatory=True, timeout=self._timeout_s
            )
        except DeliveryError as exc:
            raise PublishFailed(
                f"broker returned or refused the message for {routing_key!r}"
            ) from exc
        except TimeoutError as exc:
            raise PublishFailed(f"no publisher confirm within {self._timeout_s}s") from exc
        except (AMQPError, aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
            raise PublishFailed(f"broker unavailable: {exc.__class__.__name__}") from exc
        if not isinstance(confirmation, aiormq.spec.Basic.Ack):
            raise PublishFailed(f"broker did not confirm the message for {routing_key!r}")

    async def _events_exchange(self) -> AbstractExchange:
        if self._exchange is None:
            self._exchange = await self._channel.get_exchange(EXCHANGE, ensure=False)
        return self._exchange

    async def close(self) -> None:
        if not self._channel.is_closed:
            await self._channel.close()
