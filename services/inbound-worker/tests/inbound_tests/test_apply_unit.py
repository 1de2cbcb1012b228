"""Applying a booking: the decisions, against a fake of the PMS port
(inbound_worker.ports.BookingStore). No database here; test_apply.py runs the same decisions
through the handler on the real Postgres adapter."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from channel_sync.errors import PermanentError, RetryAfter
from inbound_worker.apply import AskBeds24, apply_booking
from inbound_worker.booking import Booking, read_booking
from inbound_worker.own_bookings import Recognised
from inbound_worker.ownership import Conflict
from inbound_worker.placement import Placement
from inbound_worker.reservations import Stored

from .support import BEDS24_PROPERTY_ID, booking

PROPERTY = uuid4()
ROOM = uuid4()
SKEW = timedelta(seconds=2)
T0 = datetime(2031, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class Row:
    stored: Stored
    columns: dict[str, Any]
    placement: Placement


@dataclass
class FakeBookings:
    """The PMS in memory: reservations by Beds24 booking id, and what was asked of it."""

    linked: dict[UUID, int] = field(default_factory=lambda: {PROPERTY: BEDS24_PROPERTY_ID})
    rows: dict[int, Row] = field(default_factory=dict)
    unsent: set[UUID] = field(default_factory=set)  # reservations with outbound work open
    settled_unsent: list[tuple[UUID, str]] = field(default_factory=list)
    placement: Placement = field(default_factory=lambda: Placement(ROOM))
    recognised: Recognised = field(default_factory=lambda: Recognised(None))
    locked: list[int] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    sync_policy: str = "by_origin"
    # What a matched reservation holds (by reservation id), and the conflicts recorded.
    matched_values: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)

    async def linked_beds24_property(self, property_id: UUID) -> int | None:
        return self.linked.get(property_id)

    async def lock_booking(self, booking_id: int) -> None:
        self.locked.append(booking_id)

    async def find(self, booking_id: int) -> Stored | None:
        row = self.rows.get(booking_id)
        return None if row is None else row.stored

    async def recognise(self, property_id: UUID, booking: Booking) -> Recognised:
        return self.recognised

    async def unsent_pms_changes(self, reservation_id: UUID) -> int:
        return int(reservation_id in self.unsent)

    async def settle_unsent_pms_changes(self, reservation_id: UUID, note: str) -> None:
        self.unsent.discard(reservation_id)
        self.settled_unsent.append((reservation_id, note))

    async def place(
        self,
        property_id: UUID,
        booking: Booking,
        *,
        reservation_id: UUID | None,
        current_room: UUID | None,
    ) -> Placement:
        return self.placement

    async def holds(
        self, reservation_id: UUID, columns: dict[str, Any], placement: Placement
    ) -> bool:
        row = self._row(reservation_id)
        return (row.columns, row.placement) == (columns, placement)

    async def insert(
        self, property_id: UUID, columns: dict[str, Any], placement: Placement
    ) -> UUID:
        reservation_id = uuid4()
        stored = Stored(
            reservation_id,
            property_id,
            placement.room_id,
            columns["beds24_modified_time"],
            columns["beds24_booking_id"],
        )
        self.rows[columns["beds24_booking_id"]] = Row(stored, dict(columns), placement)
        self.writes.append("insert")
        return reservation_id

    async def update(
        self, reservation_id: UUID, columns: dict[str, Any], placement: Placement
    ) -> None:
        row = self._row(reservation_id)
        row.columns, row.placement = dict(columns), placement
        row.stored = replace(
            row.stored,
            room_id=placement.room_id,
            modified_time=columns["beds24_modified_time"],
            beds24_booking_id=columns["beds24_booking_id"],
        )
        self.writes.append("update")

    async def synced_values(self, reservation_id: UUID) -> dict[str, Any]:
        if reservation_id in self.matched_values:
            return self.matched_values[reservation_id]
        return dict(self._row(reservation_id).columns)

    async def policy(self, property_id: UUID) -> str:
        return self.sync_policy

    async def fill(self, reservation_id: UUID, columns: dict[str, Any]) -> None:
        if columns:
            self.writes.append(f"fill {sorted(columns)}")

    async def record_conflict(self, conflict: Conflict) -> None:
        self.conflicts.append(conflict)
        if conflict.winner == "pms":
            self.writes.append("send the PMS's state")

    def _row(self, reservation_id: UUID) -> Row:
        return next(r for r in self.rows.values() if r.stored.id == reservation_id)

    def holding(self, raw: dict[str, Any], *, pushed_at: datetime | None = None) -> UUID:
        """The PMS holds this version of the booking already."""
        version = read_booking(raw)
        stored = Stored(
            uuid4(), PROPERTY, ROOM, version.modified_time, version.booking_id, pushed_at
        )
        self.rows[version.booking_id] = Row(stored, dict(version.columns), self.placement)
        return stored.id


def at(moment: datetime, **fields: Any) -> dict[str, Any]:
    return booking(modifiedTime=moment.strftime("%Y-%m-%dT%H:%M:%SZ"), **fields)


async def apply(
    store: FakeBookings, raw: dict[str, Any], *, current: bool = False
) -> tuple[str, str, bool]:
    outcome = await apply_booking(
        store, PROPERTY, read_booking(raw), current=current, push_skew=SKEW
    )
    return outcome.kind, outcome.note, outcome.needs_attention


async def test_a_new_booking_becomes_a_reservation() -> None:
    store = FakeBookings()
    assert await apply(store, at(T0)) == ("created", "created", False)
    assert store.writes == ["insert"] and store.locked == [80001]
    assert store.rows[80001].columns["guest_last_name"] == "Hopper"


async def test_a_new_cancelled_booking_is_recorded_as_cancelled() -> None:
    store = FakeBookings()
    kind, note, _ = await apply(store, at(T0, status="cancelled"))
    assert (kind, note) == ("cancelled", "recorded as cancelled")


async def test_a_newer_version_updates_and_an_older_one_changes_nothing() -> None:
    store = FakeBookings()
    store.holding(at(T0))
    kind, _, _ = await apply(store, at(T0 + timedelta(minutes=1), lastName="Murray"))
    assert kind == "updated" and store.rows[80001].columns["guest_last_name"] == "Murray"
    kind, note, _ = await apply(store, at(T0, lastName="Hopper"))
    assert kind == "stale" and "older than the PMS's" in note
    assert store.writes == ["update"]


async def test_a_version_made_before_our_last_write_to_beds24_is_stale() -> None:
    store = FakeBookings()
    store.holding(at(T0), pushed_at=T0 + timedelta(minutes=5))
    kind, note, _ = await apply(store, at(T0 + timedelta(minutes=4), lastName="Murray"))
    assert kind == "stale" and "last write to Beds24" in note
    inside_skew = T0 + timedelta(minutes=5) - SKEW / 2
    kind, _, _ = await apply(store, at(inside_skew, lastName="Murray"))
    assert kind == "updated"


async def test_the_same_version_again_changes_nothing() -> None:
    store = FakeBookings()
    store.holding(at(T0))
    kind, note, _ = await apply(store, at(T0))
    assert kind == "unchanged" and "already applied" in note and store.writes == []


async def test_another_version_with_the_same_time_asks_beds24_for_its_current_state() -> None:
    store = FakeBookings()
    store.holding(at(T0))
    with pytest.raises(AskBeds24):
        await apply(store, at(T0, lastName="Murray"))
    assert store.writes == []
    kind, note, _ = await apply(store, at(T0, lastName="Murray"), current=True)
    assert kind == "updated" and "Beds24's current state" in note


async def test_a_newer_version_waits_for_the_pms_changes_not_yet_sent() -> None:
    store = FakeBookings()
    reservation = store.holding(at(T0))
    store.unsent.add(reservation)
    with pytest.raises(RetryAfter):
        await apply(store, at(T0 + timedelta(minutes=1), lastName="Murray"))
    assert store.writes == []


async def test_a_booking_of_another_beds24_property_is_refused() -> None:
    store = FakeBookings(linked={PROPERTY: BEDS24_PROPERTY_ID + 1})
    with pytest.raises(PermanentError, match="belongs to Beds24 property"):
        await apply(store, at(T0))
    assert store.writes == [] and store.locked == []


async def test_a_booking_another_pms_property_holds_is_refused() -> None:
    store = FakeBookings()
    store.holding(at(T0))
    store.rows[80001].stored = Stored(uuid4(), uuid4(), ROOM, T0, 80001)
    with pytest.raises(PermanentError, match="another PMS property"):
        await apply(store, at(T0 + timedelta(minutes=1)))


async def test_no_free_room_and_a_doubtful_reference_are_flagged_for_the_front_desk() -> None:
    store = FakeBookings(
        placement=Placement(None, "no free room"),
        recognised=Recognised(None, doubt="the reference names another property's room"),
    )
    kind, note, attention = await apply(store, at(T0))
    assert (kind, attention) == ("created", True)
    assert "no free room" in note and "another property's room" in note
    assert store.rows[80001].placement.room_id is None


async def test_a_booking_our_reference_names_is_adopted() -> None:
    made_by_pms = Stored(uuid4(), PROPERTY, ROOM, None, None)
    store = FakeBookings(recognised=Recognised(made_by_pms, note="adopted as reservation"))
    store.rows[0] = Row(made_by_pms, {}, Placement(ROOM))  # not linked: unknown by Beds24 id
    kind, note, _ = await apply(store, at(T0))
    assert kind == "updated" and note.startswith("adopted as reservation; ")
    assert store.writes == ["update"] and store.rows[0].columns["beds24_booking_id"] == 80001


def matched(made_by: str, holds: dict[str, Any]) -> tuple[FakeBookings, Stored]:
    """A PMS reservation, not linked yet, that a key (ours or the OTA's code) matched."""
    reservation = Stored(uuid4(), PROPERTY, ROOM, None, None)
    store = FakeBookings(
        recognised=Recognised(reservation, note="matched", made_by=made_by),
        matched_values={reservation.id: holds},
    )
    store.rows[0] = Row(reservation, {}, Placement(ROOM))
    return store, reservation


def held_as(raw: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**read_booking(raw).columns, **changes}


async def test_a_booking_the_pms_made_and_holds_differently_keeps_the_pms_and_is_recorded() -> None:
    raw = at(T0)
    store, _ = matched("pms", held_as(raw, departure=read_booking(raw).departure + timedelta(1)))
    kind, note, attention = await apply(store, raw)
    assert (kind, attention) == ("kept", False)
    assert "the PMS wins" in note and "departure" in note
    assert store.writes == ["send the PMS's state"]  # nothing written from Beds24
    [conflict] = store.conflicts
    assert conflict.winner == "pms" and set(conflict.pms_values) == {"departure"}


async def test_a_channel_booking_matched_by_its_code_takes_beds24s_version_with_a_record() -> None:
    raw = at(T0)
    store, _ = matched("beds24", held_as(raw, adults=1, guest_last_name="Hoper"))
    kind, _, _ = await apply(store, raw)
    assert kind == "updated" and store.writes == ["update"]
    [conflict] = store.conflicts
    assert conflict.winner == "beds24"
    assert conflict.pms_values == {"adults": 1, "guest_last_name": "(differs)"}  # no guest data


async def test_a_direct_booking_held_differently_is_left_to_an_operator() -> None:
    raw = at(T0, channel="direct")
    store, _ = matched("beds24", held_as(raw, departure=read_booking(raw).departure + timedelta(1)))
    kind, note, attention = await apply(store, raw)
    assert (kind, attention) == ("kept", True) and "operator" in note
    assert store.writes == [] and store.conflicts[0].winner is None


async def test_a_matched_booking_held_the_same_leaves_no_record() -> None:
    raw = at(T0)
    store, _ = matched("pms", held_as(raw))
    kind, _, _ = await apply(store, raw)
    assert kind == "updated" and store.conflicts == []


async def test_a_never_sent_reservation_with_desk_changes_is_matched_without_waiting() -> None:
    """The desk edited a reservation Beds24 already holds before the two were linked: its
    unsent change would CREATE a second booking, so the match does not wait for it; with
    the difference left to an operator (or won by Beds24) the unsent change is settled
    unsent (the drift record keeps the PMS's values), never sent over Beds24's."""
    raw = at(T0, channel="direct")
    store, reservation = matched(
        "beds24", held_as(raw, departure=read_booking(raw).departure + timedelta(1))
    )
    store.unsent.add(reservation.id)
    kind, _, attention = await apply(store, raw)
    assert (kind, attention) == ("kept", True)
    [(settled, note)] = store.settled_unsent
    assert settled == reservation.id and "not sent: matched to Beds24 booking 80001" in note

    pms_wins, made = matched("pms", held_as(raw, adults=1))
    pms_wins.unsent.add(made.id)
    kind, _, _ = await apply(pms_wins, raw)
    assert kind == "kept" and pms_wins.settled_unsent == [], "the PMS's change is sent"
