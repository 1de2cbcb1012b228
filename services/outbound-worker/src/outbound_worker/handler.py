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
    BatchState,
    BookingSender,
    Clients,
    EntityLocks,
)

logger = logging.getLogger(__name__)

# How long events wait when another replica holds their account's lease (`_lease_busy_retry`).
LEASE_BUSY_RETRY = timedelta(seconds=5)


class _AccountWork:
    def __init__(self, account: Account) -> None:
        self.account = account
        self.bookings: dict[UUID, BookingWork] = {}
        self.rooms: dict[tuple[UUID, str], RoomWork] = {}
        self.in_doubt: set[UUID] = set()  # creates of unknown outcome joined without events

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

    def keep_open(self, open_ids: set[UUID], still_in_doubt: set[UUID]) -> None:
        """Forget events settled since the batch read them (another replica sent them in
        the meantime), the work left without events because of it, and the creates no
        longer in doubt (the replica that made them has stored their answer)."""
        for key, booking in list(self.bookings.items()):
            if key in self.in_doubt and not booking.event_ids and key not in still_in_doubt:
                del self.bookings[key]
            elif booking.event_ids:
                booking.event_ids[:] = [e for e in booking.event_ids if e in open_ids]
                if not booking.event_ids:
                    del self.bookings[key]
        for room_key, room in list(self.rooms.items()):
            room.event_ids[:] = [e for e in room.event_ids if e in open_ids]
            for plan, ids in list(room.rate_plans.items()):
                room.rate_plans[plan] = [e for e in ids if e in open_ids]
            if not room.event_ids:
                del self.rooms[room_key]

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
        take_in_max: int = 0,
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
        # Untried events of the batch's accounts handed to other replicas, taken in per
        # batch and account (0: none; `_take_in_untried`).
        self._take_in_max = take_in_max

    def _lease_busy_retry(self) -> timedelta:
        """The lease holder's batches take these events in (untried: a busy answer counts no
        attempt), so their messages coming back are a safety net: back soon, they would
        only make small batches of their own beside the holder's (more calls, measured)."""
        if self._take_in_max <= 0:
            return self._busy_retry
        return max(self._busy_retry, LEASE_BUSY_RETRY)

    async def pause_s(self, account_id: str) -> float:
        """How long the account's next batch should wait (its lane: `lanes`) so that it
        keeps credits until its window resets (0 while it has plenty)."""
        if self._budget is None or not account_id:
            return 0.0
        return await self._budget.pause_s(
            [account_id], batch_cost=self._batch_credits, short_below=self._pace_below
        )

    async def paced_s(self, account_id: str) -> float:
        """How long the account's next batch must still wait for the pause a batch of any
        replica recorded: each replica has a lane of its own for the account, and without
        this a lane that had sent nothing went at once, making small batches beside the
        paced ones (more calls with 3 replicas than with 1, measured)."""
        if self._budget is None or not account_id:
            return 0.0
        return await self._budget.paced_s([account_id])

    async def __call__(self, messages: list[EventMessage]) -> Outcomes:
        ids = [m.event_id for m in messages]
        outcomes: Outcomes = dict.fromkeys(ids)  # missing or settled already: acknowledge
        state = await self._batches.read(ids)
        events, links, noted = state.events, dict(state.links), list(state.noted)
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
        await self._take_in_untried(accounts, ids, links, noted, today)
        _join_unknown_creates(accounts, noted, links)
        await self._join_stay_members(accounts, links)
        await self._join_open_events(accounts, ids, links, today)
        results = await asyncio.gather(*(self._run_account(w) for w in accounts.values()))
        for result in results:  # the outcomes of this batch's messages only
            outcomes |= {i: outcome for i, outcome in result.items() if i in outcomes}
        return outcomes

    async def _take_in_untried(
        self,
        accounts: dict[str, _AccountWork],
        handed: list[UUID],
        links: dict[UUID, PropertyLink],
        noted: list[tuple[UUID, UUID]],
        today: date,
    ) -> None:
        """The batch's accounts' events that other replicas were handed and nobody has
        tried yet join this batch: the replica that sends an account's batch (one at a time:
        the account lease) sends all of them, so replicas make the calls one worker would,
        and the others then find their events done. What becomes of a taken-in event is its
        own message's to settle: a success is stored (done) by the senders; anything else
        is left for its message to try again."""
        if self._take_in_max <= 0:
            return
        for work in accounts.values():
            account_id = work.account.account_id
            extra = await self._batches.untried_of_account(account_id, handed, self._take_in_max)
            if not extra:
                continue
            more = await self._batches.read(extra)
            noted.extend(n for n in more.noted if n not in noted)
            self._join_read(accounts, more, links, today, only_account=account_id)

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

    async def _join_open_events(
        self,
        accounts: dict[str, _AccountWork],
        handed: list[UUID],
        links: dict[UUID, PropertyLink],
        today: date,
    ) -> None:
        """The other open events of every reservation the batch sends (a stay's room or a
        create in doubt joined without its events, an earlier change waiting for its retry)
        join the batch. They are read BEFORE the reservations' state, so the state sent
        holds their changes: a success settles them too, and their own messages then find
        them done instead of writing the same state again. As with events taken in, a
        failure is left for their own messages."""
        works = [r for a in accounts.values() for r in a.bookings]
        if not works:
            return
        present = {e for a in accounts.values() for w in a.bookings.values() for e in w.event_ids}
        extra = await self._batches.open_of_reservations(works, [*handed, *present])
        if not extra:
            return
        self._join_read(accounts, await self._batches.read(extra), links, today)

    def _join_read(
        self,
        accounts: dict[str, _AccountWork],
        more: BatchState,
        links: dict[UUID, PropertyLink],
        today: date,
        *,
        only_account: str | None = None,
    ) -> None:
        """Events read beyond the batch's messages join their account's work (of
        `only_account` alone, if given); a problem is their own message's to find."""
        links.update(more.links)
        for event in more.events:
            link = more.links.get(event.property_id)
            if link is None or only_account not in (None, link.account.account_id):
                continue
            work = accounts.setdefault(link.account.account_id, _AccountWork(link.account))
            self._add(work, event, link, today)

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
        lease = locks.account_key(work.account.account_id)
        async with self._locks.hold([lease, *keys]) as held:
            if lease not in held:  # its batch goes out from there, with these events in it
                return same_outcome(
                    [e for ids in keys.values() for e in ids],
                    RetryAfter(
                        "another worker is sending this Beds24 account's batch",
                        datetime.now(UTC) + self._lease_busy_retry(),
                    ),
                )
            every_event = [e for ids in keys.values() for e in ids]
            if self._take_in_max > 0:  # what was read before the lease may be sent by now
                now = await self._batches.read(every_event)
                work.keep_open({e.id for e in now.events}, {r for r, _ in now.noted})
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
                if reservation_id not in work.bookings:
                    work.in_doubt.add(reservation_id)
                work.bookings.setdefault(
                    reservation_id,
                    BookingWork(reservation_id, property_id, link.beds24_property_id, []),
                )


def _uuid_or_none(value: object) -> UUID | None:
    try:
        return UUID(str(value)) if value is not None else None
    except ValueError:
        return None
