"""Bookings paths with Beds24's pitfalls: hidden cancelled and past bookings, comma lists
refused, 201 with per-item failures, paging."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
from beds24_sandbox.handle import ApiSession as Api
from beds24_sandbox.handle import SandboxHandle

SOON = date.today() + timedelta(days=20)


def stay(room_id: int, offset: int = 0, nights: int = 2, **fields: Any) -> dict[str, Any]:
    arrival = SOON + timedelta(days=offset)
    return {
        "roomId": room_id,
        "arrival": arrival.isoformat(),
        "departure": (arrival + timedelta(days=nights)).isoformat(),
        **fields,
    }


async def post(api: Api, items: Any) -> httpx.Response:
    return await api.http.post("/bookings", json=items)


async def test_list_envelope_and_booking_fields(api: Api) -> None:
    await post(api, [stay(api.prop.room_ids[0], firstName="Ana", apiReference="R1")])
    body = (await api.http.get("/bookings")).json()
    assert set(body) == {"success", "type", "count", "pages", "data"}
    assert (body["success"], body["type"], body["count"]) == (True, "booking", 1)
    assert body["pages"] == {"nextPageExists": False, "nextPageLink": None}
    booking = body["data"][0]
    for name in (
        "id",
        "propertyId",
        "roomId",
        "unitId",
        "roomQty",
        "status",
        "subStatus",
        "arrival",
        "departure",
        "numAdult",
        "numChild",
        "firstName",
        "lastName",
        "email",
        "comments",
        "notes",
        "price",
        "channel",
        "apiReference",
        "masterId",
        "bookingTime",
        "modifiedTime",
        "cancelTime",
    ):
        assert name in booking, name
    assert "infoItems" not in booking, "only with includeInfoItems=true"
    with_info = (await api.http.get("/bookings", params={"includeInfoItems": "true"})).json()
    assert with_info["data"][0]["infoItems"] == []


async def test_cancelled_hidden_unless_status_listed(api: Api) -> None:
    results = await post(api, [stay(api.prop.room_ids[0]), stay(api.prop.room_ids[0], 4)])
    gone = results.json()[1]["new"]["id"]
    await post(api, [{"id": gone, "status": "cancelled"}])
    assert gone not in [b["id"] for b in (await api.http.get("/bookings")).json()["data"]]
    listed = await api.http.get("/bookings?status=confirmed&status=cancelled")
    assert len(listed.json()["data"]) == 2


async def test_past_stays_hidden_without_a_date_filter(api: Api) -> None:
    old = {"roomId": api.prop.room_ids[0], "arrival": "2021-03-01", "departure": "2021-03-03"}
    await post(api, [old, stay(api.prop.room_ids[0])])
    assert (await api.http.get("/bookings")).json()["count"] == 1
    everything = await api.http.get("/bookings", params={"arrivalFrom": "2000-01-01"})
    assert everything.json()["count"] == 2
    by_modified = await api.http.get("/bookings", params={"modifiedFrom": "2000-01-01T00:00:00"})
    assert by_modified.json()["count"] == 2


async def test_comma_lists_and_bad_values_get_400(api: Api) -> None:
    for query in (
        "status=new,cancelled",
        "id=1,2",
        "roomId=x",
        "arrivalFrom=tomorrow",
        "status=sideways",
        "page=0",
    ):
        answer = await api.http.get(f"/bookings?{query}")
        assert answer.status_code == 400, query
        body = answer.json()
        assert (body["success"], body["type"], body["code"]) == (False, "error", 400)
        assert body["error"]
    ignored = await api.http.get("/bookings?colour=blue")
    assert ignored.status_code == 200, "unknown parameters are silently ignored"


async def test_post_answers_201_with_a_result_per_item(api: Api) -> None:
    room = api.prop.room_ids[0]
    answer = await post(
        api,
        [
            stay(room, apiReference="OK-1"),
            stay(424242),
            {**stay(room), "departure": SOON.isoformat()},
            {"roomId": room, "arrival": SOON.isoformat()},
            stay(room, comments="x" * 1001),
            "not an object",
        ],
    )
    assert answer.status_code == 201
    results = answer.json()
    assert [r["success"] for r in results] == [True, False, False, False, False, False]
    assert set(results[0]["new"]) >= {"id", "roomId", "apiReference"}
    fields = [[e["field"] for e in r["errors"]] for r in results[1:]]
    assert fields == [["roomId"], ["departure"], ["departure"], ["comments"], ["item"]]
    assert all(set(e) == {"action", "field", "message"} for r in results[1:] for e in r["errors"])


async def test_body_must_be_an_array(api: Api) -> None:
    for body in ({"roomId": 1}, "x"):
        answer = await post(api, body)
        assert answer.status_code == 400 and answer.json()["type"] == "error"
    answer = await api.http.post("/bookings", content=b"{not json")
    assert answer.status_code == 400


async def test_modify_applies_good_fields_even_when_one_fails(api: Api) -> None:
    booking_id = (await post(api, [stay(api.prop.room_ids[0])])).json()[0]["new"]["id"]
    before = (await api.http.get("/bookings", params={"id": booking_id})).json()["data"][0]
    result = (await post(api, [{"id": booking_id, "numAdult": 3, "status": "sideways"}])).json()[0]
    assert result["success"] is False
    assert result["modified"] == {"id": booking_id, "numAdult": 3}
    after = (await api.http.get("/bookings", params={"id": booking_id})).json()["data"][0]
    assert (after["numAdult"], after["status"]) == (3, "confirmed")
    assert after["modifiedTime"] > before["modifiedTime"], "each change gets a later stamp"
    missing = (await post(api, [{"id": 1, "numAdult": 1}])).json()[0]
    assert missing["success"] is False and missing["errors"][0]["field"] == "id"


async def test_check_availability_refuses_a_full_room(api: Api) -> None:
    single = api.prop.room_ids[1]
    check = {"actions": {"checkAvailability": True}}
    results = (
        await post(api, [stay(single, **check), stay(single, 1, **check), stay(single, 2, **check)])
    ).json()
    assert [r["success"] for r in results] == [True, False, True]
    assert "availability" in results[1]["errors"][0]["message"]
    unchecked = (await post(api, [stay(single)])).json()[0]
    assert unchecked["success"] is True, "without checkAvailability Beds24 overbooks"


async def test_paging_with_next_page_link(api: Api, beds24_sandbox: SandboxHandle) -> None:
    await beds24_sandbox.configure(page_size=2)
    await post(api, [stay(api.prop.room_ids[0], i * 2) for i in range(5)])
    seen: list[int] = []
    url: str | None = f"/bookings?propertyId={api.prop.id}"
    while url:
        body = (await api.http.get(url)).json()
        seen += [b["id"] for b in body["data"]]
        assert body["count"] == len(body["data"])
        url = body["pages"]["nextPageLink"] if body["pages"]["nextPageExists"] else None
    assert len(seen) == 5 == len(set(seen))


async def test_delete_removes_bookings(api: Api, beds24_sandbox: SandboxHandle) -> None:
    booking_id = (await post(api, [stay(api.prop.room_ids[0])])).json()[0]["new"]["id"]
    answer = await api.http.delete("/bookings", params=[("id", booking_id), ("id", 7)])
    assert answer.status_code == 201, "officially 201 with one POST-style result per id"
    kept, missing = answer.json()
    assert kept["success"] is True and kept["info"][0]["action"] == "delete"
    assert missing["success"] is False and missing["errors"][0]["field"] == "id"
    assert await beds24_sandbox.bookings() == []
    assert (await api.http.delete("/bookings", params={"id": "1,2"})).status_code == 400


async def test_other_accounts_bookings_are_invisible(
    api: Api, beds24_sandbox: SandboxHandle
) -> None:
    other = await beds24_sandbox.seed()
    await beds24_sandbox.guest_booking(other.room_ids[0], SOON, SOON + timedelta(days=1))
    assert (await api.http.get("/bookings")).json()["count"] == 0
    refused = (await post(api, [stay(other.room_ids[0])])).json()[0]
    assert refused["success"] is False
