"""Applies a settlement decision (`settlement`) to one message: the event's row first, then
the broker, so an outcome is stored before its message is settled.

    Ack             ack
    DeadLetter      mark the event `failed` with the reason, reject (to the DLQ); a row
                    already done means a twin delivery applied it: ack
    CountedRetry    record the attempt, then as `after_attempt` says
    UncountedRetry  note why the event waits, copy the message to the retry queue of that
                    delay, ack the original (if the copy cannot be published: nack, requeue)

Every message handed to `settle` is settled exactly once (ack, reject or nack), unless the
broker is gone, in which case it redelivers the message itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

import asyncpg
from aio_pika.abc import AbstractIncomingMessage

from channel_sync import metrics
from channel_sync.amqp.publisher import EventPublisher, PublishFailed
from channel_sync.amqp.settlement import (
    Ack,
    CountedRetry,
    DeadLetter,
    Decision,
    UncountedRetry,
    after_attempt,
    decide,
    unstorable,
)
from channel_sync.amqp.topology import WorkQueue
from channel_sync.db import DATABASE_ERRORS
from channel_sync.events import EventMessage
from channel_sync.repository import ChannelEventRepository

logger = logging.getLogger(__name__)


class Settler:
    def __init__(
        self,
        *,
        work_queue: WorkQueue,
        pool: asyncpg.Pool,
        publisher: EventPublisher,
        retry_delays_ms: list[int],
    ) -> None:
        self._work = work_queue
        self._pool = pool
        self._publisher = publisher
        self._delays = retry_delays_ms
        self._events = ChannelEventRepository()

    async def settle(
        self, message: AbstractIncomingMessage, envelope: EventMessage, error: Exception | None
    ) -> None:
        """Turn a handler's outcome (None = success) into ack, delayed retry or DLQ."""
        log: dict[str, object] = {
            "event_id": str(envelope.event_id),
            "correlation_id": envelope.correlation_id,
            "event_type": envelope.event_type,
        }
        metrics.LAST_CONSUMED.labels(self._work.name).set_to_current_time()
        decision: Decision = decide(error, self._delays, datetime.now(UTC))
        try:
            await self._apply(message, envelope, decision, log)
        except DATABASE_ERRORS as exc:
            logger.warning(
                "cannot store the outcome (%s); retrying later", exc.__class__.__name__, extra=log
            )
            if not message.processed:
                await self._retry(message, unstorable(str(exc), self._delays), log)

    async def _apply(
        self,
        message: AbstractIncomingMessage,
        envelope: EventMessage,
        decision: Decision,
        log: Mapping[str, object],
    ) -> None:
        if isinstance(decision, CountedRetry):
            async with self._pool.acquire() as conn:
                attempt = await self._events.record_failed_attempt(
                    conn, envelope.event_id, decision.reason
                )
            then = after_attempt(
                attempts=attempt.attempts,
                max_attempts=attempt.max_attempts,
                gave_up=attempt.gave_up,
                reason=decision.reason,
                delays_ms=self._delays,
            )
            if isinstance(then, DeadLetter):
                logger.warning(
                    "event failed after %d attempts: %s", attempt.attempts, then.reason, extra=log
                )
                await self._dead_letter(message)
            elif isinstance(then, Ack):
                await message.ack()  # a concurrent delivery finished it
            else:
                logger.info(
                    "attempt %d/%d failed: %s",
                    attempt.attempts,
                    attempt.max_attempts,
                    then.reason,
                    extra=log,
                )
                metrics.EVENTS_HANDLED.labels(self._work.name, "retry").inc()
                await self._retry(message, then, log)
        elif isinstance(decision, Ack):
            metrics.EVENTS_HANDLED.labels(self._work.name, "done").inc()
            await message.ack()
        elif isinstance(decision, DeadLetter):
            async with self._pool.acquire() as conn:
                failed = await self._events.mark_failed(conn, envelope.event_id, decision.reason)
            if not failed:
                logger.info("event already done; duplicate delivery acknowledged", extra=log)
                await message.ack()
                return
            logger.warning("event failed permanently: %s", decision.reason, extra=log)
            await self._dead_letter(message)
        else:
            async with self._pool.acquire() as conn:
                await self._events.note_waiting(conn, envelope.event_id, decision.reason)
            metrics.EVENTS_HANDLED.labels(self._work.name, "deferred").inc()
            await self._retry(message, decision, log)

    async def _dead_letter(self, message: AbstractIncomingMessage) -> None:
        metrics.EVENTS_HANDLED.labels(self._work.name, "failed").inc()
        await message.reject(requeue=False)

    async def _retry(
        self, message: AbstractIncomingMessage, retry: UncountedRetry, log: Mapping[str, object]
    ) -> None:
        """Copy the message to the retry queue for the delay, then ack the original.

        If the copy cannot be published, the original is returned to the queue instead."""
        try:
            await self._publisher.publish(
                self._work.retry_queue(retry.delay_ms),
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
