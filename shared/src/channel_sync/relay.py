"""Relay: publishes every stored event still `received`, so a crash or a broker outage
between commit and publish loses nothing.

It wakes on the `channel_events_received` NOTIFY sent by a trigger when a row commits, and
polls as a backstop. Several replicas can run: rows are claimed with FOR UPDATE SKIP LOCKED
and marked `processing` in the same transaction that publishes them. It also hands
`processing` events that nothing touched for a long time (their message lost) back to itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from channel_sync import metrics
from channel_sync.amqp.publisher import Publisher, PublishFailed
from channel_sync.events import Direction, EventMessage
from channel_sync.repository import ChannelEventRepository

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "channel_events_received"


class Relay:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        publisher: Publisher,
        direction: Direction,
        poll_interval_s: float = 2.0,
        batch_size: int = 200,
        stalled_after_s: float = 900.0,
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._direction = direction
        self._poll_interval_s = poll_interval_s
        self._batch_size = batch_size
        self._stalled_after_s = stalled_after_s
        self._events = ChannelEventRepository()
        self._wake = asyncio.Event()

    async def publish_due(self) -> int:
        """Publish one batch of due rows; returns how many were published."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await self._events.claim_for_relay(conn, self._direction, self._batch_size)
            if not rows:
                return 0
            results = await asyncio.gather(
                *(
                    self._publisher.publish_event(EventMessage.for_event(e), e.event_type)
                    for e in rows
                ),
                return_exceptions=True,
            )
            published = [e.id for e, r in zip(rows, results, strict=True) if r is None]
            await self._events.mark_published(conn, published)
        failures = [r for r in results if isinstance(r, BaseException)]
        metrics.EVENTS_RELAYED.labels(str(self._direction)).inc(len(published))
        if failures:
            metrics.RELAY_FAILURES.labels(str(self._direction)).inc()
            logger.warning("relay could not publish %d event(s): %s", len(failures), failures[0])
        return len(published)

    async def run(self, stop: asyncio.Event) -> None:
        listener = await self._listen()
        try:
            while not stop.is_set():
                self._wake.clear()  # before the round: a NOTIFY during it wakes the next one
                try:
                    await self._round()
                except (PublishFailed, OSError, asyncpg.PostgresError) as exc:
                    logger.warning("relay round failed: %s", exc.__class__.__name__)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_interval_s):
                        await _first_of(self._wake.wait(), stop.wait())
                if listener is None or listener.is_closed():
                    listener = await self._listen()
        finally:
            if listener is not None:
                await self._unlisten(listener)

    async def _round(self) -> None:
        while await self.publish_due() >= self._batch_size:
            pass  # a full batch: there may be more
        async with self._pool.acquire() as conn:
            sweep = await self._events.requeue_stalled(conn, self._direction, self._stalled_after_s)
        if sweep.failed:
            logger.error("%d stalled event(s) failed: out of attempts", sweep.failed)
        if sweep.requeued:
            logger.warning("%d stalled event(s) handed back to the relay", sweep.requeued)
            await self.publish_due()

    async def _listen(self) -> PoolConnectionProxy | None:
        """Hold one pooled connection for LISTEN; without it the relay still polls."""
        try:
            conn: PoolConnectionProxy = await self._pool.acquire()
            await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
        except (OSError, asyncpg.PostgresError):
            return None
        return conn

    async def _unlisten(self, conn: PoolConnectionProxy) -> None:
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            await conn.remove_listener(NOTIFY_CHANNEL, self._on_notify)
        await self._pool.release(conn)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        if payload == self._direction:
            self._wake.set()


async def _first_of(*waits: Coroutine[Any, Any, Any]) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
