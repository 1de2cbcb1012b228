"""The outbound queue's lanes: a message's lane is its property's Beds24 account, so each
account is batched, paced for credits and sent apart from the others (`channel_sync.amqp.
batching`): one account's burst or credit wait never holds another account's changes.

The account of a property is read once and kept for `ttl_s` (a property moved to another
account lands in its new lane after that; meanwhile only pacing differs, as the handler
groups a batch's events by the accounts it reads itself). Concurrent first questions for one
property share one read."""

from __future__ import annotations

import asyncio
from uuid import UUID

import asyncpg
from channel_sync.events import EventMessage

# The lane of messages whose property is not connected (the handler refuses them).
UNCONNECTED = ""


class AccountLanes:
    def __init__(self, pool: asyncpg.Pool, *, ttl_s: float = 60.0) -> None:
        self._pool = pool
        self._ttl_s = ttl_s
        self._known: dict[UUID, tuple[float, asyncio.Future[str]]] = {}

    async def __call__(self, message: EventMessage) -> str:
        loop = asyncio.get_running_loop()
        known = self._known.get(message.property_id)
        stale = known is None or known[0] < loop.time()
        failed = known is not None and known[1].done() and known[1].exception() is not None
        if known is None or stale or failed:
            read = asyncio.ensure_future(self._read(message.property_id))
            known = (loop.time() + self._ttl_s, read)
            self._known[message.property_id] = known
        # Shielded: one caller given up on (its delivery cancelled) does not cancel the read
        # the others wait on.
        return await asyncio.shield(known[1])

    async def _read(self, property_id: UUID) -> str:
        account: str | None = await self._pool.fetchval(
            "SELECT account_id FROM beds24_properties WHERE property_id = $1", property_id
        )
        return account or UNCONNECTED
