"""Group commit: the webhooks of concurrent requests are stored in one transaction, with one
multi-row insert, and their new events published together afterwards.

Each request hands its items over and waits for its own outcome. One committer at a time
takes everything waiting (up to `max_requests`), looks up the PMS reservations of all their
bookings at once, inserts every event in one statement and commits. Only then is each
request answered: nothing is acknowledged before its row is committed, and a failed shared
commit fails every request in it (none is answered 2xx). A commit that failed for a reason
other than the database being away is retried request by request, so one bad request
cannot fail the others.

Publishing happens after the answers, one round of publisher confirms for the group, then
one status update; what is not confirmed is left to the relay (the rows are held back from
it for `publish_hold_s` meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
from channel_sync.amqp.link import BrokerLink
from channel_sync.db import is_database_unavailable
from channel_sync.events import ChannelEvent, Direction, NewChannelEvent
from channel_sync.inbound import ENTITY_TYPE, booking_event_type
from channel_sync.publishing import mark, publish_all
from channel_sync.repository import ChannelEventRepository

from webhook_gateway.intake import Item, Policy
from webhook_gateway.properties import reservations_by_booking

logger = logging.getLogger(__name__)
_events = ChannelEventRepository()


@dataclass(frozen=True)
class Recorded:
    stored: list[ChannelEvent]
    duplicates: int


@dataclass
class _Request:
    property_id: UUID
    items: list[Item]
    correlation_id: str
    outcome: asyncio.Future[Recorded] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommitter:
    def __init__(
        self,
        pool: asyncpg.Pool,
        broker: BrokerLink,
        policy: Policy,
        *,
        db_timeout_s: float,
        max_requests: int = 200,
    ) -> None:
        self._pool = pool
        self._broker = broker
        self._policy = policy
        self._db_timeout_s = db_timeout_s
        self._max = max_requests
        self._waiting: list[_Request] = []
        self._arrived = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None
        self._publishing: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._committer = asyncio.create_task(self._commit_loop(), name="group-commit")

    async def close(self) -> None:
        """Let publishing in flight finish (bounded), then stop the committer."""
        if self._publishing:
            await asyncio.wait(self._publishing, timeout=10)
        if self._committer is not None:
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
        for request in self._waiting:
            if not request.outcome.done():
                request.outcome.cancel()

    async def record(self, property_id: UUID, items: list[Item], correlation_id: str) -> Recorded:
        """Store the items with the next group; returns once they are committed."""
        request = _Request(property_id, items, correlation_id)
        self._waiting.append(request)
        self._arrived.set()
        return await request.outcome

    async def _commit_loop(self) -> None:
        while True:
            await self._arrived.wait()
            group = self._waiting[: self._max]
            del self._waiting[: self._max]
            if not self._waiting:
                self._arrived.clear()
            try:
                stored = await self._commit(group)
            except Exception as exc:  # answered per request: 503 or 500, never 2xx
                if is_database_unavailable(exc) or len(group) == 1:
                    _fail(group, exc)
                    continue
                logger.warning(
                    "group commit of %d requests failed (%s); committing them one by one",
                    len(group),
                    exc.__class__.__name__,
                )
                stored = await self._commit_one_by_one(group)
            if stored:
                task = asyncio.create_task(self._publish(stored))
                self._publishing.add(task)
                task.add_done_callback(self._publishing.discard)

    async def _commit(self, group: list[_Request]) -> list[ChannelEvent]:
        async with self._pool.acquire(timeout=self._db_timeout_s) as conn, conn.transaction():
            booking_ids = [i.booking_id for r in group for i in r.items]
            known = await reservations_by_booking(conn, booking_ids)
            events = [self._event(r, item, known) for r in group for item in r.items]
            stored = await _events.create_many(
                conn, events, publish_after_s=self._policy.publish_hold_s
            )
        by_key = {e.idempotency_key: e for e in stored}
        for request in group:
            mine = [
                by_key.pop(i.idempotency_key) for i in request.items if i.idempotency_key in by_key
            ]
            if not request.outcome.done():  # its client may have gone: the rows stay
                request.outcome.set_result(Recorded(mine, len(request.items) - len(mine)))
        return stored

    async def _commit_one_by_one(self, group: list[_Request]) -> list[ChannelEvent]:
        stored: list[ChannelEvent] = []
        for request in group:
            try:
                stored += await self._commit([request])
            except Exception as exc:
                _fail([request], exc)
        return stored

    def _event(self, request: _Request, item: Item, known: dict[int, UUID]) -> NewChannelEvent:
        return NewChannelEvent(
            property_id=request.property_id,
            direction=Direction.INBOUND,
            event_type=booking_event_type(item.status, known=item.booking_id in known),
            entity_type=ENTITY_TYPE,
            entity_external_id=str(item.booking_id),
            entity_internal_id=known.get(item.booking_id),
            idempotency_key=item.idempotency_key,
            payload=item.payload,
            max_attempts=self._policy.max_attempts,
            correlation_id=request.correlation_id,
        )

    async def _publish(self, events: list[ChannelEvent]) -> None:
        published = await publish_all(self._broker, events)
        for event, reason in published.failed:
            logger.warning(
                "publish failed, left to the relay: %s", reason, extra={"event_id": str(event.id)}
            )
        try:
            async with self._pool.acquire(timeout=self._db_timeout_s) as conn:
                await mark(conn, published, hand_to_relay=True)
        except Exception as exc:  # stored already: the relay takes them after the hold
            logger.warning("could not update published events (%s)", exc.__class__.__name__)


def _fail(group: list[_Request], exc: Exception) -> None:
    for request in group:
        if not request.outcome.done():
            request.outcome.set_exception(exc)
