"""Beds24 bookings the PMS already holds, recognised before they could become a second
reservation. Keys, in this order (the Beds24 id itself is looked up before this):

1. our own reference `pms-<reservation id>`: a booking the outbound worker created (below);
2. the OTA's reservation code with its channel: a channel booking that the hotel typed into
   the PMS (`channel_reference`, and `channel` where the PMS has it) before it was
   connected. Only a reservation not linked to any Beds24 booking, of the same property,
   with the same code and a compatible channel matches; two candidates are never guessed
   between, nor is the booking imported beside them: its event fails with the reason, for
   an operator.

A match records who made the booking (`reservations.made_by`): the PMS for our reference,
the channel (Beds24) for an OTA code.

Our own reference:

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
from channel_sync.errors import PermanentError
from channel_sync.pms_origin import mark_beds24_origin
from channel_sync.references import reservation_of_reference

from inbound_worker import reservations
from inbound_worker.booking import Booking
from inbound_worker.reservations import Stored

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recognised:
    stored: Stored | None  # the reservation the booking is, if a key names it
    note: str | None = None  # adopted: for the event's audit trail
    doubt: str | None = None  # why a key was not trusted, for the front desk
    made_by: str | None = None  # who made it, as the key says: "pms" or "beds24"
    # This sync sent it to Beds24 (a create of ours): a later Beds24 version is news, not a
    # conflict. False for a match made at connection (both sides held it on their own).
    sent: bool = False


async def recognise(conn: Connection, property_id: UUID, booking: Booking) -> Recognised:
    """Call with the booking locked and unknown by its Beds24 id, inside its transaction."""
    if booking.pms_reference is None:
        return await _by_ota_code(conn, property_id, booking)
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
    # Sent by this sync (a create noted, or a write stored): Beds24's version is its news.
    sent = named.pushed_at is not None or bool(
        await conn.fetchval(
            "SELECT 1 FROM beds24_pending_creates WHERE reservation_id = $1", named.id
        )
    )
    await mark_beds24_origin(conn)  # the id comes from Beds24: no outbound echo
    await reservations.link(conn, named.id, booking.booking_id)
    adopted = Stored(
        named.id, named.property_id, named.room_id, named.modified_time, booking.booking_id
    )
    return Recognised(
        adopted,
        note=f"adopted as reservation {named.id} (made by the PMS)",
        made_by="pms",
        sent=sent,
    )


async def _by_ota_code(conn: Connection, property_id: UUID, booking: Booking) -> Recognised:
    code = ota_code(booking)
    if code is None:
        return Recognised(None)
    rows = await conn.fetch(
        """SELECT id, channel FROM reservations
           WHERE property_id = $1 AND channel_reference = $2
             AND beds24_booking_id IS NULL AND beds24_qty_booking_id IS NULL
           ORDER BY id FOR UPDATE""",
        property_id,
        code,
    )
    channel = booking.columns.get("channel")
    candidates = [r["id"] for r in rows if same_channel(r["channel"], channel)]
    if not candidates:
        return Recognised(None)
    if len(candidates) > 1:  # importing it would double the stay; choosing could be wrong
        raise PermanentError(
            f"Beds24 booking {booking.booking_id}: {len(candidates)} PMS reservations carry "
            f"its OTA code ({channel or 'no channel'}); not guessed between: give the right "
            "one this Beds24 booking id, then retry the event"
        )
    named = await reservations.find_by_id(conn, candidates[0])
    assert named is not None  # locked above
    await mark_beds24_origin(conn)
    await reservations.link(conn, named.id, booking.booking_id)
    await conn.execute("UPDATE reservations SET made_by = 'beds24' WHERE id = $1", named.id)
    adopted = Stored(
        named.id, named.property_id, named.room_id, named.modified_time, booking.booking_id
    )
    return Recognised(
        adopted,
        note=f"matched reservation {named.id} by the OTA's reservation code ({channel})",
        made_by="beds24",
    )


def ota_code(booking: Booking) -> str | None:
    """The OTA's reservation code Beds24 keeps in `apiReference`, not our own reference."""
    code = booking.columns.get("channel_reference")
    if not isinstance(code, str) or not code.strip():
        return None
    return None if reservation_of_reference(code) is not None else code


def same_channel(pms: str | None, beds24: str | None) -> bool:
    """The PMS's channel name and Beds24's name one channel (either may be missing):
    compared without case, spaces and punctuation, one may extend the other
    ("Booking.com" and "booking")."""
    if not pms or not beds24:
        return True
    a, b = _plain(pms), _plain(beds24)
    return a.startswith(b) or b.startswith(a)


def _plain(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _doubt(reason: str) -> Recognised:
    logger.warning("%s", reason)
    return Recognised(None, doubt=reason)
