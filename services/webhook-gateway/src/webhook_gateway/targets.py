"""Each property's webhook target (its Beds24 link and active secret digests), cached.

An entry is served only while the gateway listens on `webhook_targets_changed` (migration
0008 notifies it whenever secrets, the Beds24 link or the property change), and is dropped
on the notice, so a revoked secret stops working at once. While the LISTEN connection is
down nothing is served from the cache: every request reads Postgres, as without a cache.
Unknown properties are never cached (a flood of made-up ids cannot fill memory), and the
cache holds at most `max_entries` properties.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

import asyncpg
from channel_sync.db import DATABASE_ERRORS, connect
from channel_sync.supervision import LoopHealth, supervise

from webhook_gateway.properties import WebhookTarget, load_target

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "webhook_targets_changed"


class TargetCache:
    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        *,
        db_timeout_s: float,
        max_entries: int = 10_000,
    ) -> None:
        self._pool = pool
        self._dsn = dsn
        self._db_timeout_s = db_timeout_s
        self._max_entries = max_entries
        self._cache: dict[UUID, WebhookTarget] = {}
        self._changes: dict[UUID, int] = {}  # notices seen per property
        self._listener: asyncpg.Connection | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def listening(self) -> bool:
        return self._listener is not None and not self._listener.is_closed()

    def start(self, health: LoopHealth) -> None:
        self._task = asyncio.create_task(
            supervise("webhook-targets-listen", self._listen, self._stop, health, every_s=2.0),
            name="webhook-targets-listen",
        )

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        if self._listener is not None:
            await self._listener.close(timeout=5)

    async def get(self, property_id: UUID) -> WebhookTarget | None:
        if self.listening and (cached := self._cache.get(property_id)) is not None:
            return cached
        seen = self._changes.get(property_id, 0)
        async with self._pool.acquire(timeout=self._db_timeout_s) as conn:
            target = await load_target(conn, property_id)
        # Cached only if no notice for it came while we read, and we still listen.
        unchanged = self._changes.get(property_id, 0) == seen
        if target is not None and unchanged and self.listening:
            if len(self._cache) >= self._max_entries:
                self._cache.pop(next(iter(self._cache)))
            self._cache[property_id] = target
        return target

    async def _listen(self) -> None:
        """A round of the supervised loop: (re)open the LISTEN connection if needed."""
        if self.listening:
            return
        self._cache.clear()
        conn = await connect(self._dsn)
        try:
            await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
        except DATABASE_ERRORS:
            await conn.close(timeout=5)
            raise
        conn.add_termination_listener(lambda _: self._cache.clear())
        self._listener = conn

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            property_id = UUID(str(payload))
        except ValueError:
            self._cache.clear()
            return
        self._changes[property_id] = self._changes.get(property_id, 0) + 1
        self._cache.pop(property_id, None)
