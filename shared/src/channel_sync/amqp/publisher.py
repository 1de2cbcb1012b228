"""Publishing with confirms: a publish returns only once the broker has the message.

A message the broker cannot route (mandatory) or refuses (nack), or no answer within the
timeout, raises PublishFailed; nothing passes silently.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.metadata
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiormq
import pamqp.frame
from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from aio_pika.exceptions import DeliveryError
from aiormq.abc import ChannelFrame
from pamqp.body import ContentBody
from pamqp.header import ContentHeader

from channel_sync.amqp.topology import EXCHANGE
from channel_sync.errors import TransientError
from channel_sync.events import EventMessage
from channel_sync.outages import BROKER_UNAVAILABLE

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
        """A confirming channel; refuses (IncompatibleLibrary) an aiormq channel this module
        was not written for, before anything is published through it."""
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        check_internals(await channel.get_underlay_channel())
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
        the frames of all of them go to the socket in one write, then every confirm is
        awaited under one timeout. None where the broker confirmed, else why not; those stay
        with the caller."""
        if not messages:
            return []
        channel = await self._channel.get_underlay_channel()
        if not isinstance(channel, aiormq.Channel):  # what aio-pika opens; see _write_all
            raise TypeError(f"not an aiormq channel: {type(channel).__name__}")
        publishes = [
            (
                message.event_type,
                str(message.event_id),
                message.model_dump_json().encode(),
                aiormq.spec.Basic.Properties(
                    content_type="application/json",
                    delivery_mode=DeliveryMode.PERSISTENT.value,
                    message_id=str(message.event_id),
                    correlation_id=message.correlation_id,
                ),
            )
            for message in messages
        ]
        try:
            async with asyncio.timeout(self._timeout_s):
                sent = await _write_all(channel, publishes)
        except TimeoutError:
            return [PublishFailed(f"broker took no frames within {self._timeout_s}s")] * len(
                messages
            )
        except BROKER_UNAVAILABLE as exc:
            return [PublishFailed(f"broker unavailable: {exc.__class__.__name__}")] * len(messages)
        try:
            await asyncio.wait([one.confirm for one in sent], timeout=self._timeout_s)
            return [_reason(one, self._timeout_s) for one in sent]
        finally:
            _forget(channel, sent)

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
        except BROKER_UNAVAILABLE as exc:
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


class IncompatibleLibrary(Exception):  # not a RuntimeError: never taken for a broker outage
    """aiormq or pamqp is not a release `_write_all` was written for: the process must not
    run (a renamed attribute would otherwise fail every publish as a broker outage)."""


# Releases `_write_all` was written for (compatible-release, as pinned in pyproject.toml),
# and the aiormq channel attributes it uses beside aiormq's public `number`.
WRITTEN_FOR = {"aiormq": (7, 2), "pamqp": (4, 0)}
_CHANNEL_INTERNALS = (
    "lock",
    "delivery_tag",
    "confirmations",
    "message_id_delivery_tag",
    "write_queue",
    "max_content_size",
    "create_future",
)


def check_versions() -> None:
    """Raise IncompatibleLibrary unless the installed aiormq and pamqp are the releases
    `_write_all` was written for (every process checks at start: `BrokerLink`)."""
    for name, (major, minor) in WRITTEN_FOR.items():
        found = importlib.metadata.version(name)
        parts = tuple(int(p) for p in found.split(".")[:2] if p.isdigit())
        if len(parts) < 2 or parts[0] != major or parts[1] < minor:
            raise IncompatibleLibrary(
                f"{name} {found} is installed; channel_sync's publisher was written for "
                f"{name}~={major}.{minor} (see amqp/publisher.py): install that release"
            )


def check_internals(channel: object) -> None:
    """Raise IncompatibleLibrary unless `channel` is aiormq's, with what `_write_all` uses."""
    check_versions()
    if not isinstance(channel, aiormq.Channel):
        raise IncompatibleLibrary(f"aio-pika opened a {type(channel).__name__}, not aiormq's")
    missing = [a for a in _CHANNEL_INTERNALS if not hasattr(channel, a)]
    if missing:
        raise IncompatibleLibrary(
            f"aiormq's channel lacks {missing}, which the publisher uses: pin aiormq~=7.2"
        )


# One round of publishes, written at once. aiormq's `basic_publish` takes the channel lock,
# marshals and queues the frames of ONE message per call; at thousands of events a second
# that costs about four times the CPU of this, which books each message exactly as
# `basic_publish` does (delivery tag, confirmation future from the channel's future store,
# message id for returns) and hands all frames to the connection's writer as one payload.
# The rest (acks, nacks, returns, a closing channel rejecting its futures) stays aiormq's.
# Relies on aiormq 7's channel attributes; shared/tests/test_amqp.py fails if they change.
_Publish = tuple[str, str, bytes, aiormq.spec.Basic.Properties]  # key, id, body, props


@dataclass(frozen=True)
class _Sent:
    routing_key: str
    message_id: str
    delivery_tag: int
    confirm: asyncio.Future[Any]


@functools.lru_cache(maxsize=1024)
def _publish_method(channel_number: int, routing_key: str) -> bytes:
    """The marshalled `basic.publish` method frame: the same for every message of a key."""
    method = aiormq.spec.Basic.Publish(exchange=EXCHANGE, routing_key=routing_key, mandatory=True)
    return pamqp.frame.marshal(method, channel_number)


async def _write_all(channel: aiormq.Channel, publishes: list[_Publish]) -> list[_Sent]:
    sent: list[_Sent] = []
    parts: list[bytes] = []
    number = channel.number
    chunk = channel.max_content_size
    async with channel.lock:  # raises if the channel closed meanwhile
        first_tag = channel.delivery_tag
        try:
            for routing_key, message_id, body, properties in publishes:
                channel.delivery_tag += 1
                tag = channel.delivery_tag
                confirm = channel.create_future()
                channel.confirmations[tag] = confirm
                channel.message_id_delivery_tag[message_id] = tag
                sent.append(_Sent(routing_key, message_id, tag, confirm))
                parts.append(_publish_method(number, routing_key))
                parts.append(pamqp.frame.marshal(ContentHeader(0, len(body), properties), number))
                for start in range(0, len(body), chunk):
                    parts.append(
                        pamqp.frame.marshal(ContentBody(body[start : start + chunk]), number)
                    )
            await channel.write_queue.put(ChannelFrame(payload=b"".join(parts), should_close=False))
        except BaseException:
            # Nothing reached the writer: give the tags back, as basic_publish does.
            for tag in range(first_tag + 1, channel.delivery_tag + 1):
                channel.confirmations.pop(tag, None)
            channel.delivery_tag = first_tag
            _forget(channel, sent)
            raise
    return sent


def _reason(sent: _Sent, timeout_s: float) -> PublishFailed | None:
    confirm, routing_key = sent.confirm, sent.routing_key
    if not confirm.done():
        return PublishFailed(f"no publisher confirm within {timeout_s}s")
    if confirm.cancelled():
        return PublishFailed("broker unavailable: publish cancelled")
    error = confirm.exception()
    if isinstance(error, aiormq.exceptions.PublishError):
        return PublishFailed(f"broker returned the message for {routing_key!r}")
    if error is not None:
        return PublishFailed(f"broker unavailable: {error.__class__.__name__}")
    if not isinstance(confirm.result(), aiormq.spec.Basic.Ack):
        return PublishFailed(f"broker refused the message for {routing_key!r}")
    return None


def _forget(channel: aiormq.Channel, sent: list[_Sent]) -> None:
    """Stop waiting: confirms still open are cancelled (aiormq ignores their late acks), and
    the message ids kept for returns are dropped."""
    by_id = channel.message_id_delivery_tag
    for one in sent:
        if not one.confirm.done():
            one.confirm.cancel()
        if by_id.get(one.message_id) == one.delivery_tag:
            del by_id[one.message_id]
