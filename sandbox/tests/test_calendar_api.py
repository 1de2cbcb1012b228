"""Calendar and properties: inventory is quantity minus active bookings, a pushed numAvail
is capped by it, include flags decide what comes back."""

from __future__ import annotations

import pytest
from beds24_sandbox.handle import ApiSession as Api
from beds24_sandbox.handle import SandboxHandle


def rng(start: str, end: str, **values: object) -> dict[str, object]:
    return {"from": start, "to": end, **values}


async def calendar(api: Api, room_id: int, start: str, end: str, **flags: str) -> list[dict]:
    params = {"roomId": room_id, "startDate": start, "endDate": end, **flags}
    body = (await api.http.get("/inventory/rooms/calendar", params=params)).json()
    assert body["success"] is True and body["type"] == "calendar"
    return list(body["data"][0]["calendar"])


async def test_without_include_flags_calendar_is_empty(api: Api) -> None:
    assert await calendar(api, api.prop.room_ids[0], "2031-01-01", "2031-01-03") == []


async def test_num_avail_is_capped_by_quantity_minus_bookings(
    api: Api, beds24_sandbox: SandboxHandle
) -> None:
    double = api.prop.room_ids[0]  # qty 2
    pushed = await api.http.post(
        "/inventory/rooms/calendar",
        json=[{"roomId": double, "calendar": [rng("2031-01-01", "2031-01-04", numAvail=5)]}],
    )
    assert pushed.status_code == 201 and pushed.json()[0]["success"] is True
    guest = await beds24_sandbox.guest_booking(double, "2031-01-02", "2031-01-04")
    flags = {"includeNumAvail": "true"}
    assert await calendar(api, double, "2031-01-01", "2031-01-05", **flags) == [
        rng("2031-01-01", "2031-01-01", numAvail=2),
        rng("2031-01-02", "2031-01-03", numAvail=1),
        rng("2031-01-04", "2031-01-05", numAvail=2),
    ]
    await api.http.post(
        "/inventory/rooms/calendar",
        json=[{"roomId": double, "calendar": [rng("2031-01-02", "2031-01-02", numAvail=0)]}],
    )
    await beds24_sandbox.cancel_guest_booking(guest["id"])
    assert await calendar(api, double, "2031-01-01", "2031-01-03", **flags) == [
        rng("2031-01-01", "2031-01-01", numAvail=2),
        rng("2031-01-02", "2031-01-02", numAvail=0),
        rng("2031-01-03", "2031-01-03", numAvail=2),
    ]


async def test_null_removes_a_setting_and_prices_need_their_flag(api: Api) -> None:
    room = api.prop.room_ids[1]
    await api.http.post(
        "/inventory/rooms/calendar",
        json=[
            {"roomId": room, "calendar": [rng("2031-02-01", "2031-02-03", minStay=2, price1=80)]}
        ],
    )
    await api.http.post(
        "/inventory/rooms/calendar",
        json=[{"roomId": room, "calendar": [rng("2031-02-03", "2031-02-03", minStay=None)]}],
    )
    got = await calendar(
        api, room, "2031-02-01", "2031-02-03", includeMinStay="true", includePrices="true"
    )
    assert got == [
        rng("2031-02-01", "2031-02-02", minStay=2, price1=80),
        rng("2031-02-03", "2031-02-03", minStay=1, price1=80),  # unset: the room's own
    ]


async def test_no_price_shows_zero_when_configured(api: Api, beds24_sandbox: SandboxHandle) -> None:
    await beds24_sandbox.configure(zero_without_price=True)
    room = api.prop.room_ids[0]
    await api.http.post(
        "/inventory/rooms/calendar",
        json=[{"roomId": room, "calendar": [rng("2031-03-01", "2031-03-01", price1=99)]}],
    )
    assert await calendar(api, room, "2031-03-01", "2031-03-02", includeNumAvail="true") == [
        rng("2031-03-01", "2031-03-01", numAvail=2),
        rng("2031-03-02", "2031-03-02", numAvail=0),
    ]


async def test_bad_calendar_items_fail_per_item(api: Api) -> None:
    room = api.prop.room_ids[0]
    answer = await api.http.post(
        "/inventory/rooms/calendar",
        json=[
            {"roomId": 1, "calendar": [rng("2031-01-01", "2031-01-01", numAvail=1)]},
            {"roomId": room, "calendar": [rng("2031-01-05", "2031-01-01", numAvail=1)]},
            {"roomId": room, "calendar": [rng("2031-01-01", "2031-01-01", numAvail=-1)]},
            {"roomId": room, "calendar": [rng("2031-01-01", "2031-01-01", colour="red")]},
            {"roomId": room, "calendar": [rng("2031-01-01", "2031-01-01", numAvail=1)]},
        ],
    )
    assert answer.status_code == 201
    assert [r["success"] for r in answer.json()] == [False, False, False, False, True]
    assert (await api.http.get("/inventory/rooms/calendar?roomId=1,2")).status_code == 400
    no_end = await api.http.get("/inventory/rooms/calendar", params={"startDate": "2031-01-01"})
    assert no_end.status_code == 400 and "required" in no_end.json()["error"]


async def test_properties_with_and_without_rooms(api: Api) -> None:
    body = (await api.http.get("/properties", params={"includeAllRooms": "true"})).json()
    assert (body["success"], body["type"], body["count"]) == (True, "property", 1)
    rooms = body["data"][0]["roomTypes"]
    assert [(r["name"], r["qty"], [u["id"] for u in r["units"]]) for r in rooms] == [
        ("Double", 2, [1, 2]),
        ("Single", 1, [1]),
    ]
    plain = (await api.http.get("/properties")).json()["data"][0]
    assert "roomTypes" not in plain
    bare = await api.http.get("/properties/rooms")
    assert bare.status_code == 500 and bare.text == "Internal Server Error"


async def test_availability_is_read_only(api: Api) -> None:
    got = await api.http.get(
        "/inventory/rooms/availability", params={"startDate": "2031-01-01", "endDate": "2031-01-02"}
    )
    assert got.json()["data"][0]["availability"] == {"2031-01-01": True, "2031-01-02": True}
    assert (await api.http.post("/inventory/rooms/availability", json=[])).status_code == 405


async def post_calendar(api: Api, room_id: int, *ranges: dict[str, object]) -> dict[str, object]:
    answer = await api.http.post(
        "/inventory/rooms/calendar", json=[{"roomId": room_id, "calendar": list(ranges)}]
    )
    assert answer.status_code == 201
    result: dict[str, object] = answer.json()[0]
    return result


async def test_overrides_are_the_official_values(api: Api) -> None:
    room = api.prop.room_ids[0]
    day = rng("2031-04-01", "2031-04-01", override="noCheckInOrCheckOut")
    assert (await post_calendar(api, room, day))["success"] is True
    invented = await post_calendar(api, room, {**day, "override": "noCheckInOut"})
    assert invented["success"] is False
    got = await calendar(api, room, "2031-04-01", "2031-04-01", includeOverride="true")
    assert got == [day]


async def test_unset_stay_limits_read_as_the_rooms_own(beds24_sandbox: SandboxHandle) -> None:
    prop = await beds24_sandbox.seed(
        rooms=[{"name": "Suite", "qty": 1, "minStay": 2, "maxStay": 9}]
    )
    room = prop.room_ids[0]
    async with beds24_sandbox.api_session(prop) as api:
        await post_calendar(api, room, rng("2031-05-02", "2031-05-02", minStay=3))
        flags = {"includeMinStay": "true", "includeMaxStay": "true", "includeMultiplier": "true"}
        assert await calendar(api, room, "2031-05-01", "2031-05-02", **flags) == [
            rng("2031-05-01", "2031-05-01", minStay=2, maxStay=9, multiplier=1),
            rng("2031-05-02", "2031-05-02", minStay=3, maxStay=9, multiplier=1),
        ]


async def test_overbooked_night_shows_negative_availability(
    api: Api, beds24_sandbox: SandboxHandle
) -> None:
    single = api.prop.room_ids[1]
    for _ in range(2):
        await beds24_sandbox.guest_booking(single, "2031-06-01", "2031-06-02")
    flags = {"includeNumAvail": "true"}
    assert await calendar(api, single, "2031-06-01", "2031-06-01", **flags) == [
        rng("2031-06-01", "2031-06-01", numAvail=-1)
    ]


async def test_blackout_is_unavailable_and_lifting_it_restores_the_count(api: Api) -> None:
    double = api.prop.room_ids[0]
    await post_calendar(api, double, rng("2031-07-01", "2031-07-02", numAvail=1))
    await post_calendar(api, double, rng("2031-07-01", "2031-07-02", override="blackout"))
    flags = {"includeNumAvail": "true", "includeOverride": "true"}
    assert await calendar(api, double, "2031-07-01", "2031-07-02", **flags) == [
        rng("2031-07-01", "2031-07-02", numAvail=0, override="blackout")
    ]
    params = {"roomId": double, "startDate": "2031-07-01", "endDate": "2031-07-01"}
    answer = await api.http.get("/inventory/rooms/availability", params=params)
    assert answer.json()["data"][0]["availability"] == {"2031-07-01": False}
    await post_calendar(api, double, rng("2031-07-01", "2031-07-01", override="none"))
    await post_calendar(api, double, rng("2031-07-02", "2031-07-02", override="none", numAvail=1))
    assert await calendar(api, double, "2031-07-01", "2031-07-02", **flags) == [
        rng("2031-07-01", "2031-07-01", numAvail=2, override="none"),
        rng("2031-07-02", "2031-07-02", numAvail=1, override="none"),
    ]


async def test_channel_limits_are_kept_shown_and_enforced(
    api: Api, beds24_sandbox: SandboxHandle
) -> None:
    double = api.prop.room_ids[0]
    limited = rng("2031-08-01", "2031-08-02", channels={"booking": {"maxBookings": 1}})
    assert (await post_calendar(api, double, limited))["success"] is True
    flags = {"includeChannels": "true"}
    assert await calendar(api, double, "2031-08-01", "2031-08-02", **flags) == [limited]
    await beds24_sandbox.guest_booking(double, "2031-08-01", "2031-08-02")
    with pytest.raises(AssertionError, match="maxBookings"):  # the control API answers 400
        await beds24_sandbox.guest_booking(double, "2031-07-31", "2031-08-02")
    airbnb = await beds24_sandbox.guest_booking(
        double, "2031-07-31", "2031-08-02", channel="airbnb"
    )
    assert airbnb["channel"] == "airbnb", "other channels are not limited"
    lifted = rng("2031-08-01", "2031-08-02", channels={"booking": {"maxBookings": None}})
    await post_calendar(api, double, lifted)
    assert await calendar(api, double, "2031-08-01", "2031-08-02", **flags) == [
        rng("2031-08-01", "2031-08-02")
    ]
    bad = rng("2031-08-01", "2031-08-01", channels={"pigeon": {"maxBookings": 1}})
    assert (await post_calendar(api, double, bad))["success"] is False


async def test_availability_honours_property_id(api: Api, beds24_sandbox: SandboxHandle) -> None:
    params = {"startDate": "2031-01-01", "endDate": "2031-01-01"}
    mine = await api.http.get(
        "/inventory/rooms/availability", params={**params, "propertyId": api.prop.id}
    )
    assert [r["roomId"] for r in mine.json()["data"]] == api.prop.room_ids
    elsewhere = await api.http.get(
        "/inventory/rooms/availability", params={**params, "propertyId": 1}
    )
    assert elsewhere.json()["data"] == []


async def test_the_control_calendar_shows_every_field_without_spending_credits(
    api: Api, beds24_sandbox: SandboxHandle
) -> None:
    room = api.prop.room_ids[0]
    await api.http.post(
        "/inventory/rooms/calendar",
        json=[
            {
                "roomId": room,
                "calendar": [rng("2031-04-02", "2031-04-02", price1=95, override="noCheckIn")],
            }
        ],
    )
    before = await beds24_sandbox.credits(api.prop.account.account_id)

    days = await beds24_sandbox.calendar(api.prop.id, room, "2031-04-01", "2031-04-02")

    assert [d["date"] for d in days] == ["2031-04-01", "2031-04-02"]
    assert (days[1]["price1"], days[1]["override"], days[0]["override"]) == (
        95,
        "noCheckIn",
        "none",
    )
    assert days[0]["numAvail"] == days[1]["numAvail"] > 0
    after = await beds24_sandbox.credits(api.prop.account.account_id)
    assert after["remaining"] == before["remaining"]
