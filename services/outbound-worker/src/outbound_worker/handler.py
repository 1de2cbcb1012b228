"""One batch of outbound event messages: sort the events by Beds24 account, lock what they
touch, and bring bookings, then availability, up to date per account.

Answers an outcome per event id (see `outcomes`); the consumer settles each message by it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from channel_sync.beds24.accounts import Account
from channel_sync.beds24.credit_budget import CreditBudget
from channel_sync.beds24.links import PropertyLink
from channel_sync.errors import PermanentError, RetryAfter
from channel_sync.events import ChannelEvent, EventMessage

from outbound_worker import locks
from outbound_worker.availability import RoomWork, nights_of
from outbound_worker.bookings import BookingWork
from outbound_worker.outcomes import Outcomes, same_outcome
from outbound_worker.ports import (
    AvailabilitySender,
    BatchReader,
    BookingSender,
    Clients,
    EntityLocks,
)

logger = logging.getLogger(__name__)


class _AccountWork:
    def __init__(self, account: Account) -> None:
        self.account = account
        self.bookings: dict[UUID, BookingWork] = {}
        self.rooms: dict[tuple[UUID, str], RoomWork] = {}

    def lock_keys(self) -> dict[str, list[UUID]]:
        keys: dict[str, list[UUID]] = {}
        for reservation_id, work in self.bookings.items():
            keys[locks.booking_key(reservation_id)] = work.event_ids
        for work in self.bookings.values():
            if work.stay_id is not None:  # one worker at a time sends a stay's rooms
                keys.setdefault(locks.stay_key(work.stay_id), []).extend(work.event_ids)
        for (_, room), room_work in self.rooms.items():
            keys.setdefault(locks.room_key(room), []).extend(room_work.event_ids)
        return keys

    def held(self, work: BookingWork, held: set[str]) -> bool:
        """Whether this worker holds every lock the reservation's work needs."""
        stay = work.stay_id is None or locks.stay_key(work.stay_id) in held
        return stay and locks.booking_key(work.reservation_id) in held


class OutboundHandler:
    """Decides what a batch asks for; reads, locks and sends through its ports
    (`outbound_worker.ports`)."""

    def __init__(
        self,
        batches: BatchReader,
        entity_locks: EntityLocks,
        clients: Clients,
        bookings: BookingSender,
        availability: AvailabilitySender,
        *,
        horizon_days: int,
        busy_retry_s: float,
        parallel_accounts: int,
        budget: CreditBudget | None = None,
        batch_credits: float = 4.0,
        pace_below_credits: float = 50.0,
    ) -> None:
        self._batches = batches
        self._locks = entity_locks
        self._clients = clients
        self._bookings = bookings
        self._availability = availability
        self._horizon_days = horizon_days
        self._busy_retry = timedelta(seconds=busy_retry_s)
        # Each account holds a lock connection plus one working connection at a time: bound
        # the accounts in flight so they can never take the whole pool and wait on each other.
        self._accounts_in_flight = asyncio.Semaphore(parallel_accounts)
        self._budget = budget
        self._batch_credits = batch_credits
        self._pace_below = pace_below_credits

    async def pause_s(self, account_id: str) -> float:
        """How long the account's next batch should wait (its lane: `lanes`) so that it
        keeps credits until its window resets (0 while it has plenty)."""
        if self._budget is None or not account_id:
            return 0.0
        return await self._budget.pause_s(
            [account_id], batch_cost=self._batch_credits, short_below=self._pace_below
        )

    async def __call__(self, messages: list[EventMessage]) -> Outcomes:
        ids = [m.event_id for m in messages]
        outcomes: Outcomes = dict.fromkeys(ids)  # missing or settled already: acknowledge
        state = await self._batches.read(ids)
        events, links, noted = state.events, state.links, state.noted
        accounts: dict[str, _AccountWork] = {}
        today = datetime.now(UTC).date()
        for event in events:
            link = links.get(event.property_id)
            if link is None:
                outcomes[event.id] = PermanentError(
                    "the property is not connected to Beds24 (no beds24_properties row)"
                )
                continue
            work = accounts.setdefault(link.account.account_id, _AccountWork(link.account))
            problem = self._add(work, event, link, today)
            if problem is not None:
                outcomes[event.id] = problem
        _join_unknown_creates(accounts, noted, links)
        await self._join_stay_members(accounts, links)
        results = await asyncio.gather(*(self._run_account(w) for w in accounts.values()))
        for result in results:
            outcomes |= result
        return outcomes

    async def _join_stay_members(
        self, accounts: dict[str, _AccountWork], links: dict[UUID, PropertyLink]
    ) -> None:
        """Each reservation learns its stay; the stay's rooms not yet in Beds24 join the
        batch (without events), so the stay's group is made in one call."""
        works = {r: w for a in accounts.values() for r, w in a.bookings.items()}
        if not works:
            return
        found = await self._batches.stay_members(list(works))
        for member in found:
            link = links.get(member.property_id)
            if link is None:
                continue
            account = accounts.setdefault(link.account.account_id, _AccountWork(link.account))
            work = account.bookings.setdefault(
                member.reservation_id,
                BookingWork(member.reservation_id, member.property_id, link.beds24_property_id, []),
            )
            work.stay_id = member.stay_id

    def _add(
        self, work: _AccountWork, event: ChannelEvent, link: PropertyLink, today: date
    ) -> Exception | None:
        payload = event.payload if isinstance(event.payload, dict) else {}
        if event.entity_type == "booking" and event.entity_internal_id is not None:
            booking = work.bookings.setdefault(
                event.entity_internal_id,
                BookingWork(
                    event.entity_internal_id, event.property_id, link.beds24_property_id, []
                ),
            )
            booking.event_ids.append(event.id)
            if isinstance(payload.get("beds24_booking_id"), int):
                booking.known_booking_id = payload["beds24_booking_id"]
            if isinstance(payload.get("beds24_qty_booking_id"), int):
                booking.known_qty_booking_id = payload["beds24_qty_booking_id"]
            if payload.get("stay_changed") is True:
                booking.stay_changed = True
            return None
        if (
            event.entity_type == "availability"
            and payload.get("room_type_id")
            and not (payload.get("beds24_room_id"))
        ):
            name = payload.get("room_type") or payload["room_type_id"]
            return PermanentError(
                f"room type {name!r} has no Beds24 room: map it (mapping_type 'room_type' or "
                "its rooms) before its prices and restrictions can be sent, then retry"
            )
        if event.entity_type == "availability" and payload.get("beds24_room_id"):
            try:
                nights = nights_of(payload, today=today, horizon_days=self._horizon_days)
            except (KeyError, TypeError, ValueError):
                return PermanentError(f"availability event without valid dates: {payload!r:.200}")
            room = str(payload["beds24_room_id"])
            room_work = work.rooms.setdefault(
                (event.property_id, room), RoomWork(event.property_id, room)
            )
            room_work.nights |= nights
            room_work.event_ids.append(event.id)
            plan = _uuid_or_none(payload.get("rate_plan_id"))
            if plan is not None:
                room_work.rate_plans.setdefault(plan, []).append(event.id)
            return None
        return PermanentError(f"unknown outbound event {event.event_type}/{event.entity_type}")

    async def _run_account(self, work: _AccountWork) -> Outcomes:
        every_event = [e for ids in work.lock_keys().values() for e in ids]
        try:
            async with self._accounts_in_flight:
                return await self._sync_account(work)
        except Exception as exc:  # e.g. the database went away: every event retries later
            logger.warning(
                "batch for account %s failed: %s", work.account.account_id, exc.__class__.__name__
            )
            return same_outcome(every_event, exc)

    async def _sync_account(self, work: _AccountWork) -> Outcomes:
        outcomes: Outcomes = {}
        keys = work.lock_keys()
        client = self._clients.for_account(work.account)
        async with self._locks.hold(list(keys)) as held:
            busy = RetryAfter(
                "another worker is sending this reservation or room",
                datetime.now(UTC) + self._busy_retry,
            )
            for key in set(keys) - held:
                outcomes |= same_outcome(keys[key], busy)
            bookings = [w for w in work.bookings.values() if work.held(w, held)]
            rooms = [w for (_, r), w in work.rooms.items() if locks.room_key(r) in held]
            account_id = work.account.account_id
            if bookings:  # first: Beds24 counts its bookings against the room's inventory
                outcomes |= await self._bookings.run(account_id, client, bookings)
            if rooms:
                outcomes |= await self._availability.run(account_id, client, rooms)
        return outcomes


def _join_unknown_creates(
    accounts: dict[str, _AccountWork],
    noted: list[tuple[UUID, UUID]],
    links: dict[UUID, PropertyLink],
) -> None:
    """When a batch has a create of unknown outcome to resolve, every other noted create of
    its properties joins it (without events): the one bulk search decides them all, rather
    than one search per later batch that carries a few of them."""
    in_doubt = {r for r, _ in noted}
    for work in accounts.values():
        if not in_doubt & work.bookings.keys():
            continue
        for reservation_id, property_id in noted:
            link = links[property_id]
            if link.account.account_id == work.account.account_id:
                work.bookings.setdefault(
                    reservation_id,
                    BookingWork(reservation_id, property_id, link.beds24_property_id, []),
                )


def _uuid_or_none(value: object) -> UUID | None:
    try:
        return UUID(str(value)) if value is not None else None
    except ValueError:
        return None
