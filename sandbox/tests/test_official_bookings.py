"""`/bookings` as the official file describes it: every filter applied, booking groups,
info items with ids, `checkAvailability` on creates only, webhooks only for changes of
availability, enumerations never empty, OTA multi-room reservations."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
from beds24_sandbox.handle import ApiSession as Api
from beds24_sandbox.handle import SandboxHandle
from beds24_sandbox.receiver import WebhookReceiver
from channel_sync_testing.waiting import wait_for

TODAY = date.today()
SOON = TODAY + timedelta(days=30)


def stay(room_id: int, start: date = SOON, nights: int = 2, **fields: Any) -> dict[str, Any]:
    return {
        "roomId": room_id,
        "arrival": start.isoformat(),
        "departure": (start + timedelta(days=nights)).isoformat(),
        **fields,
    }


async def post(api: Api, items: list[Any]) -> list[dict[str, Any]]:
    answer = await api.http.post("/bookings", json=items)
    assert answer.status_code == 201
    results: list[dict[str, Any]] = answer.json()
    return results


async def ids(api: Api, params: Any) -> list[int]:
    answer = await api.http.get("/bookings", params=params)
    assert answer.status_code == 200, answer.text
    return [b["id"] for b in answer.json()["data"]]


async def test_every_listed_filter_is_applied(api: Api, beds24_sandbox: SandboxHandle) -> None:
    double, single = api.prop.room_ids
    made = await post(
        api,
        [
            stay(double, firstName="Ana", lastName="Lima", email="ana@example.invalid"),
            stay(single, SOON + timedelta(days=5), apiReference="REF-B", lastName="Berg"),
            stay(double, TODAY, 1, lastName="Today"),
            stay(double, TODAY - timedelta(days=1), 1, lastName="Leaving"),
        ],
    )
    a, b, arriving, leaving = (r["new"]["id"] for r in made)
    ota = await beds24_sandbox.guest_booking(single, SOON, SOON + timedelta(days=1))
    every = {"arrivalFrom": "2000-01-01"}
    assert await ids(api, {"arrival": SOON.isoformat()}) == [a, ota["id"]]
    assert await ids(api, {"departure": (SOON + timedelta(days=7)).isoformat()}) == [b]
    assert await ids(api, {"channel": "booking"}) == [ota["id"]]
    assert await ids(api, {"channel": "direct"}) == [a, b, arriving, leaving]
    assert await ids(api, {"searchString": "ana lima"}) == [a]
    assert await ids(api, {"searchString": "ANA@example"}) == [a]
    assert await ids(api, {"searchString": "REF-B"}) == [b]
    assert await ids(api, {"searchString": str(b)}) == [b]
    assert await ids(api, [("apiReference", "REF-B"), ("apiReference", "nope")]) == [b]
    assert await ids(api, {"filter": "arrivals"}) == [arriving]
    assert await ids(api, {"filter": "departures"}) == [leaving]
    assert await ids(api, {"filter": "current"}) == [arriving, leaving]
    assert await ids(api, {"filter": "new"}) == [a, b, arriving, leaving, ota["id"]]
    assert await ids(api, {**every, "roomId": single}) == [b, ota["id"]]
    assert await ids(api, {**every, "propertyId": api.prop.id, "id": a}) == [a]
    await post(api, [{"id": a, "status": "cancelled"}])
    assert a not in await ids(api, every)
    assert await ids(api, [*every.items(), ("status", "cancelled")]) == [a]
    assert await ids(api, {"filter": "new"}) == [b, arriving, leaving, ota["id"]]
    for bad in ({"channel": "pigeon"}, {"filter": "someday"}, {"apiReference": "x,y"}):
        assert (await api.http.get("/bookings", params=bad)).status_code == 400, bad


async def test_include_flags_add_their_fields(api: Api) -> None:
    await post(api, [stay(api.prop.room_ids[0], infoItems=[{"code": "A", "text": "1"}])])
    plain = (await api.http.get("/bookings")).json()["data"][0]
    assert not {"infoItems", "invoiceItems", "bookingGroup", "guests"} & set(plain)
    flags = ("includeInfoItems", "includeInvoiceItems", "includeBookingGroup", "includeGuests")
    full = (await api.http.get("/bookings", params=dict.fromkeys(flags, "true"))).json()["data"][0]
    assert [i["code"] for i in full["infoItems"]] == ["A"]
    assert (full["invoiceItems"], full["bookingGroup"], full["guests"]) == ([], None, [])


async def test_enumerated_fields_carry_listed_values(
    api: Api, beds24_sandbox: SandboxHandle
) -> None:
    await post(api, [stay(api.prop.room_ids[0])])
    await beds24_sandbox.guest_booking(api.prop.room_ids[1], SOON, SOON + timedelta(days=1))
    own, ota = (await api.http.get("/bookings")).json()["data"]
    assert (own["channel"], own["subStatus"], own["lang"]) == ("direct", "none", "en")
    assert ota["channel"] == "booking"
    bad = await post(api, [stay(api.prop.room_ids[0], subStatus=""), stay(1, lang="xx")])
    assert [e["field"] for e in bad[0]["errors"]] == ["subStatus"]
    assert "lang" in [e["field"] for e in bad[1]["errors"]]


async def test_every_new_booking_field_is_stored_and_the_read_only_ones_shown(
    api: Api,
) -> None:
    """newBooking's fields are taken (none "ignored") and read back; nullable ones take
    null; the booking schema's read-only fields are shown and a write leaves them alone."""
    room = api.prop.room_ids[0]
    written = {
        "voucher": "V-1",
        "groupNote": "wedding party",
        "flagColor": "ff0000",
        "flagText": "VIP",
        "refererEditable": "phone",
        "rateDescription": "non-refundable",
        "invoiceeId": 1234567,
        "stripeToken": None,
        "pcibookingToken": None,
        "apiMessage": "made by the PMS",
        "country2": None,
    }
    made = await post(api, [stay(room, **written, statusCode=9, reference="R-9")])
    assert made[0]["success"] and not made[0].get("warnings"), made[0]
    booking = (await api.http.get("/bookings", params={"id": made[0]["new"]["id"]})).json()
    shown = booking["data"][0]
    assert {k: shown[k] for k in written} == written
    assert (shown["statusCode"], shown["offerId"], shown["reference"]) == (0, 0, "")
    assert shown["allowCancellation"]["type"] == "propertyDefault"
    assert shown["allowReview"] == "default"

    bad = await post(api, [stay(room, flagColor="red"), stay(room, invoiceeId="x")])
    assert [e["field"] for e in bad[0]["errors"]] == ["flagColor"]
    assert [e["field"] for e in bad[1]["errors"]] == ["invoiceeId"]


async def test_make_group_joins_the_new_bookings_of_one_call(api: Api) -> None:
    double, single = api.prop.room_ids
    group = {"actions": {"makeGroup": True}}
    made = await post(api, [stay(double, **group), stay(single, **group), stay(double)])
    first, second, alone = (r["new"]["id"] for r in made)
    params = {"includeBookingGroup": "true", "masterId": first}
    grouped = (await api.http.get("/bookings", params=params)).json()["data"]
    assert [b["id"] for b in grouped] == [first, second]
    assert all(b["masterId"] == first for b in grouped)
    assert grouped[1]["bookingGroup"] == {"master": first, "ids": [first, second]}
    await post(api, [{"id": alone, "masterId": first}, {"id": second, "masterId": None}])
    grouped = (await api.http.get("/bookings", params=params)).json()["data"]
    assert grouped[0]["bookingGroup"] == {"master": first, "ids": [first, alone]}
    refused = await post(api, [{"id": alone, "masterId": 1}])
    assert refused[0]["success"] is False and refused[0]["errors"][0]["field"] == "masterId"


async def test_info_items_are_added_modified_and_deleted_by_id(api: Api) -> None:
    made = await post(api, [stay(api.prop.room_ids[0], infoItems=[{"code": "REF", "text": "1"}])])
    booking_id = made[0]["new"]["id"]

    async def items() -> list[dict[str, Any]]:
        params = {"id": booking_id, "includeInfoItems": "true"}
        found: list[dict[str, Any]] = (await api.http.get("/bookings", params=params)).json()[
            "data"
        ][0]["infoItems"]
        return found

    (first,) = await items()
    assert (first["code"], first["text"], first["bookingId"]) == ("REF", "1", booking_id)
    assert isinstance(first["id"], int) and first["createTime"].endswith("Z")
    await post(api, [{"id": booking_id, "infoItems": [{"code": "REF", "text": "1"}]}])
    assert [i["text"] for i in await items()] == ["1", "1"], "without id an item is added"
    second = (await items())[1]["id"]
    await post(api, [{"id": booking_id, "infoItems": [{"id": first["id"], "text": "2"}]}])
    await post(api, [{"id": booking_id, "infoItems": [{"id": second}]}])
    assert [(i["id"], i["text"]) for i in await items()] == [(first["id"], "2")]
    unknown = await post(api, [{"id": booking_id, "infoItems": [{"id": 1, "text": "x"}]}])
    assert unknown[0]["success"] is False and unknown[0]["errors"][0]["field"] == "infoItems"


async def test_check_availability_refuses_creates_only(api: Api) -> None:
    single = api.prop.room_ids[1]
    check = {"actions": {"checkAvailability": True}}
    _, later = await post(api, [stay(single), stay(single, SOON + timedelta(days=10))])
    moved = await post(api, [{"id": later["new"]["id"], "arrival": SOON.isoformat(), **check}])
    assert moved[0]["success"] is True, "a modify is never refused for availability"
    refused = await post(api, [stay(single, **check)])
    assert refused[0]["success"] is False and "new" not in refused[0]


async def test_allow_webhooks_fires_only_for_availability_changes(
    beds24_sandbox: SandboxHandle, beds24_webhook_receiver: WebhookReceiver
) -> None:
    hook = beds24_webhook_receiver
    prop = await beds24_sandbox.seed(webhook={"urls": [hook.url]})
    allow = {"actions": {"allowWebhooks": True}}
    async with beds24_sandbox.api_session(prop) as api:
        made = await post(api, [stay(prop.room_ids[0], **allow)])
        booking_id = made[0]["new"]["id"]
        await post(api, [{"id": booking_id, "lastName": "Renamed", **allow}])
        await post(api, [{"id": booking_id, "status": "cancelled", **allow}])

    async def two() -> list[Any] | None:
        return list(hook.received) if len(hook.received) >= 2 else None

    first, second = await wait_for(two, timeout=5, what="two webhooks")
    assert first.body["booking"]["status"] == "confirmed"
    assert second.body["booking"]["status"] == "cancelled", "a name change fires nothing"

    # The sandbox logs a delivery once the receiver has answered, so the log can trail it.
    async def logged() -> list[dict[str, Any]] | None:
        found = await beds24_sandbox.webhooks(booking_id)
        return found if len(found) >= 2 else None

    assert len(await wait_for(logged, timeout=5, what="two logged deliveries")) == 2


async def test_control_api_makes_ota_multi_room_reservations(
    beds24_sandbox: SandboxHandle,
) -> None:
    prop = await beds24_sandbox.seed(rooms=[{"name": "Double", "qty": 3}])
    room = prop.room_ids[0]
    made = await beds24_sandbox.guest_group(
        [{"roomId": room}, {"roomId": room, "numAdult": 1}], SOON, SOON + timedelta(days=2)
    )
    master = made[0]["id"]
    assert [b["masterId"] for b in made] == [master, master]
    assert made[1]["bookingGroup"] == {"master": master, "ids": [b["id"] for b in made]}
    assert made[0]["apiReference"] == made[1]["apiReference"], "one OTA reservation code"
    quad = await beds24_sandbox.guest_booking(
        room, SOON + timedelta(days=5), SOON + timedelta(days=6), roomQty=2
    )
    assert quad["roomQty"] == 2
    async with beds24_sandbox.api_session(prop) as api:
        params = {
            "roomId": room,
            "startDate": SOON.isoformat(),
            "endDate": (SOON + timedelta(days=5)).isoformat(),
            "includeNumAvail": "true",
        }
        body = (await api.http.get("/inventory/rooms/calendar", params=params)).json()
    assert [r["numAvail"] for r in body["data"][0]["calendar"]] == [1, 3, 1]
    async with httpx.AsyncClient() as http:
        bad = await http.post(f"{beds24_sandbox.control_url}/guest-groups", json={"rooms": []})
    assert bad.status_code == 400
