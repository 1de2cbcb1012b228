"""A Beds24 booking of a multi-room stay, joined to its stay (table `stays`), inside the
caller's transaction and after the booking itself is applied.

Members of a group arrive in any order, late, twice or (lost webhooks) through the poll:
whichever comes first makes the stay, keyed by the group's master booking; the others join
it, and the master's reservation joins too if it came before the group was known (or after
it, read without its group: the stay lists the members Beds24 named). A member's
change or cancellation touches its own reservation only. A reservation the PMS already put
in a stay (our own group, made by the outbound worker) stays there; the stay learns its
master.

Every member takes the group's lock BEFORE its booking's (`lock_group`): two members applied
at once, one of which attaches the other's reservation, then never wait on each other.
"""

from __future__ import annotations

import logging
from uuid import UUID

import asyncpg
from channel_sync.db import Connection
from channel_sync.references import reservation_of_reference

from inbound_worker.booking import Booking
from inbound_worker.qty_rooms import sync_extra_rooms

logger = logging.getLogger(__name__)


async def lock_group(conn: Connection, booking: Booking) -> None:
    """Serialise the members of one group until the transaction ends; call before the
    booking's own lock. A booking read without its group locks its own id: if it is a
    master, its members wait for it, or it for them."""
    key = booking.group.master_id if booking.group is not None else booking.booking_id
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('beds24-group:' || $1::bigint::text, 0))",
        key,
    )


async def apply_stay(
    conn: Connection, property_id: UUID, booking: Booking, reservation_id: UUID
) -> str | None:
    """Join the booking's reservation to its stay and bring a `roomQty` booking's extra
    rooms in line; a note for the event's audit trail (None outside a stay)."""
    group = booking.group
    if group is None:
        return await _join_listed(conn, property_id, booking.booking_id, reservation_id)
    stay_id = await _join(conn, property_id, booking, reservation_id)
    note = f"stay {stay_id} (Beds24 group {group.master_id})"
    rooms = await sync_extra_rooms(conn, property_id, booking, reservation_id, stay_id)
    return f"{note}; {rooms}" if rooms else note


async def _join(
    conn: Connection, property_id: UUID, booking: Booking, reservation_id: UUID
) -> UUID:
    assert booking.group is not None
    master = booking.group.master_id
    current = await conn.fetchrow(
        """SELECT r.stay_id, s.beds24_master_id FROM reservations r
           LEFT JOIN stays s ON s.id = r.stay_id WHERE r.id = $1""",
        reservation_id,
    )
    stay_id: UUID | None = current["stay_id"] if current else None
    stored_master: int | None = current["beds24_master_id"] if current else None
    if stay_id is not None and _moved_to_another_group(stored_master, booking):
        logger.info(
            "Beds24 moved booking %s to group %s: its room leaves stay %s",
            booking.booking_id,
            master,
            stay_id,
        )
        stay_id = None
    if stay_id is None:
        stay_id = await conn.fetchval(
            """INSERT INTO stays (property_id, beds24_master_id, channel_reference)
               VALUES ($1, $2, $3)
               ON CONFLICT (property_id, beds24_master_id) WHERE beds24_master_id IS NOT NULL
               DO UPDATE SET updated_at = now(), channel_reference =
                   coalesce(stays.channel_reference, EXCLUDED.channel_reference)
               RETURNING id""",
            property_id,
            master,
            _channel_reference(booking),
        )
        await conn.execute(
            "UPDATE reservations SET stay_id = $2 WHERE id = $1", reservation_id, stay_id
        )
    else:
        await _learn_master(conn, stay_id, master, booking.group.member_ids)
    assert stay_id is not None
    members = sorted({master, *booking.group.member_ids} - {booking.booking_id})
    if booking.group.member_ids:
        await conn.execute(
            """UPDATE stays SET beds24_group_ids = $2, updated_at = now()
               WHERE id = $1 AND beds24_group_ids IS DISTINCT FROM $2""",
            stay_id,
            list(booking.group.member_ids),
        )
    # Members (the master, typically) applied before the group was known to them.
    await conn.execute(
        """UPDATE reservations SET stay_id = $1
           WHERE property_id = $2 AND stay_id IS NULL
             AND (beds24_booking_id = ANY($3::bigint[])
                  OR beds24_qty_booking_id = ANY($3::bigint[]))""",
        stay_id,
        property_id,
        members,
    )
    return stay_id


def _moved_to_another_group(stored: int | None, booking: Booking) -> bool:
    """The reservation's stay (master `stored`) is another Beds24 group than the one Beds24
    now lists the booking in: a master of its own that the listed group neither is nor
    names. Without the group's member list nothing is concluded (a stay the PMS made may
    store a master Beds24 did not choose, which `_learn_master` corrects)."""
    assert booking.group is not None
    if not booking.group.member_ids:
        return False
    return (
        stored is not None
        and stored != booking.group.master_id
        and stored not in booking.group.member_ids
    )


async def _join_listed(
    conn: Connection, property_id: UUID, booking_id: int, reservation_id: UUID
) -> str | None:
    """A booking read without its group (a master's webhook may carry none) joins the stay
    whose group its members already named."""
    stay_id: UUID | None = await conn.fetchval(
        """UPDATE reservations SET stay_id = s.id FROM stays s
           WHERE reservations.id = $3 AND reservations.stay_id IS NULL
             AND s.property_id = $1
             AND (s.beds24_master_id = $2 OR $2 = ANY(s.beds24_group_ids))
           RETURNING s.id""",
        property_id,
        booking_id,
        reservation_id,
    )
    return None if stay_id is None else f"stay {stay_id} (named by its group's members)"


async def _learn_master(
    conn: Connection, stay_id: UUID, master: int, members: tuple[int, ...]
) -> None:
    """The stay's master as Beds24 names it: stored if the stay has none, or corrected when
    Beds24 lists the stored one as a member of this group (a stay the PMS made stores the
    first booking of its create call, which Beds24 may not have made the master)."""
    try:
        async with conn.transaction():
            await conn.execute(
                """UPDATE stays SET beds24_master_id = $2, updated_at = now()
                   WHERE id = $1 AND (beds24_master_id IS NULL
                         OR (beds24_master_id <> $2 AND beds24_master_id = ANY($3::bigint[])))""",
                stay_id,
                master,
                list(members),
            )
    except asyncpg.UniqueViolationError:
        logger.warning(
            "stay %s: Beds24 group %s is already another stay of this property; left apart",
            stay_id,
            master,
        )


def _channel_reference(booking: Booking) -> str | None:
    """The OTA's reservation code, not our own `pms-<id>` reference."""
    code = booking.columns.get("channel_reference")
    if not isinstance(code, str) or reservation_of_reference(code) is not None:
        return None
    return code
