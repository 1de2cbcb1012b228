"""The outbound handler's decisions, against fakes of its own ports (outbound_worker.ports):
which events become which work for which Beds24 account, what is refused, what waits for a
busy lock, how a failing account is settled. No database, broker or Beds24 here; the
integration tests beside this file run the same handler on the real adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
from channel_sync.beds24.accounts import Account
from channel_sync.beds24.client import Beds24Client
from channel_sync.beds24.links import PropertyLink
from channel_sync.errors import PermanentError, RetryAfter
from channel_sync.events import ChannelEvent, Direction, EventMessage, EventStatus
from outbound_worker import locks
from outbound_worker.availability import RoomWork
from outbound_worker.bookings import BookingWork
from outbound_worker.handler import OutboundHandler
from outbound_worker.outcomes import Outcomes
from outbound_worker.ports import BatchState
from outbound_worker.stay_groups import StayMember

TODAY = datetime.now(UTC).date()


class FakeBatches:
    def __init__(self) -> None:
        self.events: dict[UUID, ChannelEvent] = {}
        self.links: dict[UUID, PropertyLink] = {}
        self.noted: list[tuple[UUID, UUID]] = []
        self.stays: list[StayMember] = []  # rooms of multi-room stays
        self.handed_elsewhere: list[UUID] = []  # untried events other replicas hold

    async def read(self, event_ids: list[UUID]) -> BatchState:
        events = [self.events[i] for i in event_ids if i in self.events]
        properties = {e.property_id for e in events}
        links = {p: link for p, link in self.links.items() if p in properties}
        return BatchState(events, links, [n for n in self.noted if n[1] in links])

    async def untried_of_account(
        self, account_id: str, leave_out: list[UUID], limit: int
    ) -> list[UUID]:
        return [
            i
            for i in self.handed_elsewhere
            if i not in leave_out
            and i in self.events
            and self.links[self.events[i].property_id].account.account_id == account_id
        ][:limit]

    async def stay_members(self, reservation_ids: list[UUID]) -> list[StayMember]:
        asked = set(reservation_ids)
        stays = {m.stay_id for m in self.stays if m.reservation_id in asked}
        return [m for m in self.stays if m.stay_id in stays]

    async def open_of_reservations(
        self, reservation_ids: list[UUID], leave_out: list[UUID]
    ) -> list[UUID]:
        return [
            e.id
            for e in self.events.values()
            if e.entity_type == "booking"
            and e.entity_internal_id in reservation_ids
            and e.status in (EventStatus.RECEIVED, EventStatus.PROCESSING)
            and e.id not in leave_out
        ]


class FakeLocks:
    def __init__(self) -> None:
        self.taken_elsewhere: set[str] = set()

    @asynccontextmanager
    async def hold(self, keys: list[str]) -> AsyncIterator[set[str]]:
        yield set(keys) - self.taken_elsewhere


class FakeClients:
    def for_account(self, account: Account) -> Beds24Client:
        return cast(Beds24Client, f"client of {account.account_id}")


class FakeSender:
    """Records what it was asked to send; answers done (None) for every event, or raises."""

    def __init__(self, log: list[tuple[str, str, list[Any]]], name: str) -> None:
        self.log, self.name = log, name
        self.failing_accounts: dict[str, Exception] = {}

    async def run(self, account_id: str, client: Beds24Client, works: list[Any]) -> Outcomes:
        assert client == f"client of {account_id}"
        self.log.append((self.name, account_id, works))
        if account_id in self.failing_accounts:
            raise self.failing_accounts[account_id]
        return {e: None for w in works for e in w.event_ids}


class World:
    def __init__(self) -> None:
        self.batches = FakeBatches()
        self.locks = FakeLocks()
        self.sent: list[tuple[str, str, list[Any]]] = []
        self.bookings = FakeSender(self.sent, "bookings")
        self.availability = FakeSender(self.sent, "availability")
        self.handler = OutboundHandler(
            self.batches,
            self.locks,
            FakeClients(),
            self.bookings,
            self.availability,
            horizon_days=30,
            busy_retry_s=5,
            parallel_accounts=2,
            take_in_max=100,
        )

    def connect(self, account_id: str, beds24_property_id: int = 501) -> UUID:
        property_id = uuid4()
        self.batches.links[property_id] = PropertyLink(
            beds24_property_id, Account(account_id, "refresh-token")
        )
        return property_id

    def event(self, property_id: UUID, entity_type: str, **fields: Any) -> ChannelEvent:
        event = ChannelEvent(
            id=uuid4(),
            property_id=property_id,
            direction=Direction.OUTBOUND,
            event_type=fields.pop("event_type", f"pms.{entity_type}.update"),
            entity_type=entity_type,
            idempotency_key=str(uuid4()),
            received_at=datetime.now(UTC),
            **{"payload": {}, "status": EventStatus.PROCESSING, **fields},
        )
        self.batches.events[event.id] = event
        return event

    def booking(self, property_id: UUID, reservation_id: UUID | None = None) -> ChannelEvent:
        return self.event(property_id, "booking", entity_internal_id=reservation_id or uuid4())

    def nights(self, property_id: UUID, room: str, first: date, last: date) -> ChannelEvent:
        payload = {"beds24_room_id": room, "from": first.isoformat(), "to": last.isoformat()}
        return self.event(property_id, "availability", payload=payload)

    async def handle(self, *events: ChannelEvent) -> Outcomes:
        return await self.handler([EventMessage.for_event(e) for e in events])

    def works(self, sender: str, account_id: str) -> list[Any]:
        return [w for s, a, ws in self.sent if (s, a) == (sender, account_id) for w in ws]


async def test_each_account_gets_its_bookings_sent_before_its_availability() -> None:
    world = World()
    hotel_a, hotel_b = world.connect("acc-a"), world.connect("acc-b", 502)
    first, second = world.booking(hotel_a), world.booking(hotel_b)
    nights = world.nights(hotel_a, "77", TODAY, TODAY + timedelta(days=1))

    outcomes = await world.handle(first, second, nights)

    assert outcomes == {first.id: None, second.id: None, nights.id: None}
    steps_a = [(s, [type(w) for w in ws]) for s, a, ws in world.sent if a == "acc-a"]
    assert steps_a == [("bookings", [BookingWork]), ("availability", [RoomWork])]
    [work_b] = world.works("bookings", "acc-b")
    assert (work_b.reservation_id, work_b.property_id, work_b.beds24_property_id) == (
        second.entity_internal_id,
        hotel_b,
        502,
    )


async def test_events_of_one_room_make_one_work_over_the_union_of_their_nights() -> None:
    world = World()
    hotel = world.connect("acc")
    early = world.nights(hotel, "77", TODAY, TODAY + timedelta(days=1))
    late = world.nights(hotel, "77", TODAY + timedelta(days=3), TODAY + timedelta(days=3))

    await world.handle(early, late)

    [room] = world.works("availability", "acc")
    assert room.beds24_room_id == "77" and room.event_ids == [early.id, late.id]
    assert room.nights == {TODAY + timedelta(days=n) for n in (0, 1, 3)}


async def test_two_events_of_one_reservation_make_one_booking_work() -> None:
    world = World()
    hotel, reservation = world.connect("acc"), uuid4()
    created = world.booking(hotel, reservation)
    changed = world.event(
        hotel, "booking", entity_internal_id=reservation, payload={"beds24_booking_id": 9001}
    )

    await world.handle(created, changed)

    [work] = world.works("bookings", "acc")
    assert work.event_ids == [created.id, changed.id] and work.known_booking_id == 9001


async def test_what_cannot_be_sent_is_refused_and_nothing_is_sent() -> None:
    world = World()
    not_connected = world.booking(uuid4())
    hotel = world.connect("acc")
    unknown = world.event(hotel, "rate_plan", event_type="pms.rate.update")
    no_dates = world.event(hotel, "availability", payload={"beds24_room_id": "77"})

    outcomes = await world.handle(not_connected, unknown, no_dates)

    assert all(isinstance(outcomes[e.id], PermanentError) for e in (not_connected, unknown))
    assert isinstance(outcomes[no_dates.id], PermanentError)
    assert "not connected to Beds24" in str(outcomes[not_connected.id])
    assert world.sent == []


async def test_events_no_longer_in_the_batch_state_are_acknowledged() -> None:
    world = World()
    hotel = world.connect("acc")
    gone = world.booking(hotel)
    del world.batches.events[gone.id]  # settled, or deleted, since it was queued

    assert await world.handle(gone) == {gone.id: None}
    assert world.sent == []


async def test_work_another_worker_holds_waits_without_counting_an_attempt() -> None:
    world = World()
    hotel, reservation = world.connect("acc"), uuid4()
    busy, free = world.booking(hotel, reservation), world.booking(hotel)
    world.locks.taken_elsewhere.add(locks.booking_key(reservation))

    outcomes = await world.handle(busy, free)

    assert isinstance(outcomes[busy.id], RetryAfter) and outcomes[free.id] is None
    assert [w.reservation_id for w in world.works("bookings", "acc")] == [free.entity_internal_id]


async def test_a_failing_account_settles_its_own_events_only() -> None:
    world = World()
    hotel_a, hotel_b = world.connect("acc-a"), world.connect("acc-b")
    lost, fine = world.booking(hotel_a), world.booking(hotel_b)
    world.bookings.failing_accounts["acc-a"] = ConnectionResetError("database went away")

    outcomes = await world.handle(lost, fine)

    assert isinstance(outcomes[lost.id], ConnectionResetError) and outcomes[fine.id] is None


@pytest.mark.parametrize("in_doubt_in_batch", [True, False])
async def test_noted_creates_of_the_account_join_a_batch_that_resolves_one(
    in_doubt_in_batch: bool,
) -> None:
    world = World()
    hotel = world.connect("acc")
    in_doubt, other_noted = uuid4(), uuid4()
    world.batches.noted = [(in_doubt, hotel), (other_noted, hotel)]
    event = world.booking(hotel, in_doubt if in_doubt_in_batch else uuid4())

    await world.handle(event)

    sent = {w.reservation_id: w.event_ids for w in world.works("bookings", "acc")}
    if in_doubt_in_batch:  # one bulk search decides them all; the joiner has no event
        assert sent == {in_doubt: [event.id], other_noted: []}
    else:
        assert sent == {event.entity_internal_id: [event.id]}


async def test_open_events_of_the_reservations_sent_join_the_batch_for_their_messages() -> None:
    """A stay's room joined without events, and an earlier change of a reservation in the
    batch waiting for its retry: their open events ride along, so the state sent settles
    them, and their own messages (to come) find them done instead of sending it again."""
    world = World()
    hotel, stay = world.connect("acc"), uuid4()
    first_room, second_room = uuid4(), uuid4()
    world.batches.stays = [
        StayMember(first_room, hotel, stay),
        StayMember(second_room, hotel, stay),
    ]
    mine = world.booking(hotel, first_room)
    earlier_change = world.booking(hotel, first_room)
    room_retrying = world.booking(hotel, second_room)
    world.event(hotel, "booking", entity_internal_id=second_room, status=EventStatus.DONE)

    outcomes = await world.handle(mine)

    assert outcomes == {mine.id: None}  # the others are their own messages' to settle
    sent = {w.reservation_id: w.event_ids for w in world.works("bookings", "acc")}
    assert sent == {first_room: [mine.id, earlier_change.id], second_room: [room_retrying.id]}


async def test_untried_events_other_replicas_hold_join_the_batch_of_their_account() -> None:
    world = World()
    hotel, other_hotel = world.connect("acc"), world.connect("other", 502)
    mine = world.booking(hotel)
    theirs = [world.booking(hotel), world.nights(hotel, "77", TODAY, TODAY)]
    not_this_account = world.booking(other_hotel)
    world.batches.handed_elsewhere = [*(e.id for e in theirs), not_this_account.id]

    outcomes = await world.handle(mine)

    assert outcomes == {mine.id: None}  # the others are their own messages' to settle
    sent = [w.reservation_id for w in world.works("bookings", "acc")]
    assert sent == [mine.entity_internal_id, theirs[0].entity_internal_id]
    [room] = world.works("availability", "acc")
    assert room.event_ids == [theirs[1].id]
    assert world.works("bookings", "other") == []


async def test_an_account_another_replica_is_sending_waits_whole_without_an_attempt() -> None:
    world = World()
    hotel, other_hotel = world.connect("acc"), world.connect("other", 502)
    held_elsewhere = [world.booking(hotel), world.nights(hotel, "77", TODAY, TODAY)]
    free = world.booking(other_hotel)
    world.locks.taken_elsewhere.add(locks.account_key("acc"))

    outcomes = await world.handle(*held_elsewhere, free)

    assert all(isinstance(outcomes[e.id], RetryAfter) for e in held_elsewhere)
    assert "this Beds24 account's batch" in str(outcomes[held_elsewhere[0].id])
    assert outcomes[free.id] is None
    assert world.works("bookings", "acc") == [] and world.works("availability", "acc") == []


async def test_events_another_replica_sent_while_this_one_waited_are_not_sent_again() -> None:
    world = World()
    hotel = world.connect("acc")
    sent_meanwhile, still_open = world.booking(hotel), world.booking(hotel)
    reads = 0
    real_read = world.batches.read

    async def read(event_ids: list[UUID]) -> BatchState:
        nonlocal reads
        reads += 1
        if reads == 2:  # the re-read under the account lease: one was sent meanwhile
            del world.batches.events[sent_meanwhile.id]
        return await real_read(event_ids)

    world.batches.read = read  # type: ignore[method-assign]
    outcomes = await world.handle(sent_meanwhile, still_open)

    assert outcomes == {sent_meanwhile.id: None, still_open.id: None}
    sent = [w.reservation_id for w in world.works("bookings", "acc")]
    assert sent == [still_open.entity_internal_id]
