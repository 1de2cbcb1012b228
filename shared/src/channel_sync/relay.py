"""Relay: publishes every stored event still `received`, so a crash or a broker outage
between commit and publish loses nothing.

It wakes on the `channel_events_received` NOTIFY sent by a trigger when a row commits, and
polls as a backstop. Several replicas can run: rows are claimed with FOR UPDATE SKIP LOCKED
and marked `processing` in the same transaction that publishes them. It also hands
`processing` events that nothing touched for a long time (their message lost) back to itself.

The LISTEN connection is its own, outside the pool, straight to Postgres (`listen_dsn`: the
pool may go through a transaction pooler, which cannot carry LISTEN), and is reopened by the
next round after Postgres drops it; without it the relay still polls. A round that fails
(Postgres or the broker away) is retried by the supervising loop after a pause; it never
ends the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time

import asyncpg

from channel_sync import metrics
from channel_sync.amqp.publisher import EventPublisher
from channel_sync.db import DATABASE_ERRORS, connect
from channel_sync.events import Direction
from channel_sync.publishing import mark, publish_all
from channel_sync.repository import ChannelEventRepository
from channel_sync.supervision import LoopHealth, supervise

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "channel_events_received"


class Relay:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        publisher: EventPublisher,
        direction: Direction,
        poll_interval_s: float = 2.0,
        batch_size: int = 200,
        stalled_after_s: float = 900.0,
        listen_dsn: str | None = None,
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._direction = direction
        self._poll_interval_s = poll_interval_s
        self._batch_size = batch_size
        self._stalled_after_s = stalled_after_s
        self._listen_dsn = listen_dsn if listen_dsn is not None else getattr(pool, "dsn", "")
        self._listener: asyncpg.Connection | None = None
        self._events = ChannelEventRepository()
        self._wake = asyncio.Event()
        # The stalled sweep reads every `processing` row: at most this often, not on each
        # wake (a busy relay is woken by nearly every commit).
        self._sweep_every_s = min(poll_interval_s, stalled_after_s / 4)
        self._swept_at = -math.inf

    @property
    def name(self) -> str:
        return f"{self._direction}-relay"

    async def publish_due(self) -> int:
        """Publish one batch of due rows; returns how many were published."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await self._events.claim_for_relay(conn, self._direction, self._batch_size)
            if not rows:
                return 0
            published = await publish_all(self._publisher, rows)
            await mark(conn, published, hand_to_relay=False)  # the relay retries them itself
        metrics.EVENTS_RELAYED.labels(str(self._direction)).inc(len(published.published))
        if published.failed:
            metrics.RELAY_FAILURES.labels(str(self._direction)).inc()
            raise published.failed[0][1]  # the round failed: retried after a pause
        return len(published.published)

    async def run(self, stop: asyncio.Event, health: LoopHealth | None = None) -> None:
        """Relay until `stop` is set, whatever fails on the way."""
        try:
            await supervise(
                self.name,
                self.round,
                stop,
                health or LoopHealth(),
                every_s=self._poll_interval_s,
                wake=self._wake,
            )
        finally:
            await self._unlisten()

    async def round(self) -> None:
        await self._ensure_listening()
        while await self.publish_due() >= self._batch_size:
            pass  # a full batch: there may be more
        if time.monotonic() - self._swept_at < self._sweep_every_s:
            return
        self._swept_at = time.monotonic()
        async with self._pool.acquire() as conn:
            sweep = await self._events.requeue_stalled(conn, self._direction, self._stalled_after_s)
        metrics.STALLED_EVENTS.labels(str(self._direction), "requeued").inc(sweep.requeued)
        metrics.STALLED_EVENTS.labels(str(self._direction), "failed").inc(sweep.failed)
        if sweep.failed:
            logger.error("%d stalled event(s) failed: out of attempts", sweep.failed)
        if sweep.requeued:
            logger.warning("%d stalled event(s) handed back to the relay", sweep.requeued)
            await self.publish_due()

    async def _ensure_listening(self) -> None:
        """(Re)open the LISTEN connection if it is missing or was dropped; on failure the
        round goes on polling."""
        if not self._listen_dsn:
            return
        if self._listener is not None and not self._listener.is_closed():
            return
        self._listener = None
        try:
            conn = await connect(self._listen_dsn)
            await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
            # Dropped (a restart): run a round now, which fails until Postgres is back and
            # then listens again, instead of waiting out the poll interval.
            conn.add_termination_listener(lambda _: self._wake.set())
        except DATABASE_ERRORS as exc:
            logger.debug("relay LISTEN unavailable (%s); polling", exc.__class__.__name__)
            return
        self._listener = conn
        self._wake.set()  # rows may have committed while we were not listening

    async def _unlisten(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(*DATABASE_ERRORS):
                await asyncio.wait_for(self._listener.close(), 5)
            self._listener = None

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        if payload == self._direction:
            self._wake.set()
