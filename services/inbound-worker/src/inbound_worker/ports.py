"""What applying a booking needs from the PMS, as one small interface (a port), and its
Postgres adapter. `apply.apply_booking` decides (new, newer, stale, same, in doubt, waiting for the
PMS's unsent changes); the port reads and writes. Unit tests give it a fake
(tests/inbound_tests/test_apply_unit.py); the integration tests use the adapter."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from channel_sync.beds24.links import link_of
from channel_sync.db import Connection

from inbound_worker import reservations
from inbound_worker.booking import Booking
from inbound_worker.mapping import Placement, place
from inbound_worker.own_bookings import Recognised, recognise
from inbound_worker.reservations import Stored


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
