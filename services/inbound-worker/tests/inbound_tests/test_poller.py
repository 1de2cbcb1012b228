"""The missed-webhook poller against the Beds24 sandbox and real Postgres: what it records,
one replica per property, and what it does when Beds24 fails or credits run low."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import asyncpg
import pytest
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from channel_sync.beds24 import Beds24Client
from channel_sync.beds24.accounts import Beds24Clients
from channel_sync.beds24.credit_budget import CreditBudget
from channel_sync.events import EventMessage
from channel_sync.inbound import booking_event_key
from channel_sync.references import reference_info_item
from channel_sync.repository import ChannelEventRepository
from inbound_worker.beds24_bookings import Beds24Bookings
from inbound_worker.handler import InboundHandler
from inbound_worker.poller import Poller
from prometheus_client import REGISTRY

from .support import Hotel, event_row, insert_hotel, reservations, store_event
from .test_own_bookings import outbound_create_sent, pms_reservation

ARRIVAL, DEPARTURE = "2031-09-01", "2031-09-03"


@pytest.fixture
async def site(db: asyncpg.Pool, beds24_sandbox: SandboxHandle) -> tuple[Hotel, SandboxProperty]:
    """A Beds24 property without webhooks (every change is "lost") and its PMS twin."""
    beds24 = await beds24_sandbox.seed(rooms=[{"name": "Double", "qty": 2}])
    async with db.acquire() as conn:
        hotel = await insert_hotel(
            conn,
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


def poller(db: asyncpg.Pool, clients: Beds24Bookings) -> Poller:
    return Poller(db, clients, interval_s=300, margin_s=600, first_lookback_s=3600, max_attempts=3)


async def inbound_keys(db: asyncpg.Pool) -> list[str]:
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT idempotency_key FROM channel_events WHERE direction = 'inbound' "
            "ORDER BY idempotency_key"
        )
    return [r["idempotency_key"] for r in rows]


async def last_polled(db: asyncpg.Pool, hotel: Hotel) -> object:
    async with db.acquire() as conn:
        return await conn.fetchval(
            "SELECT last_polled_at FROM beds24_properties WHERE property_id = $1",
            hotel.property_id,
        )


async def another_property(
    db: asyncpg.Pool, sandbox: SandboxHandle, beds24: SandboxProperty
) -> tuple[Hotel, int, int]:
    """A second property of `beds24`'s account (one Twin room), connected; with its Beds24
    room and property ids."""
    more = await sandbox.create_property(
        beds24.account.account_id, rooms=[{"name": "Twin", "qty": 1}]
    )
    room = int(more["rooms"][0]["id"])
    async with db.acquire() as conn:
        hotel = await insert_hotel(
            conn,
            beds24_property_id=more["id"],
            beds24_room_id=room,
            account_id=str(beds24.account.account_id),
            refresh_token=beds24.account.refresh_token,
        )
    return hotel, room, int(more["id"])


async def test_a_poll_records_every_booking_no_webhook_brought(
    db: asyncpg.Pool,
    clients: Beds24Bookings,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
) -> None:
    hotel, beds24 = site
    received = await beds24_sandbox.guest_booking(beds24.room_ids[0], ARRIVAL, DEPARTURE)
    missed = await beds24_sandbox.guest_booking(beds24.room_ids[0], ARRIVAL, DEPARTURE)
    cancelled = await beds24_sandbox.guest_booking(beds24.room_ids[0], ARRIVAL, DEPARTURE)
    cancelled = await beds24_sandbox.cancel_guest_booking(cancelled["id"])
    # The first one's webhook did arrive: its version is stored already.
    await store_event(db, hotel.property_id, received)

    stored = await poller(db, clients).poll_property(hotel.property_id)

    assert stored == 2  # the missed one, and the cancelled one (every status is asked for)
    assert await inbound_keys(db) == sorted(
        booking_event_key(hotel.property_id, b) for b in (received, missed, cancelled)
    )
    assert await last_polled(db, hotel) is not None


async def test_two_replicas_poll_a_property_once(
    db: asyncpg.Pool,
    clients: Beds24Bookings,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
) -> None:
    hotel, beds24 = site
    await beds24_sandbox.guest_booking(beds24.room_ids[0], ARRIVAL, DEPARTURE)
    await beds24_sandbox.clear_calls()

    results = await asyncio.gather(
        poller(db, clients).poll_property(hotel.property_id),
        poller(db, clients).poll_property(hotel.property_id),
    )

    assert sorted(results, key=str) == [1, None]
    assert len(await beds24_sandbox.calls(method="GET", path="/bookings")) == 1
    assert len(await inbound_keys(db)) == 1
    # Not due again before the interval has passed.
    assert await poller(db, clients).poll_due() == 0


async def test_an_account_is_polled_with_one_search_for_all_its_properties(
    db: asyncpg.Pool,
    clients: Beds24Bookings,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
) -> None:
    """Credits are the account's: its three properties cost one search, not three; each
    property gets only its own bookings."""
    hotel, beds24 = site
    hotels = [(hotel, beds24.room_ids[0])]
    for _ in range(2):
        other, room, _ = await another_property(db, beds24_sandbox, beds24)
        hotels.append((other, room))
    made = {
        h.property_id: (await beds24_sandbox.guest_booking(room, ARRIVAL, DEPARTURE))["id"]
        for h, room in hotels
    }
    await beds24_sandbox.clear_calls()

    assert await poller(db, clients).poll_due() == 3

    assert len(await beds24_sandbox.calls(method="GET", path="/bookings")) == 1
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT property_id, entity_external_id FROM channel_events WHERE direction = 'inbound'"
        )
    assert {r["property_id"]: int(r["entity_external_id"]) for r in rows} == made
    assert len(rows) == 3
    assert await poller(db, clients).poll_due() == 0  # none due again before the interval


async def test_a_failed_poll_keeps_its_window_for_the_next_one(
    db: asyncpg.Pool,
    clients: Beds24Bookings,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
) -> None:
    hotel, beds24 = site
    await beds24_sandbox.guest_booking(beds24.room_ids[0], ARRIVAL, DEPARTURE)
    await beds24_sandbox.inject_fault("http_500", count=1, method="GET", path="/bookings")

    assert await poller(db, clients).poll_due() == 0
    assert await last_polled(db, hotel) is None and await inbound_keys(db) == []

    assert await poller(db, clients).poll_due() == 1
    assert len(await inbound_keys(db)) == 1


async def test_a_poll_waits_while_the_account_is_low_on_credits(
    db: asyncpg.Pool,
    clients: Beds24Bookings,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
) -> None:
    hotel, beds24 = site
    async with db.acquire() as conn:
        await conn.execute(
            """INSERT INTO beds24_credit_budgets (account_id, remaining, resets_at)
               VALUES ($1, 2, now() + interval '2 minutes')""",
            str(beds24.account.account_id),
        )
    await beds24_sandbox.clear_calls()

    assert await poller(db, clients).poll_due() == 0
    assert await beds24_sandbox.calls() == []
    assert await last_polled(db, hotel) is None


async def test_a_poll_reports_credits_to_the_shared_budget(
    db: asyncpg.Pool,
    clients: Beds24Bookings,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
) -> None:
    hotel, beds24 = site
    await poller(db, clients).poll_property(hotel.property_id)
    async with db.acquire() as conn:
        remaining = await conn.fetchval(
            "SELECT remaining FROM beds24_credit_budgets WHERE account_id = $1",
            str(beds24.account.account_id),
        )
    assert remaining is not None and remaining < 100


@pytest.mark.parametrize("reference_kept", [True, False], ids=["apiReference", "infoItem"])
async def test_our_create_found_by_a_poll_is_its_reservation(
    db: asyncpg.Pool,
    clients: Beds24Bookings,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
    reference_kept: bool,
) -> None:
    """Our create's answer was lost and no webhook came: the poll's copy names the
    reservation, by apiReference or, where Beds24 drops that on API writes, by info item."""
    hotel, beds24 = site
    await beds24_sandbox.configure(api_reference_writable=reference_kept)
    reservation_id = await pms_reservation(db, hotel)
    await outbound_create_sent(db, reservation_id)
    item = reference_info_item(reservation_id)
    async with Beds24Client(beds24_sandbox.url, beds24.account.refresh_token) as client:
        [result] = await client.write_bookings(
            [
                {
                    "roomId": beds24.room_ids[0],
                    "arrival": "2031-06-01",
                    "departure": "2031-06-04",
                    "lastName": "Hopper",
                    "apiReference": item["text"],
                    "infoItems": [item],
                }
            ]
        )
    assert result.success and result.id is not None
    assert ((await beds24_sandbox.booking(result.id))["apiReference"] != "") is reference_kept

    assert await poller(db, clients).poll_property(hotel.property_id) == 1
    async with db.acquire() as conn:
        event_id = await conn.fetchval("SELECT id FROM channel_events WHERE direction = 'inbound'")
        [event] = await ChannelEventRepository().get_many(conn, [event_id])
    await InboundHandler(db, clients)(EventMessage.for_event(event))

    [r] = await reservations(db)
    assert (r["id"], r["beds24_booking_id"]) == (reservation_id, result.id)
    assert (await event_row(db, event_id))["outcome_note"].startswith("adopted as reservation")


def polled(booking: str) -> float:
    found = REGISTRY.get_sample_value("inbound_worker_polled_events_total", {"booking": booking})
    return found or 0.0


async def test_versions_of_bookings_the_pms_holds_are_no_alarm_a_new_booking_is(
    db: asyncpg.Pool,
    clients: Beds24Bookings,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Beds24 sends no webhook for API writes: a poll after our own writes finds versions of
    bookings the PMS holds. Those are logged as information; a booking the PMS does not
    hold (a webhook surely lost) is a warning. Both are recorded and counted apart."""
    hotel, beds24 = site
    held = await beds24_sandbox.guest_booking(beds24.room_ids[0], ARRIVAL, DEPARTURE)
    reservation_id = await pms_reservation(db, hotel)
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE reservations SET beds24_booking_id = $2 WHERE id = $1",
            reservation_id,
            held["id"],
        )
    known, new = polled("known"), polled("new")
    caplog.set_level(logging.INFO, logger="inbound_worker.poller")

    assert await poller(db, clients).poll_property(hotel.property_id) == 1
    [quiet] = [r for r in caplog.records if r.name == "inbound_worker.poller"]
    assert quiet.levelno == logging.INFO
    assert (polled("known") - known, polled("new") - new) == (1, 0)

    caplog.clear()
    await beds24_sandbox.guest_booking(beds24.room_ids[0], ARRIVAL, DEPARTURE)
    assert await poller(db, clients).poll_property(hotel.property_id, force=True) == 1
    [alarm] = [r for r in caplog.records if r.name == "inbound_worker.poller"]
    assert alarm.levelno == logging.WARNING
    assert "1 of them of bookings the PMS did not hold" in alarm.getMessage()
    assert (polled("known") - known, polled("new") - new) == (1, 1)


async def test_a_version_the_pms_holds_as_it_is_is_not_recorded_a_changed_one_is(
    db: asyncpg.Pool,
    clients: Beds24Bookings,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
) -> None:
    """Our own writes come back to every poll (Beds24 sends no webhook for them): a version
    whose every value the PMS holds would change nothing, so it costs no event; a version
    with a value the PMS lacks is recorded and applied."""
    hotel, beds24 = site
    booking = await beds24_sandbox.guest_booking(beds24.room_ids[0], ARRIVAL, DEPARTURE, numAdult=2)
    assert await poller(db, clients).poll_property(hotel.property_id) == 1
    async with db.acquire() as conn:
        event_id = await conn.fetchval("SELECT id FROM channel_events WHERE direction = 'inbound'")
        [event] = await ChannelEventRepository().get_many(conn, [event_id])
    await InboundHandler(db, clients)(EventMessage.for_event(event))
    assert [r["adults"] for r in await reservations(db)] == [2]

    # A new version (Beds24 stamps it anew; its content hash differs by that field alone
    # being rewritten or not), with every value the PMS holds.
    await beds24_sandbox.modify_guest_booking(booking["id"], numAdult=2, flagText="vip")
    assert await poller(db, clients).poll_property(hotel.property_id, force=True) == 0

    changed = await beds24_sandbox.modify_guest_booking(booking["id"], numAdult=3)
    assert await poller(db, clients).poll_property(hotel.property_id, force=True) == 1
    assert booking_event_key(hotel.property_id, changed) in await inbound_keys(db)


async def test_properties_connected_apart_are_polled_together_from_then_on(
    db: asyncpg.Pool,
    clients: Beds24Bookings,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
) -> None:
    """An account's properties connected at different moments fall due at different moments;
    polled one by one they would each cost a search every interval. Once one is due, the
    account's search takes them all, and they share one last poll from then on."""
    hotel, beds24 = site
    assert await poller(db, clients).poll_due() == 1  # the first property, alone so far
    later, _, later_beds24_id = await another_property(db, beds24_sandbox, beds24)
    await beds24_sandbox.guest_booking(beds24.room_ids[0], ARRIVAL, DEPARTURE)
    await beds24_sandbox.clear_calls()

    assert await poller(db, clients).poll_due() == 2  # the new one is due: both go

    [search] = await beds24_sandbox.calls(method="GET", path="/bookings")
    assert str(beds24.id) in search["query"] and str(later_beds24_id) in search["query"]
    assert await last_polled(db, hotel) == await last_polled(db, later)
    assert len(await inbound_keys(db)) == 1  # the booking the first poll could not see
    assert await poller(db, clients).poll_due() == 0


@pytest.mark.parametrize("changed_in_beds24", [False, True], ids=["as_sent", "changed"])
async def test_our_own_create_found_by_a_poll_costs_no_event_unless_beds24_changed_it(
    db: asyncpg.Pool,
    clients: Beds24Bookings,
    beds24_sandbox: SandboxHandle,
    site: tuple[Hotel, SandboxProperty],
    changed_in_beds24: bool,
) -> None:
    """A booking the outbound worker created comes back to the next poll with what Beds24
    adds to it (its channel label, our reference, no price, the room we sent): the PMS holds
    it as it is. Changed in Beds24 meanwhile, it is news and is recorded."""
    hotel, beds24 = site
    reservation_id = await pms_reservation(db, hotel)
    reference = reference_info_item(reservation_id)["text"]
    async with Beds24Client(beds24_sandbox.url, beds24.account.refresh_token) as client:
        [result] = await client.write_bookings(
            [
                {
                    "roomId": beds24.room_ids[0],
                    "arrival": "2031-06-01",
                    "departure": "2031-06-04",
                    "numAdult": 2,
                    "lastName": "Hopper",
                    "apiReference": reference,
                }
            ]
        )
    assert result.success and result.id is not None
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE reservations SET beds24_booking_id = $2 WHERE id = $1",
            reservation_id,
            result.id,
        )
    if changed_in_beds24:
        await beds24_sandbox.modify_guest_booking(result.id, numAdult=3)

    recorded = await poller(db, clients).poll_property(hotel.property_id)

    assert recorded == (1 if changed_in_beds24 else 0)
