"""What the outbound handler needs from the world, as small interfaces (ports), and their
Postgres adapters. The handler decides (which events make which work, per account, what is
refused or busy); the ports read and lock. Unit tests give it fakes of these ports
(tests/outbound_tests/test_handler_unit.py); the integration tests use the real adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

import asyncpg
from channel_sync.beds24.accounts import Account
from channel_sync.beds24.client import Beds24Client
from channel_sync.beds24.links import PropertyLink, links_of
from channel_sync.events import ChannelEvent, EventStatus
from channel_sync.repository import ChannelEventRepository

from outbound_worker import locks, pending_creates, stay_groups
from outbound_worker.availability import RoomWork
from outbound_worker.bookings import BookingWork
from outbound_worker.outcomes import Outcomes
from outbound_worker.stay_groups import StayMember


@dataclass(frozen=True)
class BatchState:
    """What a batch is about, as the database holds it now."""

    events: list[ChannelEvent]  # those of the batch still open (neither done nor failed)
    links: dict[UUID, PropertyLink]  # the Beds24 side of their properties (connected ones)
    noted: list[tuple[UUID, UUID]]  # (reservation, property): creates of unknown outcome


class BatchReader(Protocol):
    async def read(self, event_ids: list[UUID]) -> BatchState: ...

    async def untried_of_account(
        self, account_id: str, leave_out: list[UUID], limit: int
    ) -> list[UUID]:
        """The account's outbound events never tried yet (no counted attempt), published
        or due to be, oldest first, except `leave_out`: what other replicas were handed."""
        ...

    async def stay_members(self, reservation_ids: list[UUID]) -> list[StayMember]:
        """`stay_groups.members`: the stays of these reservations and their rooms."""
        ...

    async def open_of_reservations(
        self, reservation_ids: list[UUID], leave_out: list[UUID]
    ) -> list[UUID]:
        """The outbound booking events of these reservations still open (published,
        waiting for a retry or not yet published), except `leave_out`."""
        ...


class EntityLocks(Protocol):
    def hold(self, keys: list[str]) -> AbstractAsyncContextManager[set[str]]:
        """Try each key without waiting; yields the keys this worker now holds."""
        ...


class Clients(Protocol):
    def for_account(self, account: Account) -> Beds24Client: ...


class BookingSender(Protocol):
    async def run(
        self, account_id: str, client: Beds24Client, works: list[BookingWork]
    ) -> Outcomes: ...


class AvailabilitySender(Protocol):
    async def run(
        self, account_id: str, client: Beds24Client, works: list[RoomWork]
    ) -> Outcomes: ...


class PostgresBatches:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._events = ChannelEventRepository()

    async def read(self, event_ids: list[UUID]) -> BatchState:
        async with self._pool.acquire() as conn:
            events = [e for e in await self._events.get_many(conn, event_ids) if _open(e)]
            links = await links_of(conn, list({e.property_id for e in events}))
            noted = await pending_creates.noted_of_properties(conn, list(links))
        return BatchState(events, links, noted)

    async def untried_of_account(
        self, account_id: str, leave_out: list[UUID], limit: int
    ) -> list[UUID]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                # The account's properties first: each is read from the small partial
                # index (idx_channel_events_outbound_untried), never another account's burst.
                """SELECT e.id FROM channel_events e
                   WHERE e.property_id = ANY(ARRAY(
                           SELECT property_id FROM beds24_properties WHERE account_id = $1))
                     AND e.status IN ('received', 'processing') AND e.direction = 'outbound'
                     AND e.attempts = 0 AND NOT (e.id = ANY($2::uuid[]))
                     -- received: committed, its relay's mark not yet (0025); a wait
                     -- handed back to the relay is kept
                     AND (e.status = 'processing' OR e.next_attempt_at <= now())
                   ORDER BY e.received_at LIMIT $3""",
                account_id,
                leave_out,
                limit,
            )
        return [row["id"] for row in rows]

    async def stay_members(self, reservation_ids: list[UUID]) -> list[StayMember]:
        async with self._pool.acquire() as conn:
            return await stay_groups.members(conn, reservation_ids)

    async def open_of_reservations(
        self, reservation_ids: list[UUID], leave_out: list[UUID]
    ) -> list[UUID]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                # Read from idx_channel_events_pending_booking_changes (0022).
                """SELECT id FROM channel_events
                   WHERE direction = 'outbound' AND entity_type = 'booking'
                     AND status IN ('received', 'processing')
                     AND entity_internal_id = ANY($1::uuid[])
                     AND NOT (id = ANY($2::uuid[]))""",
                reservation_ids,
                leave_out,
            )
        return [row["id"] for row in rows]


class AdvisoryLocks:
    """Postgres advisory locks, held for one transaction (`locks.entity_locks`)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def hold(self, keys: list[str]) -> AsyncIterator[set[str]]:
        async with locks.entity_locks(self._pool, keys) as held:
            yield held


def _open(event: ChannelEvent) -> bool:
    return event.status not in (EventStatus.DONE, EventStatus.FAILED)
