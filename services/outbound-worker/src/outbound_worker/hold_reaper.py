"""The hold reaper: inventory holds past their expiry are marked expired, which records the
availability change that gives their unit back to Beds24 (`channel_sync.holds`).

A supervised loop (its rounds show in liveness and readiness like every loop's); safe with
several replicas (each round takes the due holds no other transaction holds: SKIP LOCKED).
Its lag, how long the most overdue hold has been past its expiry, is a metric: the alert
and the console read it.
"""

from __future__ import annotations

import asyncio

import asyncpg
from channel_sync.holds import expire_due, overdue_s
from channel_sync.supervision import LoopHealth, supervise
from prometheus_client import Counter, Gauge

HOLDS_EXPIRED = Counter(
    "channel_sync_holds_expired_total", "Inventory holds the reaper marked expired"
)
HOLDS_OVERDUE = Gauge(
    "channel_sync_holds_overdue_seconds",
    "How long the most overdue live hold has been past its expiry (0: none), after a round",
)


class HoldReaper:
    NAME = "hold-reaper"

    def __init__(self, pool: asyncpg.Pool, *, every_s: float, batch: int = 500) -> None:
        self._pool = pool
        self._every_s = every_s
        self._batch = batch

    @property
    def name(self) -> str:
        return self.NAME

    async def run(self, stop: asyncio.Event, health: LoopHealth) -> None:
        await supervise(self.NAME, self.round, stop, health, every_s=self._every_s)

    async def round(self) -> None:
        async with self._pool.acquire() as conn:
            while True:  # a burst of expiries is drained in one round, a batch per commit
                async with conn.transaction():
                    expired = await expire_due(conn, limit=self._batch)
                HOLDS_EXPIRED.inc(expired)
                if expired < self._batch:
                    break
            HOLDS_OVERDUE.set(await overdue_s(conn))
