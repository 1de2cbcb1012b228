"""Applying one Beds24 booking to the PMS, inside the caller's transaction.

State wins over events: the booking is applied only if its `modifiedTime` is newer than the
version the PMS holds; an older one changes nothing and says so in the outcome. One with the
SAME `modifiedTime` changes nothing if it holds what the PMS holds; if it differs, two
versions were saved in one second (whole seconds only) and their order is unknown: rather
than guess, the caller fetches Beds24's current state and applies that (AskBeds24).

While a PMS change to the reservation is still on its way to Beds24 (an outbound booking
event not yet done), a newer Beds24 version waits for it: applied first, it would overwrite
the unsent change, and the outbound worker (which sends the CURRENT state) would then lose
it for good. Applied after, the PMS's change is in Beds24 and a later version (webhook or
poll) brings both sides together again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from channel_sync.errors import PermanentError, RetryAfter

from inbound_worker.booking import Booking
from inbound_worker.own_bookings import Recognised
from inbound_worker.ownership import Conflict, gaps, synced_differences, values_of, winner
from inbound_worker.placement import Placement
from inbound_worker.reservations import Stored

if TYPE_CHECKING:  # the port's adapter applies stays, which need this module's constants
    from inbound_worker.ports import BookingStore


@dataclass(frozen=True)
class Outcome:
    reservation_id: UUID
    kind: str  # created | updated | cancelled | stale | unchanged | kept (a matched conflict)
    note: str  # what happened, for the event's audit trail
    needs_attention: bool = False


class AskBeds24(Exception):
    """This version has the stored `modifiedTime` but other content: two versions were saved
    in one second (Beds24 stamps whole seconds) and which came last cannot be told. The
    caller fetches the booking's current state from Beds24 (with no transaction open) and
    applies that with `current=True`."""


# Default of the setting PUSH_SKEW_MARGIN_S (see `_stale_note`).
PUSH_SKEW = timedelta(seconds=2)


async def apply_booking(
    store: BookingStore,
    property_id: UUID,
    booking: Booking,
    *,
    current: bool = False,
    push_skew: timedelta = PUSH_SKEW,
) -> Outcome:
    """Apply the booking through the PMS port (`inbound_worker.ports`; on Postgres:
    `PostgresBookings(conn)`, inside the caller's transaction).

    `current`: the booking was just fetched from Beds24, so it is Beds24's latest state.
    `push_skew`: how much earlier than our last write to Beds24 a version may be stamped
    and still count as made after it (see `_stale_note`)."""
    await _check_property(store, property_id, booking)
    await store.lock_booking(booking.booking_id)
    stored = await store.find(booking.booking_id)
    if stored is not None and stored.property_id != property_id:
        raise PermanentError(
            f"Beds24 booking {booking.booking_id} is already a reservation of another PMS "
            f"property ({stored.property_id})"
        )
    own = Recognised(stored) if stored else await store.recognise(property_id, booking)
    stored, prefix = own.stored, f"{own.note}; " if own.note else ""
    # A reservation the PMS never sent, just matched to this booking: its unsent changes
    # would have CREATED a booking (a double); linked now, they become updates of this one,
    # so they are not waited for (waiting would let the create go first).
    adopting = bool(own.note) and not own.sent
    stale = _stale_note(booking.modified_time, stored, push_skew)
    if stored is not None and stale:
        if own.note and not adopting:  # an adoption too waits for a pending create
            await _wait_for_unsent_pms_changes(store, stored.id)
        return Outcome(stored.id, "stale", prefix + stale)
    if stored is not None and adopting:
        kept = await _matched_conflict(store, property_id, booking, stored.id, own)
        if kept is not None:
            return replace(kept, note=prefix + kept.note)
    placement = await store.place(
        property_id,
        booking,
        reservation_id=stored.id if stored else None,
        current_room=stored.room_id if stored else None,
    )
    same_time = (
        stored is not None
        and booking.modified_time is not None
        and booking.modified_time == stored.modified_time
    )
    if stored is not None:
        if same_time and await store.holds(stored.id, booking.columns, placement):
            if own.note and not adopting:
                await _wait_for_unsent_pms_changes(store, stored.id)
            note = f"unchanged: version {stored.modified_time} is already applied"
            return Outcome(stored.id, "unchanged", prefix + note)
        if not adopting:
            await _wait_for_unsent_pms_changes(store, stored.id)
        if same_time and not current:
            raise AskBeds24(
                f"Beds24 booking {booking.booking_id}: another version with modifiedTime "
                f"{booking.modified_time} differs from the one applied"
            )
    if own.doubt:
        placement = Placement(
            placement.room_id, "; ".join(filter(None, (own.doubt, placement.attention)))
        )
    if stored is None:
        reservation_id = await store.insert(property_id, booking.columns, placement)
        kind, note = (
            ("cancelled", "recorded as cancelled") if booking.cancelled else ("created", "created")
        )
    else:
        reservation_id = stored.id
        await store.update(stored.id, booking.columns, placement)
        kind = note = "cancelled" if booking.cancelled else "updated"
        if same_time:
            note += f" (Beds24's current state; it shares modifiedTime {booking.modified_time})"
    note = prefix + note
    if placement.attention:
        note += f"; needs attention: {placement.attention}"
    return Outcome(reservation_id, kind, note, needs_attention=placement.attention is not None)


async def _matched_conflict(
    store: BookingStore, property_id: UUID, booking: Booking, reservation_id: UUID, own: Recognised
) -> Outcome | None:
    """A booking just matched to a reservation that holds it differently: the property's
    policy and the booking's owner decide (`ownership`), and a drift record says so. None
    when Beds24's version is to be applied (no difference, or Beds24 wins)."""
    pms = await store.synced_values(reservation_id)
    differ = synced_differences(booking.columns, pms)
    if not differ:
        return None
    policy = await store.policy(property_id)
    side = winner(
        policy,
        made_by_pms=own.made_by == "pms",
        channel=booking.columns.get("channel"),
    )
    resolution = {
        "beds24": f"policy {policy}: Beds24 wins; its version is applied to the PMS",
        "pms": f"policy {policy}: the PMS wins; its state is sent to Beds24",
        None: f"policy {policy} cannot decide: an operator must (both sides kept)",
    }[side]
    await store.record_conflict(
        Conflict(
            property_id,
            reservation_id,
            booking.booking_id,
            values_of(booking.columns, differ),
            values_of(pms, differ),
            side,
            resolution,
        )
    )
    if side != "pms":
        # The PMS's unsent changes would now send its state over Beds24's: Beds24 won, or
        # an operator decides with both sides kept. They are settled here, with the
        # drift record holding the PMS's values (a change already being sent is waited for).
        await store.settle_unsent_pms_changes(
            reservation_id,
            f"not sent: matched to Beds24 booking {booking.booking_id}; {resolution}",
        )
    if side == "beds24":
        return None
    await store.fill(reservation_id, gaps(booking.columns, pms))
    return Outcome(
        reservation_id,
        "kept",
        f"differs in {', '.join(differ)}: {resolution}",
        needs_attention=side is None,
    )


async def _check_property(store: BookingStore, property_id: UUID, booking: Booking) -> None:
    linked = await store.linked_beds24_property(property_id)
    if None not in (linked, booking.beds24_property_id) and linked != booking.beds24_property_id:
        raise PermanentError(
            f"Beds24 booking {booking.booking_id} belongs to Beds24 property "
            f"{booking.beds24_property_id}, but this PMS property is linked to {linked}"
        )


# How long a booking waits before looking again for the PMS's unsent changes.
UNSENT_CHANGES_WAIT = timedelta(seconds=5)


async def _wait_for_unsent_pms_changes(store: BookingStore, reservation_id: UUID) -> None:
    if await store.unsent_pms_changes(reservation_id):
        raise RetryAfter(
            f"reservation {reservation_id} has PMS changes not yet sent to Beds24; "
            "applying the Beds24 version after them",
            datetime.now(UTC) + UNSENT_CHANGES_WAIT,
        )


def _stale_note(
    incoming: datetime | None, stored: Stored | None, push_skew: timedelta
) -> str | None:
    """Why this version is older than what the PMS holds; None if it is not.

    Our own writes to Beds24 count too: webhooks come unordered and about a minute late, so
    a version stamped before our last write (`beds24_pushed_at`, the time it was sent) is
    one that write has replaced; applied, it would revert the PMS's edit, and no outbound
    event (no echo) would ever correct it. `push_skew` allows for Beds24 stamping whole
    seconds on its own clock."""
    if stored is None:
        return None
    if incoming is None:
        if stored.modified_time is None:
            return None
        return (
            "stale: the booking carries no modifiedTime; "
            f"the PMS keeps version {stored.modified_time}"
        )
    if stored.modified_time is not None and incoming < stored.modified_time:
        return f"stale: version {incoming} is older than the PMS's {stored.modified_time}"
    if stored.pushed_at is not None and incoming < stored.pushed_at - push_skew:
        return (
            f"stale: version {incoming} is older than the PMS's last write to Beds24 "
            f"(sent {stored.pushed_at})"
        )
    return None
