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
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from channel_sync.db import Connection

from inbound_worker.apply import PUSH_SKEW
from inbound_worker.booking import Booking
from inbound_worker.own_bookings import ota_code
from inbound_worker.stays.qty_rooms import sync_extra_rooms

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


@dataclass(frozen=True)
class StayResult:
    note: str | None  # for the event's audit trail (None outside a stay)
    attention: str | None = None  # what an operator must decide (both views kept)


async def apply_stay(
    conn: Connection, property_id: UUID, booking: Booking, reservation_id: UUID
) -> StayResult:
    """Join the booking's reservation to its stay and bring a `roomQty` booking's extra
    rooms in line.

    A stay change the front desk made and that is not yet in Beds24 (an outbound booking
    event of the reservation not done) wins over Beds24's view until it is sent: its group
    membership is left as the desk set it, as every other field of the booking is."""
    group = booking.group
    if await _unsent_pms_changes(conn, [reservation_id]):
        return StayResult("stay left as the PMS has it: its change is not yet in Beds24")
    if group is None:
        note = await _join_listed(conn, property_id, booking.booking_id, reservation_id)
        rooms = await _back_to_one_room(conn, property_id, booking, reservation_id)
        return StayResult("; ".join(filter(None, (note, rooms))) or None)
    stay_id, notes, attention = await _join(conn, property_id, booking, reservation_id)
    rooms = await sync_extra_rooms(conn, property_id, booking, reservation_id, stay_id)
    note = "; ".join([f"stay {stay_id} (Beds24 group {group.master_id})", *notes, rooms or ""])
    return StayResult(note.rstrip("; "), attention)


async def _back_to_one_room(
    conn: Connection, property_id: UUID, booking: Booking, reservation_id: UUID
) -> str | None:
    """A booking whose `roomQty` fell to 1 is in no group any more: the extra rooms the PMS
    still holds for it are cancelled all the same."""
    stay_id: UUID | None = await conn.fetchval(
        """SELECT r.stay_id FROM reservations r WHERE r.id = $1 AND EXISTS (
               SELECT 1 FROM reservations x WHERE x.beds24_qty_booking_id = $2
                 AND x.status <> 'cancelled')""",
        reservation_id,
        booking.booking_id,
    )
    if stay_id is None:
        return None
    return await sync_extra_rooms(conn, property_id, booking, reservation_id, stay_id)


async def _join(
    conn: Connection, property_id: UUID, booking: Booking, reservation_id: UUID
) -> tuple[UUID, list[str], str | None]:
    """The stay the booking's group is, with every room Beds24 lists in that group (stays
    merged when Beds24's group says two PMS stays are one); notes, and what needs an
    operator."""
    assert booking.group is not None
    master = booking.group.master_id
    notes: list[str] = []
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
        await _forget_members(conn, stay_id, [booking.booking_id])
        notes.append(f"left stay {stay_id}")
        stay_id = None
    keyed: UUID | None = await conn.fetchval(
        "SELECT id FROM stays WHERE property_id = $1 AND beds24_master_id = $2",
        property_id,
        master,
    )
    same_group = bool(booking.group.member_ids) or stored_master is None
    if stay_id is not None and keyed is not None and keyed != stay_id and same_group:
        # Beds24 puts this booking in the group another stay already stands for: one stay.
        stay_id = await _merge_into(conn, keyed, stay_id, booking, reservation_id, notes)
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
            ota_code(booking),
        )
        await conn.execute(
            "UPDATE reservations SET stay_id = $2 WHERE id = $1", reservation_id, stay_id
        )
    else:
        clash = await _learn_master(conn, stay_id, master, booking.group.member_ids)
        if clash:
            notes.append(clash)
    assert stay_id is not None
    members = sorted({master, *booking.group.member_ids} - {booking.booking_id})
    attention = None
    if booking.group.member_ids:
        await conn.execute(
            """UPDATE stays SET beds24_group_ids = $2, updated_at = now()
               WHERE id = $1 AND beds24_group_ids IS DISTINCT FROM $2""",
            stay_id,
            list(booking.group.member_ids),
        )
        attention = await _gather_listed(conn, property_id, stay_id, booking, members, notes)
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
    return stay_id, notes, attention


async def _merge_into(
    conn: Connection,
    keeper: UUID,
    merged: UUID,
    booking: Booking,
    reservation_id: UUID,
    notes: list[str],
) -> UUID:
    """The booking's room and every room of stay `merged` that this version of Beds24's
    group may speak for (`_may_move`) join `keeper`; `merged` goes once empty. The rooms'
    events stay with the rooms."""
    moved = await conn.fetch(
        f"""UPDATE reservations r SET stay_id = $1
            WHERE r.stay_id = $2 AND (r.id = $3 OR ({_MAY_MOVE}))
            RETURNING r.id""",
        keeper,
        merged,
        reservation_id,
        booking.modified_time,
        PUSH_SKEW,
    )
    left = await conn.fetchval("SELECT count(*) FROM reservations WHERE stay_id = $1", merged)
    if left == 0:
        await conn.execute("DELETE FROM stays WHERE id = $1", merged)
    notes.append(f"stay {merged} merged into stay {keeper} ({len(moved)} room(s))")
    logger.info("stay %s merged into stay %s: Beds24 lists them as one group", merged, keeper)
    return keeper


# A room may be moved by another booking's listing of its group only if that listing is
# newer than everything the PMS knows of the room ($4: the listing booking's modifiedTime,
# $5: the push skew) and no PMS change of the room is on its way to Beds24: the same version
# rules as every other field of a booking.
_MAY_MOVE = """
    $4::timestamptz IS NOT NULL
    AND $4::timestamptz > coalesce(r.beds24_modified_time, '-infinity')
    AND $4::timestamptz >= coalesce(r.beds24_pushed_at - $5::interval, '-infinity')
    AND NOT EXISTS (
        SELECT 1 FROM channel_events e
        WHERE e.direction = 'outbound' AND e.entity_type = 'booking'
          AND e.entity_internal_id = r.id AND e.status IN ('received', 'processing'))
"""


async def _gather_listed(
    conn: Connection,
    property_id: UUID,
    stay_id: UUID,
    booking: Booking,
    members: list[int],
    notes: list[str],
) -> str | None:
    """The rooms of bookings Beds24 lists in this group but that sit in another stay join
    this one (when this listing may speak for them: `_MAY_MOVE`); a stay left empty goes.
    A room the desk moved and Beds24 does not know yet is left where it is, and the operator
    is told (both views are in the event's note and on the room)."""
    if not members:
        return None
    rows = await conn.fetch(
        f"""SELECT r.id, r.stay_id, coalesce(r.beds24_booking_id, r.beds24_qty_booking_id)
                   AS booking_id, ({_MAY_MOVE}) AS may_move
            FROM reservations r
            WHERE r.property_id = $1 AND r.stay_id IS NOT NULL AND r.stay_id <> $2
              AND (r.beds24_booking_id = ANY($3::bigint[])
                   OR r.beds24_qty_booking_id = ANY($3::bigint[]))""",
        property_id,
        stay_id,
        members,
        booking.modified_time,
        PUSH_SKEW,
    )
    if not rows:
        return None
    movable = [r for r in rows if r["may_move"]]
    held_back = await _unsent_pms_changes(conn, [r["id"] for r in rows if not r["may_move"]])
    sources = {r["stay_id"] for r in movable}
    if movable:
        await conn.execute(
            "UPDATE reservations SET stay_id = $1 WHERE id = ANY($2::uuid[])",
            stay_id,
            [r["id"] for r in movable],
        )
        for source in sources:
            await _forget_members(
                conn, source, [r["booking_id"] for r in movable if r["stay_id"] == source]
            )
        await conn.execute(
            """DELETE FROM stays s WHERE s.id = ANY($1::uuid[])
                 AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.stay_id = s.id)""",
            list(sources),
        )
        notes.append(
            f"{len(movable)} room(s) Beds24 lists in this group joined it from stay(s) "
            + ", ".join(sorted(map(str, sources)))
        )
    if not held_back:
        return None
    await conn.execute(
        """UPDATE reservations SET needs_attention = true, attention_reason = $2
           WHERE id = ANY($1::uuid[])""",
        list(held_back),
        "Beds24 lists this room in another group than its stay; the stay change is not yet "
        "in Beds24",
    )
    return (
        f"Beds24 lists booking(s) "
        f"{', '.join(str(r['booking_id']) for r in rows if r['id'] in held_back)} in this "
        "group, but the PMS moved their room(s) to another stay, not yet sent to Beds24: "
        "left as the PMS has them"
    )


async def _forget_members(conn: Connection, stay_id: UUID, booking_ids: list[int]) -> None:
    """Bookings that left the stay are no longer listed as its group's members."""
    await conn.execute(
        """UPDATE stays SET beds24_group_ids = (
               SELECT coalesce(array_agg(i ORDER BY i), '{}') FROM unnest(beds24_group_ids) i
               WHERE i <> ALL($2::bigint[])), updated_at = now()
           WHERE id = $1 AND beds24_group_ids && $2::bigint[]""",
        stay_id,
        booking_ids,
    )


async def _unsent_pms_changes(conn: Connection, reservation_ids: list[UUID]) -> set[UUID]:
    """The reservations among these with a PMS change not yet sent to Beds24."""
    rows = await conn.fetch(
        """SELECT DISTINCT entity_internal_id FROM channel_events
           WHERE direction = 'outbound' AND entity_type = 'booking'
             AND entity_internal_id = ANY($1::uuid[]) AND status IN ('received', 'processing')""",
        reservation_ids,
    )
    return {r["entity_internal_id"] for r in rows}


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
) -> str | None:
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
    except asyncpg.UniqueViolationError:  # unreachable after `_merge_into`: said if it is
        logger.warning(
            "stay %s: Beds24 group %s is already another stay of this property", stay_id, master
        )
        return f"Beds24 group {master} is already another stay of this property"
    return None
