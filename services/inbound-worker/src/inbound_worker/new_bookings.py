"""Bookings the PMS has never seen, applied together: the common case of a batch (a channel
sold a room) in a handful of set-based statements for the whole batch instead of a score of
round trips per booking.

A booking takes this path only when the one-booking path (`handler.apply_event`) would
simply create it: its Beds24 id is in no reservation, it names no reservation of ours (no
PMS reference), no unlinked reservation of its property carries its OTA code, it is one
room in no group and no stay lists it, its Beds24 property is the one the PMS property is
linked to, and it is the only version of its booking in the batch. Everything else (and
every booking of a set whose statements fail) is left to the one-booking path, which
decides it as before. The decisions are the same: placed by `placement.place_new` (the
rules of `placement.place`), inserted as Beds24's (no outbound echo) with the availability
they take recorded once per Beds24 room (the capture trigger's per-row work deferred to
one statement), the event marked done with its reservation in the same transaction.

The locks are those of the one-booking path (the event rows, then each booking's group and
booking locks in booking-id order, then the candidate rooms): a concurrent version of the
same booking waits for this transaction and then finds the reservation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from channel_sync.beds24.links import link_of
from channel_sync.db import Connection
from channel_sync.events import ChannelEvent
from channel_sync.pms_changes import record_availability_of
from channel_sync.pms_origin import capture_deferred, mark_beds24_origin
from channel_sync.repository import ChannelEventRepository

from inbound_worker import reservations
from inbound_worker.apply import Outcome
from inbound_worker.booking import Booking
from inbound_worker.own_bookings import ota_code
from inbound_worker.placement import OCCUPYING, Stay, place_new, push_waiting_availability

_events = ChannelEventRepository()

Pair = tuple[ChannelEvent, Booking]


@dataclass
class NewBookings:
    created: list[tuple[ChannelEvent, Booking, Outcome]]
    settled: list[ChannelEvent]  # done or failed before this transaction: nothing to do
    rest: list[Pair]  # for the one-booking path


def simple(pairs: Sequence[Pair]) -> list[Pair]:
    """The bookings that may be new ones, as far as they tell by themselves."""
    versions = Counter((e.property_id, b.booking_id) for e, b in pairs)
    return [
        (e, b)
        for e, b in pairs
        if b.group is None
        and b.pms_reference is None
        and versions[e.property_id, b.booking_id] == 1
    ]


async def apply_new_bookings(conn: Connection, pairs: Sequence[Pair]) -> NewBookings:
    """Create the bookings of `pairs` that are new to the PMS, inside the caller's
    transaction; the others are returned as `rest`, untouched. Call with `pairs` in
    booking-id order (the order every batch takes its locks in)."""
    candidates = simple(pairs)
    if not candidates:
        return NewBookings([], [], list(pairs))
    status: dict[UUID, str] = {
        r["id"]: r["status"]
        for r in await conn.fetch(
            "SELECT id, status FROM channel_events WHERE id = ANY($1::uuid[]) "
            "ORDER BY id FOR UPDATE",
            [e.id for e, _ in candidates],
        )
    }
    settled = [e for e, _ in candidates if status.get(e.id) in (None, "done", "failed")]
    gone = {e.id for e in settled}
    candidates = [(e, b) for e, b in candidates if e.id not in gone]
    await mark_beds24_origin(conn)
    # A booking in no group takes its own id's group lock, then its booking lock.
    ids = [b.booking_id for _, b in candidates]
    await conn.execute(
        """SELECT pg_advisory_xact_lock(hashtextextended('beds24-group:' || b::text, 0)),
                  pg_advisory_xact_lock(hashtextextended('beds24-booking:' || b::text, 0))
           FROM unnest($1::bigint[]) WITH ORDINALITY AS t(b, n) ORDER BY n""",
        ids,
    )
    new = await _new_ones(conn, candidates)
    placements = await place_new(conn, [(e.property_id, b) for e, b in new])
    async with capture_deferred(conn):  # the trigger's per-row work, done once below
        reservation_ids = await reservations.insert_many(
            conn, [(e.property_id, b.columns, placements[b.booking_id]) for e, b in new]
        )
    await record_availability_of(conn, reservation_ids)
    created: list[tuple[ChannelEvent, Booking, Outcome]] = []
    for (event, booking), reservation_id in zip(new, reservation_ids, strict=True):
        placement = placements[booking.booking_id]
        note = "recorded as cancelled" if booking.cancelled else "created"
        if placement.attention:
            note += f"; needs attention: {placement.attention}"
        kind = "cancelled" if booking.cancelled else "created"
        created.append(
            (event, booking, Outcome(reservation_id, kind, note, placement.attention is not None))
        )
        if (
            placement.room_id is None
            and booking.beds24_room_id is not None
            and booking.status in OCCUPYING
        ):  # waits for a room: its nights count against its Beds24 room all the same
            stay = Stay(str(booking.beds24_room_id), booking.arrival, booking.departure)
            await push_waiting_availability(conn, event.property_id, [stay], reservation_id)
    await _events.mark_applied(
        conn, [(e.id, outcome.reservation_id, outcome.note) for e, _, outcome in created]
    )
    taken = {e.id for e, _ in new} | gone
    return NewBookings(created, settled, [(e, b) for e, b in pairs if e.id not in taken])


async def _new_ones(conn: Connection, candidates: list[Pair]) -> list[Pair]:
    """The candidates nothing in the PMS already is or names (see the module's text)."""
    ids = [b.booking_id for _, b in candidates]
    properties = sorted({e.property_id for e, _ in candidates}, key=str)
    known = {
        r["beds24_booking_id"]
        for r in await conn.fetch(
            "SELECT beds24_booking_id FROM reservations WHERE beds24_booking_id = ANY($1)",
            ids,
        )
    }
    codes = {(e.property_id, code) for e, b in candidates if (code := ota_code(b)) is not None}
    coded: set[tuple[UUID, str]] = set()
    if codes:
        coded = {
            (r["property_id"], r["channel_reference"])
            for r in await conn.fetch(
                """SELECT property_id, channel_reference FROM reservations
                   WHERE property_id = ANY($1::uuid[]) AND channel_reference = ANY($2::text[])
                     AND beds24_booking_id IS NULL AND beds24_qty_booking_id IS NULL""",
                properties,
                [code for _, code in codes],
            )
        }
    listed = {
        r["b"]
        for r in await conn.fetch(
            """SELECT b FROM unnest($2::bigint[]) AS b WHERE EXISTS (
                   SELECT 1 FROM stays s WHERE s.property_id = ANY($1::uuid[])
                     AND (s.beds24_master_id = b OR b = ANY(s.beds24_group_ids)))""",
            properties,
            ids,
        )
    }
    linked: dict[UUID, int | None] = {}
    for property_id in properties:
        link = await link_of(conn, property_id)
        linked[property_id] = None if link is None else link.beds24_property_id
    return [
        (e, b)
        for e, b in candidates
        if b.booking_id not in known
        and b.booking_id not in listed
        and (e.property_id, ota_code(b)) not in coded
        and (
            linked[e.property_id] is None
            or b.beds24_property_id is None
            or linked[e.property_id] == b.beds24_property_id
        )
    ]
