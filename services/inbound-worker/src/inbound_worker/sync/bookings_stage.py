"""One page of Beds24 bookings compared with the PMS (the first stage of a run).

A version of a booking the PMS never received is recorded as an inbound event with the SAME
idempotency key its webhook or a poll gets (one event per version, whichever comes first);
the normal inbound path applies it, adopting our own bookings by their reference. A stay the
PMS holds differently although it has Beds24's version goes to the property's policy: Beds24
wins through an inbound event that makes the worker fetch and apply Beds24's current state;
the PMS wins through an outbound event of the normal capture path; nobody wins: left open.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from channel_sync.db import Connection
from channel_sync.errors import PermanentError
from channel_sync.events import Direction, NewChannelEvent
from channel_sync.inbound import ENTITY_TYPE, MODIFIED, booking_event_key, booking_event_type
from channel_sync.pms_changes import record_reservation_change
from channel_sync.references import reservation_of_reference
from channel_sync.repository import ChannelEventRepository

from inbound_worker.apply import PUSH_SKEW
from inbound_worker.booking import Booking, read_booking
from inbound_worker.ownership import made_by_pms, synced_differences, values_of, winner
from inbound_worker.sync import drift, pms_side
from inbound_worker.sync.compare import Stay, beds24_stay, differences
from inbound_worker.sync.drift import Drift
from inbound_worker.sync.metrics import count_drift
from inbound_worker.sync.runs import Run

_events = ChannelEventRepository()
# Compared as the stay (`compare.differences`), not again as a synced column.
_STAY_COLUMNS = frozenset({"arrival", "departure", "status", "adults", "children"})


class BookingsStage:
    def __init__(self, *, max_attempts: int) -> None:
        self._max_attempts = max_attempts

    async def compare_page(
        self, conn: Connection, run: Run, policy: str, bookings: list[dict[str, Any]]
    ) -> None:
        usable = [b for b in bookings if isinstance(b.get("id"), int) and b["id"] > 0]
        ids = [b["id"] for b in usable]
        stored = await pms_side.by_booking(conn, run.property_id, ids)
        in_flight = await pms_side.bookings_in_flight(conn, run.property_id, ids)
        codes = [c for b in usable if b["id"] not in stored and (c := _ota_code(b)) is not None]
        coded = await pms_side.unlinked_with_codes(conn, run.property_id, codes)
        for reservation_id in coded:
            run.cursor.setdefault("claimed", []).append(str(reservation_id))
        # A booking whose OTA code a PMS reservation carries is matched by that code (the
        # inbound path), never proposed as a look-alike: the code is the stronger key.
        by_code = set(coded.values())
        for raw in usable:
            run.count("bookings_seen")
            run.cursor.setdefault("seen", []).append(raw["id"])
            try:
                booking: Booking | None = read_booking(raw)
            except PermanentError:
                booking = None  # recorded all the same: the inbound path fails it visibly
            if booking is not None and booking.pms_reference is not None:
                run.cursor.setdefault("claimed", []).append(str(booking.pms_reference))
            pms = stored.get(raw["id"])
            if pms is None:
                if raw["id"] not in in_flight and (
                    _ota_code(raw) in by_code or not await self._look_alike(conn, run, raw, booking)
                ):
                    await self._missing_in_pms(conn, run, raw)
            elif booking is not None and not pms.in_flight:
                await self._compare(conn, run, policy, raw, booking, pms)

    async def _look_alike(
        self, conn: Connection, run: Run, raw: dict[str, Any], booking: Booking | None
    ) -> bool:
        """A Beds24 booking no key matched (not ours, no OTA code the PMS holds) that looks
        like a PMS reservation not linked to Beds24 (same room type, dates and surname):
        proposed to an operator, never linked alone, and neither side is copied to the
        other meanwhile (either copy could double the stay). The operator's decision
        (`POST /admin/drift/{id}/decision`): `link` gives the reservation this booking's id
        (matched by id from then on); `differ` takes those reservations out of the proposal
        for good, so the booking is imported and they are sent, each as its own stay."""
        if (
            booking is None
            or booking.pms_reference is not None
            or booking.cancelled
            or booking.beds24_room_id is None
            or not booking.columns.get("guest_last_name")
        ):
            return False
        found = await pms_side.look_alikes(
            conn,
            run.property_id,
            str(booking.beds24_room_id),
            booking.arrival,
            booking.departure,
            booking.columns["guest_last_name"],
        )
        if found:  # an operator's `differ`: another stay, whatever it looks like
            different = await drift.declared_different(conn, run.property_id, booking.booking_id)
            found = [r for r in found if r not in different]
        if not found:
            return False
        run.cursor.setdefault("claimed", []).extend(str(r) for r in found)
        proposal = Drift(
            "possible_match",
            f"booking {booking.booking_id}",
            _summary(raw),
            {"reservation_ids": sorted(str(r) for r in found)},
        )
        reason = (
            "no key links this Beds24 booking to the PMS, but reservation(s) of the same "
            "room type, dates and guest surname may be the same stay: an operator links them "
            "(gives the reservation this Beds24 booking id) or says they differ; until then "
            "neither is copied to the other side"
        )
        await drift.leave_open(conn, run, proposal, reason=reason)
        return True

    async def _missing_in_pms(self, conn: Connection, run: Run, raw: dict[str, Any]) -> None:
        found = Drift("missing_in_pms", f"booking {raw['id']}", _summary(raw), None)
        event_id = await self._record_version(conn, run, raw, known=False)
        if event_id is not None:
            run.count("inbound_events")
            if run.kind == "reconcile":
                await self._repaired(conn, run, found, "imported as an inbound event", event_id)
            return
        if raw.get("status") == "cancelled":
            return  # nothing to hold: whether the PMS keeps a cancelled stay does not matter
        # This version was applied before, yet no reservation holds it: deleted in the PMS
        # (or failed: see its event). Neither side is clearly right.
        reason = (
            "Beds24 holds this booking and the PMS had it, but no reservation holds it now "
            "(deleted in the PMS, or its event failed): an operator must decide"
        )
        await drift.leave_open(conn, run, found, reason=reason)

    async def _compare(
        self,
        conn: Connection,
        run: Run,
        policy: str,
        raw: dict[str, Any],
        booking: Booking,
        pms: pms_side.PmsStay,
    ) -> None:
        beds24 = beds24_stay(booking)
        cancelled = _both_cancelled(beds24, pms.stay)
        differ = [] if cancelled else differences(beds24, pms.stay)
        details = (
            []
            if cancelled
            else [
                c for c in synced_differences(booking.columns, pms.synced) if c not in _STAY_COLUMNS
            ]
        )
        unseen = _unseen(booking, pms)
        if not differ and not details:
            if unseen and await self._record_version(conn, run, raw, known=True):
                run.count("inbound_events")  # a new version that changes nothing compared
            return
        found = Drift(
            "booking_differs",
            f"booking {booking.booking_id}",
            {f: getattr(beds24, f) for f in differ} | values_of(booking.columns, details),
            {f: getattr(pms.stay, f) for f in differ} | values_of(pms.synced, details),
        )
        if unseen:
            event_id = await self._record_version(conn, run, raw, known=True)
            if event_id is not None:
                run.count("inbound_events")
                note = "Beds24's version had not reached the PMS: recorded as an inbound event"
                await self._repaired(conn, run, found, note, event_id)
                return
        ours = made_by_pms(
            pms.made_by, carries_our_reference=booking.pms_reference == pms.reservation_id
        )
        side = winner(policy, made_by_pms=ours, channel=raw.get("channel"))
        if side == "pms":
            event_id = await record_reservation_change(
                conn, pms.reservation_id, correlation_id=f"sync-run:{run.id}"
            )
            run.count("outbound_events")
            note = f"policy {policy}: the PMS wins; its state is sent to Beds24"
            await self._repaired(conn, run, found, note, event_id)
        elif side == "beds24":
            event_id = await self._record_refetch(conn, run, booking.booking_id)
            run.count("inbound_events")
            note = f"policy {policy}: Beds24 wins; its current state is applied to the PMS"
            await self._repaired(conn, run, found, note, event_id)
        else:
            reason = f"policy {policy} cannot decide: an operator must (both sides kept)"
            await drift.leave_open(conn, run, found, reason=reason)

    async def _repaired(
        self, conn: Connection, run: Run, found: Drift, note: str, event_id: UUID | None
    ) -> None:
        await drift.record_repaired(
            conn, run.property_id, run.id, found, resolution=note, event_id=event_id
        )
        run.count("drift_found")
        run.count("drift_repaired")
        count_drift(found.kind, "repaired")

    async def _record_version(
        self, conn: Connection, run: Run, raw: dict[str, Any], *, known: bool
    ) -> UUID | None:
        """The booking's version as a webhook or a poll records it; None if it was already."""
        event = await _events.create(
            conn,
            NewChannelEvent(
                property_id=run.property_id,
                direction=Direction.INBOUND,
                event_type=booking_event_type(raw.get("status"), known=known),
                entity_type=ENTITY_TYPE,
                entity_external_id=str(raw["id"]),
                idempotency_key=booking_event_key(run.property_id, raw),
                payload={"booking": raw, "source": f"sync:{run.kind}"},
                max_attempts=self._max_attempts,
                correlation_id=f"sync-run:{run.id}",
            ),
        )
        return None if event is None else event.id

    async def _record_refetch(self, conn: Connection, run: Run, booking_id: int) -> UUID | None:
        """An event naming the booking only (as a V1 ping does): the worker fetches Beds24's
        current state and applies it as current, even over a version it holds already."""
        event = await _events.create(
            conn,
            NewChannelEvent(
                property_id=run.property_id,
                direction=Direction.INBOUND,
                event_type=MODIFIED,
                entity_type=ENTITY_TYPE,
                entity_external_id=str(booking_id),
                idempotency_key=f"sync:{run.id}:booking:{booking_id}",
                payload={"v1": {"bookid": booking_id, "status": "modify"}, "source": "sync"},
                max_attempts=self._max_attempts,
                correlation_id=f"sync-run:{run.id}",
            ),
        )
        return None if event is None else event.id


def _unseen(booking: Booking, pms: pms_side.PmsStay) -> bool:
    """Beds24's version is newer than the one the PMS holds and than our last write to it
    (the version that write made is no news; see `apply.PUSH_SKEW`). A reservation that
    never held a Beds24 version nor was sent (linked at connection) has no "newer": what
    differs there is a conflict, which the policy decides."""
    stamp = booking.modified_time
    if pms.modified_time is None and pms.pushed_at is None:
        return False
    if stamp is None:
        return True
    if pms.modified_time is not None and stamp <= pms.modified_time:
        return False
    return pms.pushed_at is None or stamp > pms.pushed_at + PUSH_SKEW


def _both_cancelled(beds24: Stay, pms: Stay) -> bool:
    return beds24.status == "cancelled" and pms.status == "cancelled"


def _summary(raw: dict[str, Any]) -> dict[str, Any]:
    """What a drift record keeps of a booking: the stay, never the guest's details."""
    keys = ("arrival", "departure", "status", "roomId", "numAdult", "numChild", "channel")
    return {k: raw.get(k) for k in keys}


def _ota_code(raw: dict[str, Any]) -> str | None:
    """The OTA's code a raw booking carries in apiReference (not our own reference)."""
    code = raw.get("apiReference")
    if not isinstance(code, str) or not code.strip():
        return None
    return None if reservation_of_reference(code) is not None else code
