"""Injected faults: each kind's answer, counts, matching by method and path, clearing."""

from __future__ import annotations

import time
from datetime import date, timedelta

import httpx
import pytest
from beds24_sandbox.handle import ApiSession as Api
from beds24_sandbox.handle import SandboxHandle

ARRIVAL = date.today() + timedelta(days=9)
ITEM = {"arrival": ARRIVAL.isoformat(), "departure": (ARRIVAL + timedelta(days=1)).isoformat()}


async def test_http_500_for_the_next_n_matching_calls(
    api: Api, beds24_sandbox: SandboxHandle
) -> None:
    await beds24_sandbox.inject_fault("http_500", count=2, method="GET", path="/bookings")
    assert (await api.http.get("/properties")).status_code == 200, "other paths unaffected"
    assert (await api.http.post("/bookings", json=[])).status_code == 201, "other methods too"
    first = await api.http.get("/bookings")
    assert first.status_code == 500
    assert first.json() == {
        "success": False,
        "type": "error",
        "code": 500,
        "error": "Internal Server Error",
    }
    assert (await api.http.get("/bookings")).status_code == 500
    assert (await api.http.get("/bookings")).status_code == 200
    faulted = [c["fault"] for c in await beds24_sandbox.calls(path="/bookings", method="GET")]
    assert faulted == ["http_500", "http_500", None]


async def test_credits_fault_refuses_with_headers(api: Api, beds24_sandbox: SandboxHandle) -> None:
    await beds24_sandbox.inject_fault("credits")
    refused = await api.http.get("/properties")
    assert refused.status_code == 429 and refused.json()["code"] == 429
    assert "credit" in refused.json()["error"].lower()
    assert "x-five-min-limit-resets-in" in refused.headers


async def test_timeout_holds_the_call_then_504(api: Api, beds24_sandbox: SandboxHandle) -> None:
    await beds24_sandbox.inject_fault("timeout", delay_s=0.3, path="/properties")
    started = time.monotonic()
    answer = await api.http.get("/properties")
    assert answer.status_code == 504 and time.monotonic() - started >= 0.3


@pytest.mark.parametrize("kind", ["lost_response", "timeout"])
async def test_lost_answers_still_apply_the_write(
    api: Api, beds24_sandbox: SandboxHandle, kind: str
) -> None:
    await beds24_sandbox.inject_fault(
        kind, method="POST", path="/api/v2/bookings", apply=True, delay_s=5
    )
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadTimeout)):
        await api.http.post(
            "/bookings",
            json=[{**ITEM, "roomId": api.prop.room_ids[0]}],
            timeout=0.3 if kind == "timeout" else 10,
        )
    assert len(await beds24_sandbox.bookings()) == 1


async def test_timeout_without_apply_changes_nothing(
    api: Api, beds24_sandbox: SandboxHandle
) -> None:
    await beds24_sandbox.inject_fault("timeout", method="POST", delay_s=0.2)
    answer = await api.http.post("/bookings", json=[{**ITEM, "roomId": api.prop.room_ids[0]}])
    assert answer.status_code == 504
    assert await beds24_sandbox.bookings() == []


async def test_clear_faults_and_control_calls_never_match(
    api: Api, beds24_sandbox: SandboxHandle
) -> None:
    await beds24_sandbox.inject_fault("http_500", count=5)
    await beds24_sandbox.bookings()  # control API: no fault consumed
    await beds24_sandbox.clear_faults()
    assert (await api.http.get("/bookings")).status_code == 200


async def test_bad_fault_specs_are_refused(beds24_sandbox: SandboxHandle) -> None:
    async with httpx.AsyncClient() as http:
        for spec in (
            {"kind": "meteor"},
            {"kind": "http_500", "count": 0},
            {"kind": "http_500", "colour": "red"},
        ):
            answer = await http.post(f"{beds24_sandbox.control_url}/faults", json=spec)
            assert answer.status_code == 400 and "error" in answer.json()
