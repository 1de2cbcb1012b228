"""One inbound event's transaction: the decisions of `handler.apply_event`, against a fake
of its port (inbound_worker.ports.InboundTransaction). No database here; test_apply.py,
test_stays.py and test_batch.py run them through the Postgres adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID, uuid4

from channel_sync.events import ChannelEvent, Direction, EventStatus
from inbound_worker.booking import Booking, read_booking
from inbound_worker.handler import apply_event
from inbound_worker.placement import Stay
from inbound_worker.ports import BookingStore
from inbound_worker.stays.membership import StayResult

from .test_apply_unit import PROPERTY, SKEW, T0, FakeBookings, at


@dataclass
class FakeTransaction:
    """The event's transaction in memory: what was asked of it, in order."""

    store: FakeBookings = field(default_factory=FakeBookings)
    settled: bool = False  # the event is done or failed already
    waiting: list[Stay | None] = field(default_factory=lambda: [None, None])  # before, after
    stay: StayResult = field(default_factory=lambda: StayResult(None))
    calls: list[str] = field(default_factory=list)
    pushed: list[list[Stay]] = field(default_factory=list)
    notes: dict[UUID, tuple[UUID, str]] = field(default_factory=dict)

    @property
    def bookings(self) -> BookingStore:
        return self.store

    async def claim_event(self, event_id: UUID) -> bool:
        self.calls.append("claim")
        return not self.settled

    async def mark_beds24_origin(self) -> None:
        self.calls.append("origin")

    async def lock_group(self, booking: Booking) -> None:
        self.calls.append("group")

    async def waiting_stay(self, booking_id: int) -> Stay | None:
        self.calls.append("waiting")
        return self.waiting.pop(0)

    async def apply_stay(
        self, property_id: UUID, booking: Booking, reservation_id: UUID
    ) -> StayResult:
        self.calls.append("stay")
        return self.stay

    async def push_waiting_availability(
        self, property_id: UUID, stays: list[Stay], reservation_id: UUID
    ) -> None:
        self.calls.append("push")
        self.pushed.append(stays)

    async def settle(self, event_id: UUID, reservation_id: UUID, note: str) -> None:
        self.calls.append("settle")
        self.notes[event_id] = (reservation_id, note)


def _event() -> ChannelEvent:
    return ChannelEvent(
        id=uuid4(),
        property_id=PROPERTY,
        direction=Direction.INBOUND,
        event_type="beds24.booking.modified",
        entity_type="booking",
        entity_external_id="80001",
        idempotency_key=f"test:{uuid4()}",
        payload={},
        status=EventStatus.PROCESSING,
        received_at=T0,
    )


async def test_a_new_booking_goes_through_the_whole_transaction_in_order() -> None:
    tx, event = FakeTransaction(), _event()
    outcome = await apply_event(tx, event, read_booking(at(T0)), current=False, push_skew=SKEW)
    assert outcome is not None and outcome.kind == "created"
    assert tx.calls == ["claim", "origin", "group", "waiting", "stay", "waiting", "settle"]
    assert tx.notes[event.id] == (outcome.reservation_id, "created")
    assert tx.store.locked == [80001]  # the booking's lock, after the group's


async def test_an_event_settled_meanwhile_changes_nothing() -> None:
    tx = FakeTransaction(settled=True)
    assert (
        await apply_event(tx, _event(), read_booking(at(T0)), current=False, push_skew=SKEW) is None
    )
    assert tx.calls == ["claim"] and tx.store.writes == []


async def test_a_stale_version_joins_no_stay_and_says_why() -> None:
    tx, event = FakeTransaction(), _event()
    tx.store.holding(at(T0 + timedelta(minutes=1)))
    outcome = await apply_event(tx, event, read_booking(at(T0)), current=False, push_skew=SKEW)
    assert outcome is not None and outcome.kind == "stale"
    assert "stay" not in tx.calls
    assert "older than the PMS's" in tx.notes[event.id][1]


async def test_what_the_stay_needs_an_operator_for_flags_the_outcome() -> None:
    tx, event = FakeTransaction(), _event()
    tx.stay = StayResult("stay S (Beds24 group 1)", attention="two stays claim room 2")
    outcome = await apply_event(tx, event, read_booking(at(T0)), current=False, push_skew=SKEW)
    assert outcome is not None and outcome.needs_attention
    assert outcome.note == (
        "created; stay S (Beds24 group 1); needs attention: two stays claim room 2"
    )
    assert tx.notes[event.id][1] == outcome.note


async def test_nights_a_booking_stops_or_starts_waiting_for_are_pushed() -> None:
    held = Stay("5001", T0.date(), T0.date() + timedelta(days=2))
    tx, event = FakeTransaction(waiting=[held, None]), _event()  # it waited; now it has a room
    await apply_event(tx, event, read_booking(at(T0)), current=False, push_skew=SKEW)
    assert tx.pushed == [[held]]
    unchanged = FakeTransaction(waiting=[held, held])
    await apply_event(unchanged, _event(), read_booking(at(T0)), current=False, push_skew=SKEW)
    assert unchanged.pushed == []
