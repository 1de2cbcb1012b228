"""Admin retry: reset events to `received` (attempts 0) and republish them at once.

The reset holds the rows back from the relay for a few seconds while we publish them
ourselves, so one retry does not become two messages; whatever we cannot publish (broker
down, no confirm) is handed to the relay straight away. Either way the row is committed as
`received` before any message exists, so nothing is lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from channel_sync.amqp.link import BrokerLink
from channel_sync.db import Connection
from channel_sync.events import ChannelEvent, EventStatus
from channel_sync.publishing import mark, publish_all

from admin_api.errors import Conflict, NotFound
from admin_api.queries.events import AdminEvent, EventAdmin, EventFilter

logger = logging.getLogger(__name__)

_IN_FLIGHT = (EventStatus.RECEIVED, EventStatus.PROCESSING)


@dataclass(frozen=True)
class Requeued:
    events: list[AdminEvent]
    published: int


class Requeuer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        link: BrokerLink,
        events: EventAdmin,
        *,
        hold_s: float,
    ) -> None:
        self._pool = pool
        self._link = link
        self._events = events
        self._hold_s = hold_s

    async def retry_one(self, event_id: UUID, *, replay: bool) -> Requeued:
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                current = await self._events.lock(conn, event_id)
                if current is None:
                    raise NotFound(f"no event {event_id}")
                _check_retryable(current, replay=replay)
                reset = await self._events.reset_for_retry(
                    conn, event_id, allow_done=replay, publish_after_s=self._hold_s
                )
            assert reset is not None  # the row is locked and its status was checked
            logger.info(
                "event requeued by an operator (was %s)",
                current.status,
                extra={"event_id": str(event_id), "replay": replay},
            )
            return Requeued([reset], await self._publish(conn, [reset]))

    async def retry_matching(self, event_filter: EventFilter, *, limit: int) -> Requeued:
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                reset = await self._events.reset_failed_matching(
                    conn, event_filter, limit=limit, publish_after_s=self._hold_s
                )
            logger.info("%d failed event(s) requeued by an operator in bulk", len(reset))
            return Requeued(reset, await self._publish(conn, reset))

    async def _publish(self, conn: Connection, events: list[AdminEvent]) -> int:
        """Publish each event; returns how many the broker confirmed."""
        if not events:
            return 0
        published = await publish_all(self._link, events)
        await mark(conn, published, hand_to_relay=True)
        for event_id, reason in published.failed:
            logger.warning(
                "retry of %s left to the relay: %s",
                event_id,
                reason,
                extra={"event_id": str(event_id)},
            )
        return len(published.published)


def _check_retryable(event: ChannelEvent, *, replay: bool) -> None:
    if event.status in _IN_FLIGHT:
        raise Conflict(f"event is in flight (status {event.status}); wait for it to finish")
    if event.status is EventStatus.DONE and not replay:
        raise Conflict("event is done; pass replay=true to run it again")
