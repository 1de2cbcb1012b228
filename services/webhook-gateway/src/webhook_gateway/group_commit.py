"""Group commit: the webhooks of concurrent requests are stored by one multi-row insert, and
their new events published together afterwards.

Each request hands its items over and waits for its own outcome. Whenever one of
`commits_in_flight` slots (each with a connection of its own) is free, everything waiting
(up to `max_requests`) becomes a group: one statement inserts every event, linked to the
PMS reservations of their bookings, and commits as it ends. Only then is each request answered:
nothing is acknowledged before its row is committed, and a failed shared insert fails every
request in it (none is answered 2xx; if only the answer was lost, Beds24's resend is a
duplicate). An insert that failed for a reason other than the database being away is
retried request by request, so one bad request cannot fail the others.

Publishing happens after the answers: one round of publisher confirms for the group. The
confirmed events are marked published by one status update for every group confirmed
meanwhile; what is not confirmed is handed to the relay at once (the rows are held back
from it for `publish_hold_s` meanwhile, so a gateway killed before marking leaves them to
the relay after the hold).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
from channel_sync.amqp.link import BrokerLink
from channel_sync.db import STATEMENT_CACHE_SIZE, Connection, connect, is_database_unavailable
from channel_sync.events import Direction, EventMessage, NewChannelEvent
from channel_sync.inbound import ENTITY_TYPE, booking_event_type
from channel_sync.publishing import publish_all
from channel_sync.repository import ChannelEventRepository

from webhook_gateway.intake import Item, Policy

logger = logging.getLogger(__name__)
_events = ChannelEventRepository()


@dataclass(frozen=True)
class Recorded:
    stored: list[UUID]  # the new events' ids
    duplicates: int


class _Slot:
    """One insert in flight at a time, on a connection of its own: the hot path pays no pool
    round trips. A connection that failed is dropped and the next use opens a new one."""

    def __init__(self, dsn: str, timeout_s: float, statement_cache_size: int) -> None:
        self._dsn = dsn
        self._timeout_s = timeout_s
        self._statement_cache_size = statement_cache_size
        self._conn: asyncpg.Connection | None = None

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        if self._conn is None or self._conn.is_closed():
            async with asyncio.timeout(self._timeout_s):
                self._conn = await connect(
                    self._dsn, statement_cache_size=self._statement_cache_size
                )
        try:
            yield self._conn
        except BaseException as exc:  # cut mid-statement, or the server went: start afresh
            if is_database_unavailable(exc) or isinstance(exc, asyncio.CancelledError):
                self._conn.terminate()
                self._conn = None
            raise

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            try:
                await self._conn.close(timeout=self._timeout_s)
            except Exception:  # closing it anyway
                self._conn.terminate()


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
        dsn: str,
        broker: BrokerLink,
        policy: Policy,
        *,
        db_timeout_s: float,
        max_requests: int = 200,
        commits_in_flight: int = 2,
        statement_cache_size: int = STATEMENT_CACHE_SIZE,
    ) -> None:
        self._pool = pool
        self._broker = broker
        self._policy = policy
        self._db_timeout_s = db_timeout_s
        self._max = max_requests
        self._waiting: list[_Request] = []
        self._arrived = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None
        self._slots: asyncio.Queue[_Slot] = asyncio.Queue()
        for _ in range(commits_in_flight):
            self._slots.put_nowait(_Slot(dsn, db_timeout_s, statement_cache_size))
        self._in_flight: set[asyncio.Task[None]] = set()
        self._confirmed: list[UUID] = []
        self._to_mark = asyncio.Event()
        self._marker: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._committer = asyncio.create_task(self._commit_loop(), name="group-commit")
        self._marker = asyncio.create_task(self._mark_loop(), name="mark-published")

    async def close(self) -> None:
        """Stop taking groups; let the commits and publishing in flight finish (bounded),
        mark what was confirmed, and refuse whatever still waits."""
        await _cancel(self._committer)
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=10)
        await _cancel(self._marker)
        await self._mark_confirmed()
        while not self._slots.empty():
            await self._slots.get_nowait().close()
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
        """Take everything waiting as one group whenever a commit slot is free: while some
        groups wait on their insert's disk flush, the next one is already on its way."""
        while True:
            await self._arrived.wait()
            slot = await self._slots.get()
            group = self._waiting[: self._max]
            del self._waiting[: self._max]
            if not self._waiting:
                self._arrived.clear()
            self._track(self._commit_then_publish(group, slot))

    def _track(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _commit_then_publish(self, group: list[_Request], slot: _Slot) -> None:
        """The slot is held for the insert only; publishing goes on beside the next ones."""
        try:
            stored = await self._commit(group, slot)
        except Exception as exc:  # answered per request: 503 or 500, never 2xx
            if is_database_unavailable(exc) or len(group) == 1:
                _fail(group, exc)
                return
            logger.warning(
                "group commit of %d requests failed (%s); committing them one by one",
                len(group),
                exc.__class__.__name__,
            )
            stored = await self._commit_one_by_one(group, slot)
        finally:
            self._slots.put_nowait(slot)
        if stored:
            await self._publish(stored)

    async def _commit(self, group: list[_Request], slot: _Slot) -> list[EventMessage]:
        per_request = [[self._event(r, item) for item in r.items] for r in group]
        items = [item for r in group for item in r.items]
        async with slot.connection() as conn:
            inserted = await _events.create_many(
                conn,
                [e for events in per_request for e in events],
                publish_after_s=self._policy.publish_hold_s,
                booking_ids=[i.booking_id for i in items],
                types_if_known=[booking_event_type(i.status, known=True) for i in items],
            )
        messages: list[EventMessage] = []
        for request, events in zip(group, per_request, strict=True):
            mine: list[UUID] = []
            for event in events:
                if (new := inserted.pop(event.idempotency_key, None)) is not None:
                    mine.append(new.id)
                    messages.append(EventMessage.for_new(event, new.id, new.event_type))
            if not request.outcome.done():  # its client may have gone: the rows stay
                request.outcome.set_result(Recorded(mine, len(events) - len(mine)))
        return messages

    async def _commit_one_by_one(self, group: list[_Request], slot: _Slot) -> list[EventMessage]:
        stored: list[EventMessage] = []
        for request in group:
            try:
                stored += await self._commit([request], slot)
            except Exception as exc:
                _fail([request], exc)
        return stored

    def _event(self, request: _Request, item: Item) -> NewChannelEvent:
        """The event as if the PMS did not hold the booking yet; the insert links it to the
        reservation (and re-types it) where the PMS does."""
        return NewChannelEvent(
            property_id=request.property_id,
            direction=Direction.INBOUND,
            event_type=booking_event_type(item.status, known=False),
            entity_type=ENTITY_TYPE,
            entity_external_id=str(item.booking_id),
            idempotency_key=item.idempotency_key,
            payload=item.payload,
            max_attempts=self._policy.max_attempts,
            correlation_id=request.correlation_id,
        )

    async def _publish(self, messages: list[EventMessage]) -> None:
        """The group's events in one round of confirms (`publishing.publish_all`); the
        confirmed are marked with the next batched update, the others handed to the relay."""
        round_ = await publish_all(self._broker, messages)
        self._confirmed += round_.published
        self._to_mark.set()
        if round_.failed:
            logger.warning(
                "%d of %d event(s) not published, left to the relay: %s",
                len(round_.failed),
                len(messages),
                round_.failed[0][1],
            )
            await self._update(
                "hand unpublished events to the relay",
                _events.defer_publish_many,
                [event_id for event_id, _ in round_.failed],
            )

    async def _mark_loop(self) -> None:
        """One status update for every event confirmed since the last one: under load the
        groups confirmed while an update runs share the next."""
        while True:
            await self._to_mark.wait()
            await self._mark_confirmed()

    async def _mark_confirmed(self) -> None:
        self._to_mark.clear()
        ids, self._confirmed = self._confirmed, []
        if ids:
            await self._update("mark events published", _events.mark_published, ids)

    async def _update(
        self,
        what: str,
        update: Callable[[Connection, list[UUID]], Awaitable[None]],
        ids: list[UUID],
    ) -> None:
        try:
            async with self._pool.acquire(timeout=self._db_timeout_s) as conn:
                await update(conn, ids)
        except Exception as exc:  # stored already: the relay takes them after the hold
            logger.warning("could not %s (%s)", what, exc.__class__.__name__)


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _fail(group: list[_Request], exc: Exception) -> None:
    for request in group:
        if not request.outcome.done():
            request.outcome.set_exception(exc)
