"""Booking webhooks: V2 body with the custom header, V1 pings, personal data left out on
request, late / duplicated / array-wrapped / dropped deliveries, retries, replays."""

from __future__ import annotations

import time
from datetime import date, timedelta

import httpx
import pytest
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from beds24_sandbox.receiver import Received, WebhookReceiver
from channel_sync_testing.waiting import wait_for

ARRIVAL = date.today() + timedelta(days=15)
DEPARTURE = ARRIVAL + timedelta(days=3)
HEADER = "Authorization: Bearer s3cret\nX-Extra: yes"


async def _seed(
    sandbox: SandboxHandle, hook: WebhookReceiver, version: str = "twoWithPersonalData"
) -> SandboxProperty:
    return await sandbox.seed(
        webhook={"urls": [hook.url], "custom_header": HEADER, "version": version}
    )


async def _received(hook: WebhookReceiver, count: int, timeout: float = 5) -> list[Received]:
    async def enough() -> list[Received] | None:
        return list(hook.received) if len(hook.received) >= count else None

    got = await wait_for(enough, timeout=timeout, what=f"{count} webhook(s)")
    return got[:count]


async def test_v2_webhook_for_new_modified_and_cancelled(
    beds24_sandbox: SandboxHandle, beds24_webhook_receiver: WebhookReceiver
) -> None:
    hook = beds24_webhook_receiver
    prop = await _seed(beds24_sandbox, hook)
    booking = await beds24_sandbox.guest_booking(
        prop.room_ids[0], ARRIVAL, DEPARTURE, firstName="Ana"
    )
    first = (await _received(hook, 1))[0]
    assert first.method == "POST"
    assert first.headers["authorization"] == "Bearer s3cret"
    assert first.headers["x-extra"] == "yes"
    assert set(first.body) == {
        "timeStamp",
        "booking",
        "infoItems",
        "invoiceItems",
        "messages",
        "retries",
    }
    assert first.body["booking"]["id"] == booking["id"]
    assert first.body["booking"]["firstName"] == "Ana"
    assert first.body["booking"]["status"] == "new"
    assert first.body["timeStamp"].endswith("Z")

    await beds24_sandbox.modify_guest_booking(booking["id"], numAdult=3)
    await beds24_sandbox.cancel_guest_booking(booking["id"])
    later = await _received(hook, 3)
    bodies = sorted((r.body["booking"] for r in later), key=lambda b: b["modifiedTime"])
    assert [b["status"] for b in bodies] == ["new", "new", "cancelled"]
    assert bodies[1]["numAdult"] == 3
    assert bodies[2]["cancelTime"] is not None
    assert len({b["modifiedTime"] for b in bodies}) == 3


async def test_no_personal_data_version(
    beds24_sandbox: SandboxHandle, beds24_webhook_receiver: WebhookReceiver
) -> None:
    prop = await _seed(beds24_sandbox, beds24_webhook_receiver, "twoNoPersonalData")
    await beds24_sandbox.guest_booking(
        prop.room_ids[0], ARRIVAL, DEPARTURE, firstName="Ana", email="ana@example.invalid"
    )
    body = (await _received(beds24_webhook_receiver, 1))[0].body
    assert "firstName" not in body["booking"] and "email" not in body["booking"]
    assert body["booking"]["arrival"] == ARRIVAL.isoformat()


async def test_v1_pings(
    beds24_sandbox: SandboxHandle, beds24_webhook_receiver: WebhookReceiver
) -> None:
    hook = beds24_webhook_receiver
    prop = await _seed(beds24_sandbox, hook, "one")
    booking = await beds24_sandbox.guest_booking(prop.room_ids[0], ARRIVAL, DEPARTURE)
    await _received(hook, 1)
    await beds24_sandbox.cancel_guest_booking(booking["id"])
    pings = await _received(hook, 2)
    assert [(r.method, r.body) for r in pings] == [("GET", None), ("GET", None)]
    assert [r.query for r in pings] == [
        {"bookid": str(booking["id"]), "status": "new"},
        {"bookid": str(booking["id"]), "status": "cancel"},
    ]
    assert pings[0].headers["authorization"] == "Bearer s3cret"
    scheduled = await beds24_sandbox.replay_webhook(booking["id"], version="v1", status="modify")
    assert scheduled == 1
    assert (await _received(hook, 3))[2].query["status"] == "modify"


async def test_duplicated_and_array_wrapped(
    beds24_sandbox: SandboxHandle, beds24_webhook_receiver: WebhookReceiver
) -> None:
    prop = await _seed(beds24_sandbox, beds24_webhook_receiver)
    await beds24_sandbox.guest_booking(
        prop.room_ids[0], ARRIVAL, DEPARTURE, delivery={"duplicates": 2, "array_wrapped": True}
    )
    got = await _received(beds24_webhook_receiver, 3)
    assert all(isinstance(r.body, list) and len(r.body) == 1 for r in got)
    assert len({r.body[0]["booking"]["modifiedTime"] for r in got}) == 1


async def test_late_delivery(
    beds24_sandbox: SandboxHandle, beds24_webhook_receiver: WebhookReceiver
) -> None:
    prop = await _seed(beds24_sandbox, beds24_webhook_receiver)
    started = time.monotonic()
    await beds24_sandbox.guest_booking(
        prop.room_ids[0], ARRIVAL, DEPARTURE, delivery={"delay_s": 0.4}
    )
    await _received(beds24_webhook_receiver, 1)
    assert time.monotonic() - started >= 0.4


async def test_dropped_delivery_is_logged_not_sent(
    beds24_sandbox: SandboxHandle, beds24_webhook_receiver: WebhookReceiver
) -> None:
    prop = await _seed(beds24_sandbox, beds24_webhook_receiver)
    dropped = await beds24_sandbox.guest_booking(
        prop.room_ids[0], ARRIVAL, DEPARTURE, delivery={"drop": True}
    )
    kept = await beds24_sandbox.guest_booking(prop.room_ids[0], ARRIVAL, DEPARTURE)
    got = await _received(beds24_webhook_receiver, 1)
    assert got[0].body["booking"]["id"] == kept["id"]
    log = await beds24_sandbox.webhooks(booking_id=dropped["id"])
    assert [(e["status_code"], e["error"]) for e in log] == [(None, "dropped on request")]


async def test_failed_delivery_is_retried(
    beds24_sandbox: SandboxHandle, beds24_webhook_receiver: WebhookReceiver
) -> None:
    await beds24_sandbox.configure(webhook_retry_delays_s=[0.05, 0.05])
    beds24_webhook_receiver.answer_next(503, 500)
    prop = await _seed(beds24_sandbox, beds24_webhook_receiver)
    await beds24_sandbox.guest_booking(prop.room_ids[0], ARRIVAL, DEPARTURE)
    got = await _received(beds24_webhook_receiver, 3)
    assert [r.answered for r in got] == [503, 500, 200]
    assert [r.body["retries"] for r in got] == [0, 1, 2]
    log = await beds24_sandbox.webhooks()
    assert [e["status_code"] for e in log] == [503, 500, 200]


async def test_unreachable_url_is_logged(beds24_sandbox: SandboxHandle) -> None:
    await beds24_sandbox.configure(webhook_retry_delays_s=[])
    prop = await beds24_sandbox.seed(webhook={"urls": ["http://127.0.0.1:9/hook"]})
    await beds24_sandbox.guest_booking(prop.room_ids[0], ARRIVAL, DEPARTURE)

    async def logged() -> list[dict[str, object]]:
        return await beds24_sandbox.webhooks()

    entry = (await wait_for(logged, what="a delivery attempt"))[0]
    assert entry["status_code"] is None and entry["error"] == "ConnectError"


async def test_replay_an_older_snapshot_out_of_order(
    beds24_sandbox: SandboxHandle, beds24_webhook_receiver: WebhookReceiver
) -> None:
    prop = await _seed(beds24_sandbox, beds24_webhook_receiver)
    old = await beds24_sandbox.guest_booking(
        prop.room_ids[0], ARRIVAL, DEPARTURE, delivery={"drop": True}
    )
    new = await beds24_sandbox.modify_guest_booking(old["id"], numAdult=4)
    await _received(beds24_webhook_receiver, 1)
    await beds24_sandbox.replay_webhook(old["id"], snapshot=old)
    got = await _received(beds24_webhook_receiver, 2)
    assert [r.body["booking"]["modifiedTime"] for r in got] == [
        new["modifiedTime"],
        old["modifiedTime"],
    ]
    assert got[1].body["booking"]["numAdult"] == old["numAdult"]


@pytest.mark.parametrize("allow", [True, False])
async def test_api_writes_fire_webhooks_only_when_allowed(
    beds24_sandbox: SandboxHandle, beds24_webhook_receiver: WebhookReceiver, allow: bool
) -> None:
    hook = beds24_webhook_receiver
    prop = await _seed(beds24_sandbox, hook)
    token = await beds24_sandbox.token(prop.account.refresh_token)
    item = {
        "roomId": prop.room_ids[0],
        "arrival": ARRIVAL.isoformat(),
        "departure": DEPARTURE.isoformat(),
        "actions": {"allowWebhooks": allow},
    }
    marker = {**item, "actions": {"allowWebhooks": True}}
    async with httpx.AsyncClient(base_url=beds24_sandbox.url, headers={"token": token}) as http:
        first = (await http.post("/bookings", json=[item])).json()[0]["new"]["id"]
        second = (await http.post("/bookings", json=[marker])).json()[0]["new"]["id"]

    async def marker_seen() -> bool:
        return any(r.body["booking"]["id"] == second for r in hook.received)

    # Any webhook for the first write was scheduled before the marker's.
    await wait_for(marker_seen, what="the marker booking's webhook")
    ids = sorted(r.body["booking"]["id"] for r in hook.received)
    assert ids == ([first, second] if allow else [second])
