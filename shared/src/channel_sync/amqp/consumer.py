"""Consumer base: runs a handler per event message and turns its result into an outcome.

    handler returns            → ack
    handler raises Permanent   → event `failed` with the reason, message to the DLQ
    handler raises Transient   → attempt counted; retried after a growing delay through the
      (or anything else)         retry queues; once attempts reach max_attempts: `failed`, DLQ
    handler raises RetryAfter  → retried no earlier than it says; counted only if it says so

The handler owns the happy path (lock the row, skip if done, apply, mark done, commit). The
consumer only records failures, so an outcome is stored before the message is settled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

import asyncpg
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from pydantic import ValidationError

from channel_sync import metrics
from channel_sync.amqp.publisher import EventPublisher, PublishFailed
from channel_sync.amqp.topology import WorkQueue
from channel_sync.db import DATABASE_ERRORS
from channel_sync.errors import PermanentError, RetryAfter
from channel_sync.events import EventMessage
from channel_sync.repository import ChannelEventRepository

logger = logging.getLogger(__name__)

EventHandler = Callable[[EventMessage], Awaitable[None]]


def retry_delay_ms(delays_ms: list[int], attempt: int) -> int:
    """Delay before retry number `attempt` (1-based); the last delay repeats."""
    return delays_ms[min(max(attempt, 1), len(delays_ms)) - 1]


def delay_for(delays_ms: list[int], not_before: datetime) -> int:
    """The shortest configured delay that waits at least until `not_before`."""
    wanted = (not_before - datetime.now(UTC)).total_seconds() * 1000
    fitting = [d for d in sorted(delays_ms) if d >= wanted]
    return fitting[0] if fitting else max(delays_ms)


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
    ) -> None:
        self._channel = channel
        self._work = work_queue
        self._pool = pool
        self._publisher = publisher
        self._handler = handler
        self._delays = retry_delays_ms
        self._prefetch = prefetch
        self._events = ChannelEventRepository()
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
        self._consumer_tag = await self._queue.consume(self._on_message)
        logger.info("consuming %s (prefetch %d)", self._work.name, self._prefetch)

    @property
    def consuming(self) -> bool:
        """Registered on an open channel (false while the broker link is down)."""
        return (
            self._consumer_tag is not None
            and self._channel is not None
            and not self._channel.is_closed
        )

    async def stop(self, drain_timeout_s: float = 20.0) -> None:
        """Stop taking messages, let in-flight ones finish; unfinished ones are redelivered."""
        if self._queue is not None and self._consumer_tag is not None:
            try:
                async with asyncio.timeout(5):
                    await self._queue.cancel(self._consumer_tag)
            except Exception as exc:  # broker away: closing the channel cancels it anyway
                logger.warning("could not cancel the consumer: %s", exc.__class__.__name__)
            self._consumer_tag = None
        if self._in_flight:
            _, pending = await asyncio.wait(self._in_flight, timeout=drain_timeout_s)
            for task in pending:
                task.cancel()
            logger.info("drained; %d message(s) left for redelivery", len(pending))

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self.process(message)
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def process(self, message: AbstractIncomingMessage) -> None:
        envelope = await self.read_envelope(message)
        if envelope is None:
            return
        try:
            with metrics.HANDLER_SECONDS.labels(self._work.name).time():
                await self._handler(envelope)
        except Exception as exc:  # settle() sorts permanent, deferred and transient errors
            await self.settle(message, envelope, exc)
        else:
            await self.settle(message, envelope, None)

    async def read_envelope(self, message: AbstractIncomingMessage) -> EventMessage | None:
        """The message's envelope; an unreadable message is dead-lettered (None)."""
        try:
            return EventMessage.model_validate_json(message.body)
        except ValidationError:
            logger.error(
                "unreadable message %s on %s: dead-lettered", message.message_id, self._work.name
            )
            await message.reject(requeue=False)
            return None

    async def settle(
        self, message: AbstractIncomingMessage, envelope: EventMessage, error: Exception | None
    ) -> None:
        """Turn a handler's outcome (None = success) into ack, delayed retry or DLQ.

        Public so that consumers handling messages in batches settle each one the same way."""
        log: dict[str, object] = {
            "event_id": str(envelope.event_id),
            "correlation_id": envelope.correlation_id,
            "event_type": envelope.event_type,
        }
        metrics.LAST_CONSUMED.labels(self._work.name).set_to_current_time()
        try:
            if error is None:
                metrics.EVENTS_HANDLED.labels(self._work.name, "done").inc()
                await message.ack()
            elif isinstance(error, PermanentError):
                await self._give_up(message, envelope, str(error), log)
            elif isinstance(error, RetryAfter):
                await self._retry_after(message, envelope, error, log)
            else:  # anything unexpected is treated as transient, bounded
                reason = str(error) or error.__class__.__name__
                await self._retry_or_give_up(message, envelope, reason, log)
        except DATABASE_ERRORS as exc:
            # The outcome could not be stored: never leave the message holding a prefetch
            # slot until the broker's consumer timeout; try it again later, uncounted.
            logger.warning(
                "cannot store the outcome (%s); retrying later", exc.__class__.__name__, extra=log
            )
            if not message.processed:
                await self._schedule_retry(message, retry_delay_ms(self._delays, 1), log)

    async def _give_up(
        self,
        message: AbstractIncomingMessage,
        envelope: EventMessage,
        reason: str,
        log: Mapping[str, object],
    ) -> None:
        async with self._pool.acquire() as conn:
            failed = await self._events.mark_failed(conn, envelope.event_id, reason)
        if not failed:  # a duplicate delivery: its twin already applied the change
            logger.info("event already done; duplicate delivery acknowledged", extra=log)
            await message.ack()
            return
        logger.warning("event failed permanently: %s", reason, extra=log)
        metrics.EVENTS_HANDLED.labels(self._work.name, "failed").inc()
        await message.reject(requeue=False)

    async def _retry_or_give_up(
        self,
        message: AbstractIncomingMessage,
        envelope: EventMessage,
        reason: str,
        log: Mapping[str, object],
    ) -> None:
        try:
            async with self._pool.acquire() as conn:
                attempt = await self._events.record_failed_attempt(conn, envelope.event_id, reason)
        except DATABASE_ERRORS as exc:
            # The database itself is the trouble: retry later without counting.
            logger.warning(
                "cannot record attempt (%s); retrying later", exc.__class__.__name__, extra=log
            )
            await self._schedule_retry(message, retry_delay_ms(self._delays, 1), log)
            return
        if attempt.gave_up:
            logger.warning(
                "event failed after %d attempts: %s", attempt.attempts, reason, extra=log
            )
            metrics.EVENTS_HANDLED.labels(self._work.name, "failed").inc()
            await message.reject(requeue=False)
            return
        if attempt.max_attempts == 0:  # already done by a concurrent delivery
            await message.ack()
            return
        logger.info(
            "attempt %d/%d failed: %s", attempt.attempts, attempt.max_attempts, reason, extra=log
        )
        metrics.EVENTS_HANDLED.labels(self._work.name, "retry").inc()
        await self._schedule_retry(message, retry_delay_ms(self._delays, attempt.attempts), log)

    async def _retry_after(
        self,
        message: AbstractIncomingMessage,
        envelope: EventMessage,
        exc: RetryAfter,
        log: Mapping[str, object],
    ) -> None:
        if exc.counts_as_attempt:
            await self._retry_or_give_up(message, envelope, str(exc), log)
            return
        async with self._pool.acquire() as conn:
            await self._events.note_waiting(conn, envelope.event_id, str(exc))
        metrics.EVENTS_HANDLED.labels(self._work.name, "deferred").inc()
        await self._schedule_retry(message, delay_for(self._delays, exc.not_before), log)

    async def _schedule_retry(
        self, message: AbstractIncomingMessage, delay_ms: int, log: Mapping[str, object]
    ) -> None:
        """Copy the message to the retry queue for `delay_ms`, then ack the original.

        If the copy cannot be published, the original is returned to the queue instead."""
        try:
            await self._publisher.publish(
                self._work.retry_queue(delay_ms),
                message.body,
                message_id=message.message_id,
                correlation_id=message.correlation_id,
                to_queue=True,
            )
        except PublishFailed:
            logger.warning("retry publish failed; message returned to the queue", extra=log)
            await message.nack(requeue=True)
            return
        await message.ack()
