"""Bookings our own outbound worker created (apiReference `pms-<reservation id>`) whose Beds24
id the PMS does not hold yet: the handler takes them as that reservation, never as a second
one; references it cannot trust take the normal path."""

from __future__ import annotations

import asyncio
import uuid
from uuid import UUID

import asyncpg
import pytest
from channel_sync.errors import RetryAfter
from channel_sync.events import EventMessage
from channel_sync.pms_origin import mark_beds24_origin
from channel_sync.references import REFERENCE_INFO_CODE, reference_info_item
from channel_sync_testing.waiting import wait_for
from inbound_worker.handler import InboundHandler

from .support import (
    Hotel,
    booking,
    event_row,
    insert_hotel,
    outbound_count,
    reservations,
    store_event,
)


async def pms_reservation(db: asyncpg.Pool, hotel: Hotel, room: str = "101") -> UUID:
    """A reservation made at the front desk: its outbound create event is captured."""
    async with db.acquire() as conn:
        reservation_id: UUID = await conn.fetchval(
            """INSERT INTO reservations (property_id, room_id, arrival, departure, status,
                   adults, guest_last_name)
               VALUES ($1, $2, '2031-06-01', '2031-06-04', 'confirmed', 2, 'Hopper')
               RETURNING id""",
            hotel.property_id,
            hotel.rooms[room],
        )
    return reservation_id


async def outbound_create_sent(
    db: asyncpg.Pool, reservation_id: UUID, *, settled: str | None = "failed"
) -> UUID:
    """The outbound worker sent the create (noting it first) but never stored the answer;
    `settled` is how its event ended (None: still being worked on)."""
    async with db.acquire() as conn:
        await conn.execute(
            """INSERT INTO beds24_pending_creates (reservation_id, property_id, api_reference)
               SELECT id, property_id, 'pms-' || id FROM reservations WHERE id = $1""",
            reservation_id,
        )
        event_id: UUID = await conn.fetchval(
            """UPDATE channel_events SET status = COALESCE($2, 'processing')
               WHERE direction = 'outbound' AND entity_internal_id = $1
                 AND event_type = 'pms.booking.create' RETURNING id""",
            reservation_id,
            settled,
        )
    assert event_id is not None
    return event_id


async def pending_creates(db: asyncpg.Pool) -> int:
    async with db.acquire() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM beds24_pending_creates")
    return count


async def handle(handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel, raw: dict) -> str:  # type: ignore[type-arg]
    event = await store_event(db, hotel.property_id, raw)
    await handler(EventMessage.for_event(event))
    row = await event_row(db, event.id)
    assert row["status"] == "done"
    note: str = row["outcome_note"]
    return note


async def test_a_booking_carrying_our_reference_is_adopted_by_its_reservation(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    reservation_id = await pms_reservation(db, hotel, room="102")
    await outbound_create_sent(db, reservation_id)
    outbound_before = await outbound_count(db)

    note = await handle(
        handler, db, hotel, booking(80100, apiReference=f"pms-{reservation_id}", numAdult=3)
    )

    [r] = await reservations(db)
    assert r["id"] == reservation_id
    assert (r["beds24_booking_id"], r["adults"], r["room_name"]) == (80100, 3, "102")
    assert r["channel_reference"] is None  # our own reference is no channel's code
    assert r["needs_attention"] is False
    assert note == f"adopted as reservation {reservation_id} (made by the PMS); updated"
    assert await outbound_count(db) == outbound_before  # the adoption is not echoed
    assert await pending_creates(db) == 0  # the create's outcome is known now

    # Later versions find it by its Beds24 id, as any other booking.
    assert await handle(handler, db, hotel, booking(80100, numAdult=4, **_later())) == "updated"
    [again] = await reservations(db)
    assert (again["id"], again["adults"]) == (reservation_id, 4)


@pytest.mark.parametrize("api_reference", ["", "BDC-0000012345"], ids=["dropped", "ota"])
async def test_our_info_item_names_the_reservation_when_api_reference_does_not(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel, api_reference: str
) -> None:
    """Beds24 may drop apiReference on API writes (UNCONFIRMED): our info item still says."""
    reservation_id = await pms_reservation(db, hotel, room="102")
    await outbound_create_sent(db, reservation_id)
    info = [{"code": "OTHER", "text": "late check-in"}, reference_info_item(reservation_id)]

    note = await handle(
        handler, db, hotel, booking(80105, apiReference=api_reference, infoItems=info)
    )

    [r] = await reservations(db)
    assert (r["id"], r["beds24_booking_id"]) == (reservation_id, 80105)
    assert note.startswith(f"adopted as reservation {reservation_id}")
    assert await pending_creates(db) == 0


async def test_our_info_item_beside_the_booking_in_a_webhook_names_the_reservation(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    reservation_id = await pms_reservation(db, hotel)
    await outbound_create_sent(db, reservation_id)
    raw = booking(80107, apiReference="")
    webhook = {"booking": raw, "infoItems": [reference_info_item(reservation_id)], "retries": 0}
    event = await store_event(db, hotel.property_id, raw, payload=webhook)

    await handler(EventMessage.for_event(event))

    assert (await event_row(db, event.id))["status"] == "done"
    [r] = await reservations(db)
    assert (r["id"], r["beds24_booking_id"]) == (reservation_id, 80107)


async def test_an_info_item_with_our_code_but_no_reservation_is_not_ours(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    reservation_id = await pms_reservation(db, hotel)
    await outbound_create_sent(db, reservation_id)
    info = [{"code": REFERENCE_INFO_CODE, "text": f"ref {reservation_id}"}]

    assert await handle(handler, db, hotel, booking(80106, infoItems=info)) == "created"
    assert len(await reservations(db)) == 2


async def test_an_adoption_waits_while_the_create_is_still_being_sent(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    reservation_id = await pms_reservation(db, hotel)
    create = await outbound_create_sent(db, reservation_id, settled=None)
    event = await store_event(
        db, hotel.property_id, booking(80110, apiReference=f"pms-{reservation_id}")
    )

    with pytest.raises(RetryAfter, match="PMS changes not yet sent"):
        await handler(EventMessage.for_event(event))
    [waiting] = await reservations(db)
    assert (waiting["id"], waiting["beds24_booking_id"]) == (reservation_id, None)

    async with db.acquire() as conn:  # the outbound worker gave up on it
        await conn.execute("UPDATE channel_events SET status = 'failed' WHERE id = $1", create)
    await handler(EventMessage.for_event(event))
    [adopted] = await reservations(db)
    assert (adopted["id"], adopted["beds24_booking_id"]) == (reservation_id, 80110)


async def test_an_adopted_booking_not_newer_than_the_pms_still_gets_linked(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    reservation_id = await pms_reservation(db, hotel)
    await outbound_create_sent(db, reservation_id)
    async with db.acquire() as conn:
        await conn.execute(
            """UPDATE reservations SET beds24_modified_time = '2031-05-02T00:00:00Z'
               WHERE id = $1""",
            reservation_id,
        )

    note = await handle(
        handler, db, hotel, booking(80115, apiReference=f"pms-{reservation_id}", numAdult=5)
    )

    [r] = await reservations(db)
    assert (r["beds24_booking_id"], r["adults"]) == (80115, 2)
    assert note.startswith(f"adopted as reservation {reservation_id} (made by the PMS); stale:")


async def test_a_reference_to_another_propertys_reservation_is_not_adopted(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    async with db.acquire() as conn:
        other = await insert_hotel(conn, beds24_property_id=616161, account_id="acct-2")
    theirs = await pms_reservation(db, other)
    await outbound_create_sent(db, theirs)

    note = await handle(handler, db, hotel, booking(80120, apiReference=f"pms-{theirs}"))

    rows = {r["id"]: r for r in await reservations(db)}
    assert rows[theirs]["beds24_booking_id"] is None
    [ours] = [r for r in rows.values() if r["id"] != theirs]
    assert (ours["property_id"], ours["beds24_booking_id"]) == (hotel.property_id, 80120)
    assert ours["needs_attention"] is True
    assert f"PMS reference of reservation {theirs} of another property" in ours["attention_reason"]
    assert note.startswith("created; needs attention:")


async def test_a_reservation_linked_to_another_booking_is_not_taken_again(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    await handle(handler, db, hotel, booking(80130))  # a reservation linked to 80130
    [linked] = await reservations(db)

    await handle(handler, db, hotel, booking(80131, apiReference=f"pms-{linked['id']}"))

    first, second = await reservations(db)
    assert (first["id"], first["beds24_booking_id"]) == (linked["id"], 80130)
    assert second["beds24_booking_id"] == 80131 and second["needs_attention"] is True
    assert "linked to Beds24 booking 80130" in second["attention_reason"]


@pytest.mark.parametrize(
    "reference",
    [
        "PMS-{id}",  # not the case the outbound worker writes
        "pms-{id_upper}",
        "pms-{id} ",
        "pms-{id_hex}",
        "x-pms-{id}",
        "pms-{id}-2",
        "pms-",
        "pms-{unknown}",  # well formed, but no such reservation
    ],
)
async def test_other_references_take_the_normal_path(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel, reference: str
) -> None:
    reservation_id = await pms_reservation(db, hotel)
    await outbound_create_sent(db, reservation_id)
    text = reference.format(
        id=reservation_id,
        id_upper=str(reservation_id).upper(),
        id_hex=reservation_id.hex,
        unknown=uuid.uuid4(),
    )

    assert await handle(handler, db, hotel, booking(80140, apiReference=text)) == "created"

    rows = await reservations(db)
    assert len(rows) == 2
    mine = next(r for r in rows if r["id"] == reservation_id)
    assert mine["beds24_booking_id"] is None
    assert not any(r["needs_attention"] for r in rows)


async def test_an_outbound_store_of_the_id_meanwhile_is_waited_for_and_seen(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    reservation_id = await pms_reservation(db, hotel)
    create = await outbound_create_sent(db, reservation_id, settled=None)
    event = await store_event(
        db, hotel.property_id, booking(80150, apiReference=f"pms-{reservation_id}")
    )
    async with db.acquire() as store, store.transaction():
        # The outbound worker stores the create's answer (uncommitted yet)...
        await mark_beds24_origin(store)
        await store.execute(
            "UPDATE reservations SET beds24_booking_id = 80150 WHERE id = $1", reservation_id
        )
        await store.execute("UPDATE channel_events SET status = 'done' WHERE id = $1", create)
        # ...while the webhook is applied: it must wait on the reservation's row lock.
        applying = asyncio.create_task(handler(EventMessage.for_event(event)))
        await wait_for(lambda: _waiting_on_a_lock(db, store), what="the apply blocked")
        assert not applying.done()
    await applying

    [r] = await reservations(db)
    assert (r["id"], r["beds24_booking_id"]) == (reservation_id, 80150)
    assert (await event_row(db, event.id))["outcome_note"] == "updated"


async def test_two_bookings_carrying_one_reference_at_once_adopt_one(
    handler: InboundHandler, db: asyncpg.Pool, hotel: Hotel
) -> None:
    reservation_id = await pms_reservation(db, hotel)
    await outbound_create_sent(db, reservation_id)
    events = [
        await store_event(db, hotel.property_id, booking(n, apiReference=f"pms-{reservation_id}"))
        for n in (80160, 80161)
    ]

    await asyncio.gather(*(handler(EventMessage.for_event(e)) for e in events))

    rows = await reservations(db)
    [adopted] = [r for r in rows if r["id"] == reservation_id]
    [doubted] = [r for r in rows if r["id"] != reservation_id]
    assert {adopted["beds24_booking_id"], doubted["beds24_booking_id"]} == {80160, 80161}
    assert adopted["needs_attention"] is False and doubted["needs_attention"] is True
    assert "possibly one stay booked twice" in doubted["attention_reason"]


async def _waiting_on_a_lock(db: asyncpg.Pool, holder: asyncpg.Connection) -> bool:
    holder_pid = holder.get_server_pid()
    async with db.acquire() as conn:
        blocked: bool = await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                              WHERE $1 = ANY(pg_blocking_pids(pid)))""",
            holder_pid,
        )
    return blocked


def _later() -> dict[str, str]:
    return {"modifiedTime": "2031-05-03T00:00:00Z"}
