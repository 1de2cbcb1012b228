"""Calendar: ranges compressed from days, one batched POST, GET with include flags, and
inventory capped by bookings; properties with their rooms."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from channel_sync.beds24 import Beds24Client, calendar_item, compress_calendar

D = date(2031, 5, 1)


def day(n: int) -> date:
    return D + timedelta(days=n)


def test_compress_joins_equal_consecutive_days() -> None:
    days = {
        day(0): {"numAvail": 1},
        day(1): {"numAvail": 1},
        day(2): {"numAvail": 0},
        day(3): {"numAvail": 0},
        day(5): {"numAvail": 0},
        day(6): {"numAvail": 0},
    }
    assert compress_calendar(days) == [
        {"from": "2031-05-01", "to": "2031-05-02", "numAvail": 1},
        {"from": "2031-05-03", "to": "2031-05-04", "numAvail": 0},
        {"from": "2031-05-06", "to": "2031-05-07", "numAvail": 0},  # a gap breaks a run
    ]
    assert Beds24Client.compress_calendar({}) == []


def test_compress_is_order_free_and_keeps_nulls() -> None:
    days = {
        day(2): {"minStay": None, "price1": 90},
        day(0): {"minStay": 2, "price1": 90},
        day(1): {"minStay": 2, "price1": 90},
    }
    assert compress_calendar(days) == [
        {"from": "2031-05-01", "to": "2031-05-02", "minStay": 2, "price1": 90},
        {"from": "2031-05-03", "to": "2031-05-03", "minStay": None, "price1": 90},
    ]


@pytest.fixture
async def prop(beds24_sandbox: SandboxHandle) -> SandboxProperty:
    return await beds24_sandbox.seed(
        rooms=[{"name": "Double", "qty": 2}, {"name": "Suite", "qty": 1}]
    )


@pytest.fixture
async def client(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty
) -> AsyncIterator[Beds24Client]:
    async with Beds24Client(beds24_sandbox.url, prop.account.refresh_token) as client:
        yield client


async def test_write_then_read_calendar_capped_by_bookings(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty, client: Beds24Client
) -> None:
    double, suite = prop.room_ids
    await beds24_sandbox.guest_booking(double, day(1), day(3))  # holds nights 1 and 2
    days = {day(n): {"numAvail": 2, "price1": 100} for n in range(5)}
    results = await client.write_calendar(
        [calendar_item(double, days), calendar_item(suite, {day(0): {"numAvail": 0}})],
        idempotency_key="cal-1",
    )
    assert [r.success for r in results] == [True, True]
    posts = await beds24_sandbox.calls(method="POST", path="/inventory/rooms/calendar")
    assert len(posts) == 1 and posts[0]["items"] == 2

    got = await client.get_calendar([double, suite], day(0), day(4), include_prices=True)
    by_room = {r["roomId"]: r["calendar"] for r in got}
    assert by_room[double] == [
        {"from": "2031-05-01", "to": "2031-05-01", "numAvail": 2, "price1": 100},
        {"from": "2031-05-02", "to": "2031-05-03", "numAvail": 1, "price1": 100},
        {"from": "2031-05-04", "to": "2031-05-05", "numAvail": 2, "price1": 100},
    ]
    assert by_room[suite] == [
        {"from": "2031-05-01", "to": "2031-05-01", "numAvail": 0},
        {"from": "2031-05-02", "to": "2031-05-05", "numAvail": 1},
    ]


async def test_calendar_item_refusal_is_per_item(
    prop: SandboxProperty, client: Beds24Client
) -> None:
    results = await client.write_calendar(
        [
            {"roomId": 1, "calendar": [{"from": "2031-05-01", "to": "2031-05-01", "numAvail": 1}]},
            calendar_item(prop.room_ids[0], {day(0): {"minStay": 3}}),
        ]
    )
    assert [r.success for r in results] == [False, True]
    assert "roomId" in results[0].errors[0]
    got = await client.get_calendar(
        [prop.room_ids[0]], day(0), day(0), include_num_avail=False, include_min_stay=True
    )
    assert got[0]["calendar"] == [{"from": "2031-05-01", "to": "2031-05-01", "minStay": 3}]


async def test_properties_with_rooms(prop: SandboxProperty, client: Beds24Client) -> None:
    found = await client.get_properties(ids=[prop.id])
    assert [(r["name"], r["qty"], len(r["units"])) for r in found[0]["roomTypes"]] == [
        ("Double", 2, 2),
        ("Suite", 1, 1),
    ]
    bare = await client.get_properties(include_all_rooms=False)
    assert "roomTypes" not in bare[0]
