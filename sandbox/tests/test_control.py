"""Control API: input checked, raw state visible, reset, and state safe under concurrency."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx
import pytest
from beds24_sandbox.handle import ApiSession as Api
from beds24_sandbox.handle import SandboxHandle

ARRIVAL = date.today() + timedelta(days=12)


async def test_bad_control_input_gets_json_errors(beds24_sandbox: SandboxHandle) -> None:
    control = beds24_sandbox.control_url
    async with httpx.AsyncClient() as http:
        cases = [
            ("POST", "/accounts", b"{not json", 400),
            ("POST", "/accounts", b"[]", 400),
            ("POST", "/properties", b'{"account_id": 999}', 400),
            ("GET", "/accounts/999/credits", None, 404),
            ("GET", "/accounts/abc/credits", None, 404),
            ("POST", "/guest-bookings", b'{"roomId": 1, "arrival": "2031-01-01"}', 400),
            ("PATCH", "/guest-bookings/123", b"{}", 404),
            ("POST", "/config", b'{"colour": "red"}', 400),
            ("POST", "/webhooks/replay", b'{"booking_id": 1}', 404),
        ]
        for method, path, body, status in cases:
            answer = await http.request(method, control + path, content=body)
            assert answer.status_code == status, (method, path, answer.text)
            assert "error" in answer.json()


async def test_raw_state_includes_cancelled_and_reset_clears(
    beds24_sandbox: SandboxHandle,
) -> None:
    prop = await beds24_sandbox.seed()
    booking = await beds24_sandbox.guest_booking(
        prop.room_ids[0], ARRIVAL, ARRIVAL + timedelta(days=1)
    )
    assert booking["apiReference"].startswith("BDC-") and booking["channel"] == "booking"
    await beds24_sandbox.cancel_guest_booking(booking["id"])
    stored = await beds24_sandbox.bookings(prop.id)
    assert [b["status"] for b in stored] == ["cancelled"]
    assert (await beds24_sandbox.booking(booking["id"]))["cancelTime"] is not None
    await beds24_sandbox.reset()
    assert await beds24_sandbox.bookings() == []
    assert await beds24_sandbox.calls() == []


async def test_a_frozen_modified_time_gives_two_versions_one_stamp(
    beds24_sandbox: SandboxHandle,
) -> None:
    prop = await beds24_sandbox.seed()
    booking = await beds24_sandbox.guest_booking(
        prop.room_ids[0], ARRIVAL, ARRIVAL + timedelta(days=1)
    )
    await beds24_sandbox.configure(frozen_modified_time="2031-01-02T03:04:05Z")
    changed = await beds24_sandbox.modify_guest_booking(booking["id"], numAdult=4)
    cancelled = await beds24_sandbox.cancel_guest_booking(booking["id"])
    assert changed["modifiedTime"] == cancelled["modifiedTime"] == "2031-01-02T03:04:05Z"
    assert cancelled["status"] == "cancelled"

    await beds24_sandbox.configure(frozen_modified_time=None)
    again = await beds24_sandbox.modify_guest_booking(booking["id"], numAdult=5)
    assert again["modifiedTime"] != cancelled["modifiedTime"]
    with pytest.raises(AssertionError, match="answered 400"):
        await beds24_sandbox.configure(frozen_modified_time="soon")


async def test_property_webhook_settings_can_change(beds24_sandbox: SandboxHandle) -> None:
    prop = await beds24_sandbox.seed()
    changed = await beds24_sandbox.update_property(
        prop.id, webhook={"urls": ["http://x.invalid/hook"], "version": "one"}
    )
    assert changed["webhook"] == {
        "urls": ["http://x.invalid/hook"],
        "custom_header": "",
        "version": "one",
    }


async def test_concurrent_checked_creates_never_overbook(
    api: Api, beds24_sandbox: SandboxHandle
) -> None:
    double = api.prop.room_ids[0]  # qty 2
    item = {
        "roomId": double,
        "arrival": ARRIVAL.isoformat(),
        "departure": (ARRIVAL + timedelta(days=2)).isoformat(),
        "actions": {"checkAvailability": True},
    }
    answers = await asyncio.gather(*(api.http.post("/bookings", json=[item]) for _ in range(20)))
    outcomes = [a.json()[0]["success"] for a in answers]
    assert outcomes.count(True) == 2
    assert len(await beds24_sandbox.bookings()) == 2
    units = sorted(b["unitId"] for b in await beds24_sandbox.bookings())
    assert units == [1, 2], "each booking got its own unit"


async def test_calls_are_logged_with_cost_and_items(
    api: Api, beds24_sandbox: SandboxHandle
) -> None:
    await api.http.post(
        "/bookings", json=[{"id": 1}, {"id": 2}], headers={"X-Idempotency-Key": "k1"}
    )
    call = (await beds24_sandbox.calls(method="POST"))[0]
    assert (call["path"], call["status"], call["items"], call["cost"]) == (
        "/bookings",
        201,
        2,
        1.02,
    )
    assert call["idempotency_key"] == "k1"
    await beds24_sandbox.clear_calls()
    assert await beds24_sandbox.calls() == []
