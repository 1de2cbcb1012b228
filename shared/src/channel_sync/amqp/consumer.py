"""Consuming a work queue: a `Subscription` takes each delivered message, holds it (its
progress tracked) and hands its envelope on; a consumer decides and settles it.

Two consumers are built from the same parts (composition, no inheritance):
- `EventConsumer` runs a handler per event message, within a time bound, and settles the
  message by the handler's outcome (`Settler`: ack, counted or uncounted retry, DLQ);
- `BatchingConsumer` (`batching`) gathers messages into batches for one batch handler and
  settles each message the same way.

The handler owns the happy path (lock the row, skip if done, apply, mark done, commit). The
consumer only records failures, so an outcome is stored before the message is settled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

import asyncpg
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from pydantic import ValidationError

from channel_sync import metrics
from channel_sync.amqp.publisher import EventPublisher
from channel_sync.amqp.settler import Settler
from channel_sync.amqp.topology import WorkQueue
from channel_sync.errors import TransientError
from channel_sync.events import EventMessage
from channel_sync.outages import BROKER_UNAVAILABLE
from channel_sync.progress import WorkProgress

logger = logging.getLogger(__name__)

EventHandler = Callable[[EventMessage], Awaitable[None]]
# Takes a readable message: must settle it (or raise, and it is returned to the queue).
Deliver = Callable[[AbstractIncomingMessage, EventMessage], Awaitable[None]]


class Settles(Protocol):
    """Settles one message by its handler's outcome (`Settler`)."""

    async def settle(
        self, message: AbstractIncomingMessage, envelope: EventMessage, error: Exception | None
    ) -> None: ...


# A handler that takes longer is cut off: its event retries (counted), its message moves on.
HANDLER_TIMEOUT_S = 120.0


class Consumer(Protocol):
    """What a worker runs: started once the broker link is up, stopped (drained) at the end;
    its progress feeds liveness."""

    progress: WorkProgress

    @property
    def consuming(self) -> bool: ...

    async def start(self, channel: AbstractChannel | None = None) -> None: ...

    async def stop(self, drain_timeout_s: float = 20.0) -> None: ...


class Subscription:
    """One consumer registration on a work queue. Every delivered message is held (in
    `progress`) until its `deliver` ends; an unreadable one is dead-lettered at once; one
    that `deliver` leaves unsettled is returned to the queue."""

    def __init__(
        self,
        *,
        channel: AbstractChannel | None,
        work_queue: WorkQueue,
        prefetch: int,
        deliver: Deliver,
        progress: WorkProgress,
    ) -> None:
        self._channel = channel
        self._work = work_queue
        self._prefetch = prefetch
        self._deliver = deliver
        self.progress = progress
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    async def start(self, channel: AbstractChannel | None = None) -> None:
        """Start consuming, on `channel` if given (a worker opens it once the broker link
        is up; a robust channel then restores the consumer after reconnects)."""
        if channel is not None:
            self._channel = channel
        if self._channel is None:
            raise RuntimeError("a consumer needs a channel to start")
        await self._channel.set_qos(prefetch_count=self._prefetch)
        self._queue = await self._channel.get_queue(self._work.name, ensure=True)
        self._consumer_tag = await self._queue.consume(self.receive)
        logger.info("consuming %s (prefetch %d)", self._work.name, self._prefetch)

    @property
    def consuming(self) -> bool:
        """Registered on an open channel (false while the broker link is down)."""
        return (
            self._consumer_tag is not None
            and self._channel is not None
            and not self._channel.is_closed
        )

    async def cancel(self) -> None:
        """Take no more messages."""
        if self._queue is not None and self._consumer_tag is not None:
            try:
                async with asyncio.timeout(5):
                    await self._queue.cancel(self._consumer_tag)
            except Exception as exc:  # broker away: closing the channel cancels it anyway
                logger.warning("could not cancel the consumer: %s", exc.__class__.__name__)
            self._consumer_tag = None

    async def drain(self, timeout_s: float) -> None:
        """Let messages in flight finish; those left are redelivered by the broker."""
        if self._in_flight:
            _, pending = await asyncio.wait(self._in_flight, timeout=timeout_s)
            for task in pending:
                task.cancel()
            logger.info("drained; %d message(s) left for redelivery", len(pending))

    async def receive(self, message: AbstractIncomingMessage) -> None:
        """One delivery (the broker's consumer callback)."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        token = self.progress.hold()
        try:
            envelope = await self._read_envelope(message)
            if envelope is not None:
                await self._deliver(message, envelope)
        except Exception as exc:
            logger.error(
                "message %s on %s not settled; returned to the queue",
                message.message_id,
                self._work.name,
                exc_info=exc,
            )
            await return_to_queue(message)
        finally:
            self.progress.release(token)
            if task is not None:
                self._in_flight.discard(task)

    async def _read_envelope(self, message: AbstractIncomingMessage) -> EventMessage | None:
        """The message's envelope; an unreadable message is dead-lettered (None)."""
        try:
            return EventMessage.model_validate_json(message.body)
        except ValidationError:
            logger.error(
                "unreadable message %s on %s: dead-lettered", message.message_id, self._work.name
            )
            await message.reject(requeue=False)
            return None


async def return_to_queue(message: AbstractIncomingMessage) -> None:
    """Nack with requeue unless already settled; a broker that is away redelivers anyway."""
    if message.processed:
        return
    with contextlib.suppress(*BROKER_UNAVAILABLE):
        await message.nack(requeue=True)


class EventConsumer:
    def __init__(
        self,
        *,
        channel: AbstractChannel | None,
        work_queue: WorkQueue,
        pool: asyncpg.Pool,
        publisher: EventPublisher,
        handler: EventHandler,
        retry_delays_ms: list[int],
        prefetch: int = 20,
        handler_timeout_s: float = HANDLER_TIMEOUT_S,
    ) -> None:
        self._work = work_queue
        self._handler = handler
        self._handler_timeout_s = handler_timeout_s
        self._settler = Settler(
            work_queue=work_queue, pool=pool, publisher=publisher, retry_delays_ms=retry_delays_ms
        )
        # Every handler ends within its bound and then settles: a minute past it with
        # nothing settled is a stall.
        self.progress = WorkProgress(work_queue.name, stall_after_s=handler_timeout_s + 60)
        self._subscription = Subscription(
            channel=channel,
            work_queue=work_queue,
            prefetch=prefetch,
            deliver=self._handle,
            progress=self.progress,
        )

    async def start(self, channel: AbstractChannel | None = None) -> None:
        await self._subscription.start(channel)

    @property
    def consuming(self) -> bool:
        return self._subscription.consuming

    async def stop(self, drain_timeout_s: float = 20.0) -> None:
        """Stop taking messages, let in-flight ones finish; unfinished ones are redelivered."""
        await self._subscription.cancel()
        await self._subscription.drain(drain_timeout_s)

    async def _handle(self, message: AbstractIncomingMessage, envelope: EventMessage) -> None:
        bound = asyncio.timeout(self._handler_timeout_s)
        try:
            with metrics.HANDLER_SECONDS.labels(self._work.name).time():
                async with bound:
                    await self._handler(envelope)
        except Exception as exc:  # the settler sorts permanent, deferred and transient errors
            error: Exception = exc
            if bound.expired():
                error = TransientError(f"handler took longer than {self._handler_timeout_s:.0f} s")
            await self._settler.settle(message, envelope, error)
        else:
            await self._settler.settle(message, envelope, None)
