"""A consumer that hands messages to its handler in batches instead of one at a time.

Each delivered message waits in `process` while a flush loop gathers messages for a short
window (from the first one) or until the batch is full, runs the batch handler once, and
gives every message its outcome. When Beds24 credits are short, `pause` (asked after each
batch) holds the next batch back: changes gather longer into fewer, larger calls, so an
account never runs dry. Each message is then settled exactly as the shared EventConsumer
settles one (ack; failed + DLQ; delayed retry, counted or not). A message
still waiting when the worker stops is simply not acknowledged: the broker redelivers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from uuid import UUID

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from channel_sync.amqp.consumer import EventConsumer
from channel_sync.events import EventMessage

from outbound_worker.metrics import BATCH_EVENTS

logger = logging.getLogger(__name__)

BatchHandler = Callable[[list[EventMessage]], Awaitable[Mapping[UUID, Exception | None]]]
# Seconds the next batch must wait after the last one (0: no pause).
Pause = Callable[[], Awaitable[float]]
# A pause this long or longer is capped: the budget is asked again after it.
MAX_PAUSE_S = 60.0

_Waiting = tuple[EventMessage, "asyncio.Future[Exception | None]"]


class BatchingConsumer(EventConsumer):
    def __init__(
        self,
        *,
        batch_handler: BatchHandler,
        window_s: float,
        max_batch: int,
        pause: Pause | None = None,
        **consumer_args: Any,
    ) -> None:
        # Prefetch two batches: the next one gathers while the current one is at Beds24.
        consumer_args.setdefault("prefetch", 2 * max_batch)
        super().__init__(handler=_not_used, **consumer_args)
        self._batch_handler = batch_handler
        self._window_s = window_s
        self._max_batch = max_batch
        self._pause = pause
        self._not_before = 0.0  # loop time before which no batch starts
        self._waiting: list[_Waiting] = []
        self._arrived = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    async def start(self, channel: AbstractChannel | None = None) -> None:
        self._flusher = asyncio.create_task(self._flush_loop(), name="outbound-batches")
        await super().start(channel)

    async def stop(self, drain_timeout_s: float = 20.0) -> None:
        """Stop consuming, finish the batches already gathered (no pause for credits: what
        cannot be paid goes back to the queue), then stop the flush loop."""
        self._not_before = 0.0
        if self._waiting:
            self._arrived.set()  # wake a paused gathering
        await super().stop(drain_timeout_s)
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None

    async def process(self, message: AbstractIncomingMessage) -> None:
        envelope = await self.read_envelope(message)
        if envelope is None:
            return
        future: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((envelope, future))
        self._arrived.set()
        outcome = await future
        await self.settle(message, envelope, outcome)

    async def _flush_loop(self) -> None:
        try:
            while True:
                await self._arrived.wait()
                await self._gather()
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                if not self._waiting:
                    self._arrived.clear()
                try:
                    await self._run(batch)
                except Exception as exc:  # never let one batch end the loop for good
                    logger.error("outbound batch could not be settled", exc_info=exc)
                    for _, future in batch:
                        if not future.done():
                            future.set_result(exc)
                self._not_before = asyncio.get_running_loop().time() + await self._next_pause()
        finally:
            for _, future in self._waiting:
                future.cancel()  # their messages go back to the broker unacknowledged

    async def _gather(self) -> None:
        """Wait until the window since the first waiting message ends or the batch is full,
        and in any case until the pause after the last batch is over."""
        loop = asyncio.get_running_loop()
        window_ends = loop.time() + self._window_s
        while True:
            full = len(self._waiting) >= self._max_batch
            wake = self._not_before if full else max(window_ends, self._not_before)
            if loop.time() >= wake:
                return
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wake - loop.time()):
                    await self._arrived.wait()

    async def _next_pause(self) -> float:
        """The pause the credit budget asks for; none when it cannot be asked (the loop
        must outlive a failed round: the budget's gate still holds calls it cannot pay)."""
        if self._pause is None:
            return 0.0
        try:
            return min(max(await self._pause(), 0.0), MAX_PAUSE_S)
        except Exception as exc:
            logger.warning("credit pacing unavailable: %s", exc.__class__.__name__)
            return self._window_s

    async def _run(self, batch: list[_Waiting]) -> None:
        first: dict[UUID, EventMessage] = {}
        for envelope, future in batch:
            if envelope.event_id in first:
                future.set_result(None)  # a duplicate delivery: its twin carries the outcome
            else:
                first[envelope.event_id] = envelope
        BATCH_EVENTS.observe(len(first))
        try:
            outcomes = await self._batch_handler(list(first.values()))
        except Exception as exc:  # the batch as a whole failed: each event retries, counted
            logger.warning("outbound batch failed: %s", exc.__class__.__name__)
            outcomes = dict.fromkeys(first, exc)
        for envelope, future in batch:
            if not future.done():
                future.set_result(
                    outcomes.get(envelope.event_id, RuntimeError("no outcome for the event"))
                )


async def _not_used(_: EventMessage) -> None:
    raise NotImplementedError("BatchingConsumer hands messages to its batch handler")
