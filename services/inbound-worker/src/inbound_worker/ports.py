"""What applying a booking needs from the PMS, as small interfaces (ports), and their
Postgres adapters:

- `BookingStore`: the booking itself. `apply.apply_booking` decides (new, newer, stale,
  same, in doubt, waiting for the PMS's unsent changes); the port reads and writes.
- `InboundTransaction`: the whole transaction of one inbound event around it (the event
  claimed and settled, the origin marked, the group locked, the stay joined, the nights of
  a booking waiting for a room); `handler.apply_event` decides through it.

Unit tests give them fakes (tests/inbound_tests/test_apply_unit.py, test_apply_event_unit.py);
the integration tests use the adapters."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from channel_sync.beds24.links import link_of
from channel_sync.db import Connection
from channel_sync.events import EventStatus
from channel_sync.pms_changes import record_reservation_change
from channel_sync.pms_origin import mark_beds24_origin, pms_origin
from channel_sync.repository import ChannelEventRepository

from inbound_worker import reservations
from inbound_worker.booking import Booking
from inbound_worker.own_bookings import Recognised, recognise
from inbound_worker.ownership import SYNCED_COLUMNS, Conflict
from inbound_worker.placement import Placement, Stay, place, push_waiting_availability, waiting_stay
from inbound_worker.reservations import Stored
from inbound_worker.stays.membership import StayResult, apply_stay, lock_group
from inbound_worker.sync import drift

_events = ChannelEventRepository()


class BookingStore(Protocol):
    """The PMS as one booking's transaction sees it."""

    async def linked_beds24_property(self, property_id: UUID) -> int | None: ...

    async def lock_booking(self, booking_id: int) -> None:
        """Until the transaction ends: one version of a booking applied at a time."""
        ...

    async def find(self, booking_id: int) -> Stored | None: ...

    async def recognise(self, property_id: UUID, booking: Booking) -> Recognised:
        """A booking unknown by its id that our own reference names (`own_bookings`)."""
        ...

    async def unsent_pms_changes(self, reservation_id: UUID) -> int:
        """Outbound booking events of the reservation not yet done."""
        ...

    async def settle_unsent_pms_changes(self, reservation_id: UUID, note: str) -> None:
        """Mark the reservation's outbound booking events not done yet as done with `note`
        (only for a reservation never sent: no create of it is in flight)."""
        ...

    async def place(
        self,
        property_id: UUID,
        booking: Booking,
        *,
        reservation_id: UUID | None,
        current_room: UUID | None,
    ) -> Placement: ...

    async def holds(
        self, reservation_id: UUID, columns: dict[str, Any], placement: Placement
    ) -> bool: ...

    async def insert(
        self, property_id: UUID, columns: dict[str, Any], placement: Placement
    ) -> UUID: ...

    async def update(
        self, reservation_id: UUID, columns: dict[str, Any], placement: Placement
    ) -> None: ...

    async def synced_values(self, reservation_id: UUID) -> dict[str, Any]:
        """The reservation's columns the sync compares (`ownership.SYNCED_COLUMNS`)."""
        ...

    async def policy(self, property_id: UUID) -> str:
        """The property's sync policy (`ownership`)."""
        ...

    async def fill(self, reservation_id: UUID, columns: dict[str, Any]) -> None:
        """Write these columns only (values the PMS lacked), as Beds24's (no echo)."""
        ...

    async def record_conflict(self, conflict: Conflict) -> None:
        """A matched booking held differently: the drift record (repaired by the rule, or
        open for an operator, then flagged on the reservation); when the PMS wins, its
        state is sent to Beds24 (an outbound event of the capture path)."""
        ...


class PostgresBookings:
    """The port over one connection, inside the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def linked_beds24_property(self, property_id: UUID) -> int | None:
        link = await link_of(self._conn, property_id)
        return None if link is None else link.beds24_property_id

    async def lock_booking(self, booking_id: int) -> None:
        await reservations.lock_booking(self._conn, booking_id)

    async def find(self, booking_id: int) -> Stored | None:
        return await reservations.find(self._conn, booking_id)

    async def recognise(self, property_id: UUID, booking: Booking) -> Recognised:
        return await recognise(self._conn, property_id, booking)

    async def unsent_pms_changes(self, reservation_id: UUID) -> int:
        pending: int = await self._conn.fetchval(
            """SELECT count(*) FROM channel_events
               WHERE direction = 'outbound' AND entity_type = 'booking'
                 AND entity_internal_id = $1 AND status IN ('received', 'processing')""",
            reservation_id,
        )
        return pending

    async def settle_unsent_pms_changes(self, reservation_id: UUID, note: str) -> None:
        await self._conn.execute(
            """UPDATE channel_events SET status = 'done', outcome_note = $2,
                   processed_at = now(), updated_at = now()
               WHERE direction = 'outbound' AND entity_type = 'booking'
                 AND entity_internal_id = $1 AND status IN ('received', 'processing')""",
            reservation_id,
            note,
        )

    async def place(
        self,
        property_id: UUID,
        booking: Booking,
        *,
        reservation_id: UUID | None,
        current_room: UUID | None,
    ) -> Placement:
        return await place(
            self._conn,
            property_id,
            booking,
            reservation_id=reservation_id,
            current_room=current_room,
        )

    async def holds(
        self, reservation_id: UUID, columns: dict[str, Any], placement: Placement
    ) -> bool:
        return await reservations.holds(self._conn, reservation_id, columns, placement)

    async def insert(
        self, property_id: UUID, columns: dict[str, Any], placement: Placement
    ) -> UUID:
        return await reservations.insert(self._conn, property_id, columns, placement)

    async def update(
        self, reservation_id: UUID, columns: dict[str, Any], placement: Placement
    ) -> None:
        await reservations.update(self._conn, reservation_id, columns, placement)

    async def synced_values(self, reservation_id: UUID) -> dict[str, Any]:
        row = await self._conn.fetchrow(
            f"SELECT {', '.join(SYNCED_COLUMNS)} FROM reservations WHERE id = $1",  # noqa: S608
            reservation_id,
        )
        return {} if row is None else dict(row)

    async def fill(self, reservation_id: UUID, columns: dict[str, Any]) -> None:
        if columns:
            await reservations.fill(self._conn, reservation_id, columns)

    async def policy(self, property_id: UUID) -> str:
        policy: str | None = await self._conn.fetchval(
            "SELECT sync_policy FROM beds24_properties WHERE property_id = $1", property_id
        )
        return policy or "flag"

    async def record_conflict(self, conflict: Conflict) -> None:
        found = drift.Drift(
            "match_differs",
            f"booking {conflict.booking_id}",
            conflict.beds24_values,
            conflict.pms_values,
        )
        if conflict.winner is None:
            await drift.record_open(
                self._conn, conflict.property_id, None, found, reason=conflict.resolution
            )
            await self._conn.execute(
                """UPDATE reservations SET needs_attention = true, attention_reason = $2
                   WHERE id = $1""",
                conflict.reservation_id,
                f"matched Beds24 booking {conflict.booking_id} differs: {conflict.resolution}",
            )
            return
        event_id = None
        if conflict.winner == "pms":
            async with pms_origin(self._conn):  # the PMS's state goes out, as the PMS's
                event_id = await record_reservation_change(self._conn, conflict.reservation_id)
        await drift.record_repaired(
            self._conn,
            conflict.property_id,
            None,
            found,
            resolution=conflict.resolution,
            event_id=event_id,
        )


class InboundTransaction(Protocol):
    """The PMS as one inbound event's transaction sees it, around its booking."""

    @property
    def bookings(self) -> BookingStore: ...

    async def claim_event(self, event_id: UUID) -> bool:
        """Lock the event until the transaction ends; False if it is gone or settled
        (done or failed: a concurrent delivery got there first)."""
        ...

    async def mark_beds24_origin(self) -> None:
        """The transaction's writes are Beds24's: no booking is echoed back."""
        ...

    async def lock_group(self, booking: Booking) -> None:
        """The booking's group (or its own id) until the transaction ends; before the
        booking's own lock (`stays`)."""
        ...

    async def waiting_stay(self, booking_id: int) -> Stay | None:
        """The nights the booking holds while it waits for a room, if it does."""
        ...

    async def apply_stay(
        self, property_id: UUID, booking: Booking, reservation_id: UUID
    ) -> StayResult: ...

    async def push_waiting_availability(
        self, property_id: UUID, stays: list[Stay], reservation_id: UUID
    ) -> None: ...

    async def settle(self, event_id: UUID, reservation_id: UUID, note: str) -> None:
        """The event done, linked to the reservation it applied to."""
        ...


class PostgresInbound:
    """The transaction port over one connection, inside the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._bookings = PostgresBookings(conn)

    @property
    def bookings(self) -> BookingStore:
        return self._bookings

    async def claim_event(self, event_id: UUID) -> bool:
        locked = await _events.lock(self._conn, event_id)
        return locked is not None and locked.status not in (EventStatus.DONE, EventStatus.FAILED)

    async def mark_beds24_origin(self) -> None:
        await mark_beds24_origin(self._conn)

    async def lock_group(self, booking: Booking) -> None:
        await lock_group(self._conn, booking)

    async def waiting_stay(self, booking_id: int) -> Stay | None:
        return await waiting_stay(self._conn, booking_id)

    async def apply_stay(
        self, property_id: UUID, booking: Booking, reservation_id: UUID
    ) -> StayResult:
        return await apply_stay(self._conn, property_id, booking, reservation_id)

    async def push_waiting_availability(
        self, property_id: UUID, stays: list[Stay], reservation_id: UUID
    ) -> None:
        await push_waiting_availability(self._conn, property_id, stays, reservation_id)

    async def settle(self, event_id: UUID, reservation_id: UUID, note: str) -> None:
        await self._conn.execute(
            """UPDATE channel_events SET entity_internal_id = $2
               WHERE id = $1 AND entity_internal_id IS DISTINCT FROM $2""",
            event_id,
            reservation_id,
        )
        await _events.mark_done(self._conn, event_id, note=note)
