"""Beds24 bookings our own outbound worker created, recognised by their reference.

The outbound worker creates a booking carrying `pms-<reservation id>` (as apiReference and
as an info item: `channel_sync.references`), then stores the id Beds24 answers. The
booking's webhook (or a poll) can come before that store, or the store can be lost (a crash
or a dropped answer after the create): looked up by Beds24 id alone, the booking would
become a SECOND reservation for one stay. So a booking unknown by id whose reference names
a reservation of the same property IS that reservation.

The named reservation is row-locked (SELECT ... FOR UPDATE): an outbound store of its id
running at the same time either finishes first (and is seen here) or waits for this
transaction (and then finds the id already there). A reference is not trusted when it names
no reservation, one of another property, or one already linked to another Beds24 booking;
the booking then takes the normal path, flagged for the front desk in the last two cases.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from channel_sync.db import Connection
from channel_sync.pms_origin import mark_beds24_origin

from inbound_worker import reservations
from inbound_worker.booking import Booking
from inbound_worker.reservations import Stored

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recognised:
    stored: Stored | None  # the reservation the booking is, if our reference names it
    note: str | None = None  # adopted: for the event's audit trail
    doubt: str | None = None  # why the reference was not trusted, for the front desk


async def recognise(conn: Connection, property_id: UUID, booking: Booking) -> Recognised:
    """Call with the booking locked and unknown by its Beds24 id, inside its transaction."""
    if booking.pms_reference is None:
        return Recognised(None)
    named = await reservations.find_by_id(conn, booking.pms_reference)
    if named is None:
        return Recognised(None)  # deleted in the PMS since: Beds24 still holds the stay
    where = f"Beds24 booking {booking.booking_id} carries the PMS reference of reservation"
    if named.property_id != property_id:
        return _doubt(f"{where} {named.id} of another property; not taken as that reservation")
    if named.beds24_booking_id == booking.booking_id:
        return Recognised(named)  # the outbound worker stored the id while we waited
    if named.beds24_booking_id is not None:
        return _doubt(
            f"{where} {named.id}, which is linked to Beds24 booking {named.beds24_booking_id}: "
            "possibly one stay booked twice in Beds24"
        )
    await mark_beds24_origin(conn)  # the id comes from Beds24: no outbound echo
    await reservations.link(conn, named.id, booking.booking_id)
    adopted = Stored(
        named.id, named.property_id, named.room_id, named.modified_time, booking.booking_id
    )
    return Recognised(adopted, note=f"adopted as reservation {named.id} (made by the PMS)")


def _doubt(reason: str) -> Recognised:
    logger.warning("%s", reason)
    return Recognised(None, doubt=reason)
