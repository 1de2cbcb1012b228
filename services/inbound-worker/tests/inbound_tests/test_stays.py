"""Group members through the inbound handler, against real Postgres and the Beds24 sandbox:
members whose webhooks were lost are found by the poll and join the one stay; members
applied at the same time, or twice, still make one stay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from channel_sync.beds24.accounts import Beds24Clients
from channel_sync.beds24.credit_budget import CreditBudget
from channel_sync.events import ChannelEvent, EventMessage
from channel_sync.pms_origin import mark_beds24_origin
from channel_sync.repository import ChannelEventRepository
from inbound_worker.beds24_bookings import Beds24Bookings
from inbound_worker.handler import InboundHandler
from inbound_worker.poller import Poller

from .support import Hotel, NoBeds24, booking, insert_hotel, reservations, store_event

ARRIVAL, DEPARTURE = "2031-10-01", "2031-10-04"


@pytest.fixture
async def site(db: asyncpg.Pool, beds24_sandbox: SandboxHandle) -> tuple[Hotel, SandboxProperty]:
    """A Beds24 property without webhooks (every change is "lost") and its PMS twin."""
    beds24 = await beds24_sandbox.seed(rooms=[{"name": "Double", "qty": 3}])
    async with db.acquire() as conn:
        hotel = await insert_hotel(
            conn,
            rooms=("101", "102", "103"),
            beds24_property_id=beds24.id,
            beds24_room_id=beds24.room_ids[0],
            account_id=str(beds24.account.account_id),
            refresh_token=beds24.account.refresh_token,
        )
    return hotel, beds24


@pytest.fixture
async def clients(db: asyncpg.Pool, beds24_sandbox: SandboxHandle) -> AsyncIterator[Beds24Bookings]:
    budget = CreditBudget(db, reserve=5, max_wait_s=0)
    clients = Beds24Clients(beds24_sandbox.url, budget, timeout_s=5)
    yield Beds24Bookings(db, clients, budget)
    await clients.aclose()


async def handle(db: asyncpg.Pool, *events: ChannelEvent) -> None:
    handler = InboundHandler(db, NoBeds24())
    await asyncio.gather(*(handler(EventMessage.for_event(e)) for e in events))


async def new_inbound_events(db: asyncpg.Pool) -> list[ChannelEvent]:
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id FROM channel_events WHERE direction = 'inbound' AND status = 'received'"
        )
    async with db.acquire() as conn:
        return await ChannelEventRepository().get_many(conn, [r["id"] for r in rows])


async def test_members_lost_then_polled_join_the_stay_of_the_one_that_arrived(
    db: asyncpg.Pool,
    clients: Beds24Bookings,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
) -> None:
    hotel, beds24 = site
    made = await beds24_sandbox.guest_group(
        [{"roomId": beds24.room_ids[0]}] * 3, ARRIVAL, DEPARTURE
    )
    await handle(db, await store_event(db, hotel.property_id, made[1]))  # its webhook came
    assert len(await reservations(db)) == 1

    poll = Poller(db, clients, interval_s=300, margin_s=600, first_lookback_s=3600, max_attempts=3)
    assert await poll.poll_property(hotel.property_id) == 2  # the two lost members
    found = await new_inbound_events(db)
    await handle(db, *found, *found)  # at once, and each delivered twice

    rows = await reservations(db)
    assert sorted(r["beds24_booking_id"] for r in rows) == sorted(b["id"] for b in made)
    assert len({r["stay_id"] for r in rows}) == 1 and rows[0]["stay_id"] is not None
    assert len({r["room_id"] for r in rows}) == 3
    async with db.acquire() as conn:
        stays = await conn.fetch("SELECT beds24_master_id, beds24_group_ids FROM stays")
    assert [(s["beds24_master_id"], sorted(s["beds24_group_ids"])) for s in stays] == [
        (made[0]["id"], sorted(b["id"] for b in made))
    ]


async def test_beds24_naming_another_master_for_a_pms_stays_group_corrects_the_stored_one(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn, conn.transaction():
        hotel = await insert_hotel(conn)
        await mark_beds24_origin(conn)  # already in Beds24: no outbound event
        stay = await conn.fetchval(
            "INSERT INTO stays (property_id, beds24_master_id) VALUES ($1, 900002) RETURNING id",
            hotel.property_id,
        )
        for booking_id, room in ((900001, "101"), (900002, "102")):
            await conn.execute(
                """INSERT INTO reservations (property_id, room_id, stay_id, arrival, departure,
                       beds24_booking_id) VALUES ($1, $2, $3, '2031-06-01', '2031-06-04', $4)""",
                hotel.property_id,
                hotel.rooms[room],
                stay,
                booking_id,
            )
    group = {"master": 900001, "ids": [900001, 900002]}
    raw = booking(900002, masterId=900001, bookingGroup=group)

    await handle(db, await store_event(db, hotel.property_id, raw))

    async with db.acquire() as conn:
        stored = await conn.fetch("SELECT id, beds24_master_id FROM stays")
    assert [(s["id"], s["beds24_master_id"]) for s in stored] == [(stay, 900001)]
