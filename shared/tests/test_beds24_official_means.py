"""The client uses what the official API offers: its booking filters (`searchString`,
`apiReference`, `filter`, `channel`, exact dates, `masterId`), `includeInfoItems` and
`includeBookingGroup`, info items by id (our reference is never duplicated), and all four
credit headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from channel_sync.beds24 import Beds24Client
from channel_sync.beds24.info_items import info_items_with_code, keep_one_info_item

SOON = date.today() + timedelta(days=30)
LATER = SOON + timedelta(days=2)


@pytest.fixture
async def prop(beds24_sandbox: SandboxHandle) -> SandboxProperty:
    return await beds24_sandbox.seed(rooms=[{"name": "Double", "qty": 3}])


@pytest.fixture
async def client(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty
) -> AsyncIterator[Beds24Client]:
    async with Beds24Client(beds24_sandbox.url, prop.account.refresh_token) as client:
        yield client


def _stay(room_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "roomId": room_id,
        "arrival": SOON.isoformat(),
        "departure": LATER.isoformat(),
        **fields,
    }


async def test_official_filters_narrow_the_search(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty, client: Beds24Client
) -> None:
    room = prop.room_ids[0]
    mine = await client.write_bookings(
        [_stay(room, lastName="Lima", apiReference="PMS-1"), _stay(room, lastName="Berg")]
    )
    ota = await beds24_sandbox.guest_booking(room, SOON, SOON + timedelta(days=1))
    ids = [r.id for r in mine]
    assert [b["id"] for b in await client.get_bookings(search="lima")] == ids[:1]
    assert [b["id"] for b in await client.get_bookings(api_reference="PMS-1")] == ids[:1]
    assert [b["id"] for b in await client.get_bookings(channel="booking")] == [ota["id"]]
    assert [b["id"] for b in await client.get_bookings(departure=LATER)] == ids
    assert [b["id"] for b in await client.get_bookings(arrival=SOON)] == [*ids, ota["id"]]
    assert await client.get_bookings(booking_filter="arrivals") == []


async def test_groups_come_with_include_booking_group(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty, client: Beds24Client
) -> None:
    made = await beds24_sandbox.guest_group(
        [{"roomId": prop.room_ids[0]}, {"roomId": prop.room_ids[0]}], SOON, LATER
    )
    master = made[0]["id"]
    found = await client.get_bookings(master_ids=[master], include_booking_group=True)
    assert [b["bookingGroup"] for b in found] == [
        {"master": master, "ids": [master, made[1]["id"]]}
    ] * 2
    assert "bookingGroup" not in (await client.get_bookings())[0]


async def test_reference_item_is_kept_single_by_id(
    prop: SandboxProperty, client: Beds24Client
) -> None:
    reference = {"code": "PMSREF", "text": "pms-1"}
    item = _stay(prop.room_ids[0], apiReference="pms-1", infoItems=[reference])
    created = (await client.write_bookings([item]))[0]
    # An older writer sent the item again on a modify: Beds24 added a second copy.
    await client.write_bookings([{"id": created.id, "infoItems": [reference]}])

    async def items() -> list[dict[str, Any]]:
        (booking,) = await client.get_bookings(ids=[created.id], include_info_items=True)
        return info_items_with_code(booking, "PMSREF")

    assert len(await items()) == 2
    (booking,) = await client.find_bookings_by_reference("pms-1")  # info items come with it
    patch = keep_one_info_item(booking, "PMSREF", "pms-1")
    assert patch == [{"id": (await items())[1]["id"]}], "the copy is deleted by its id"
    await client.write_bookings([{"id": created.id, "infoItems": patch}])
    assert [i["text"] for i in await items()] == ["pms-1"]
    assert keep_one_info_item({"infoItems": await items()}, "PMSREF", "pms-1") == []


def test_keep_one_info_item_adds_or_rewrites() -> None:
    assert keep_one_info_item({}, "PMSREF", "pms-1") == [{"code": "PMSREF", "text": "pms-1"}]
    other = {"infoItems": [{"id": 7, "code": "PMSREF", "text": "pms-0"}, {"id": 8, "code": "X"}]}
    assert keep_one_info_item(other, "PMSREF", "pms-1") == [
        {"id": 7, "code": "PMSREF", "text": "pms-1"}
    ]


async def test_all_four_credit_headers_are_read(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty, client: Beds24Client
) -> None:
    await beds24_sandbox.configure(credit_headers="openapi")
    await client.get_properties()
    assert client.credits is not None
    assert client.credits.limit == Decimal(100)
    assert client.credits.request_cost is not None and client.credits.remaining < 100
