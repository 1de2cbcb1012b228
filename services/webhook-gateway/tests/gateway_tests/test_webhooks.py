"""The webhook routes against real Postgres and RabbitMQ: what is stored, published and
answered, and that nothing is stored for any refusal."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from channel_sync.events import EventMessage
from channel_sync_testing.waiting import wait_for

from .support import Hotel, Tap, add_secret, inbound_events, webhook


async def test_v2_webhook_is_stored_published_and_processing(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool, tap: Tap
) -> None:
    response = await gateway.post(hotel.path, json=webhook(70001), headers=hotel.auth)

    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 1
    # Answered once committed; published right after, with the rest of its group.
    [event] = await wait_for(lambda: _with_status(db, "processing"), what="published")
    assert event["event_type"] == "beds24.booking.created"
    assert event["entity_type"] == "booking"
    assert event["entity_external_id"] == "70001"
    assert event["property_id"] == hotel.property_id
    key = f"beds24:{hotel.property_id}:booking:70001:2031-04-01T10:00:00+00:00:"
    assert event["idempotency_key"].startswith(key)
    assert len(event["idempotency_key"]) == len(key) + 16  # the content hash
    # The stored payload is the raw webhook, fields we do not model included.
    assert event["payload"]["booking"]["customFieldWeDoNotModel"] == "kept"
    assert event["payload"]["invoiceItems"] == []
    bodies = await wait_for(tap.drain, what="published message")
    assert [EventMessage.model_validate_json(b).event_id for b in bodies] == [event["id"]]


async def test_same_webhook_twice_is_one_event_and_one_publish(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool, tap: Tap
) -> None:
    first = await gateway.post(hotel.path, json=webhook(70002), headers=hotel.auth)
    # Beds24's resend differs only in the envelope (retries, timeStamp): still a duplicate.
    resend = webhook(70002) | {"retries": 1, "timeStamp": "2031-04-01T10:01:00Z"}
    second = await gateway.post(hotel.path, json=resend, headers=hotel.auth)

    assert first.status_code == second.status_code == 200
    assert second.json() == {"status": "duplicate", "stored": 0, "duplicates": 1, "event_ids": []}
    assert len(await inbound_events(db)) == 1
    await wait_for(tap.drain, what="the first publish")
    # A third, newer version proves the tap is live; only it may arrive after the first.
    await gateway.post(
        hotel.path, json=webhook(70002, modifiedTime="2031-04-01T11:00:00"), headers=hotel.auth
    )
    later = await wait_for(tap.drain, what="the newer version's publish")
    assert len(later) == 1
    assert len(await inbound_events(db)) == 2


async def test_same_time_with_and_without_z_is_one_version(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    await gateway.post(
        hotel.path, json=webhook(70003, modifiedTime="2031-04-01T10:00:00"), headers=hotel.auth
    )
    again = await gateway.post(
        hotel.path, json=webhook(70003, modifiedTime="2031-04-01T10:00:00Z"), headers=hotel.auth
    )
    assert again.json()["status"] == "duplicate"
    assert len(await inbound_events(db)) == 1


async def test_two_versions_saved_in_the_same_second_are_two_events(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    # modifiedTime has whole seconds: a cancellation right after a change shares its stamp.
    changed = webhook(70004, numAdult=3, modifiedTime="2031-04-01T10:00:00Z")
    cancelled = webhook(70004, numAdult=3, status="cancelled", modifiedTime="2031-04-01T10:00:00")

    first = await gateway.post(hotel.path, json=changed, headers=hotel.auth)
    second = await gateway.post(hotel.path, json=cancelled, headers=hotel.auth)
    resent = await gateway.post(hotel.path, json=cancelled | {"retries": 1}, headers=hotel.auth)

    assert first.json()["stored"] == second.json()["stored"] == 1
    assert resent.json()["status"] == "duplicate"
    events = await inbound_events(db)
    assert sorted(e["event_type"] for e in events) == [
        "beds24.booking.cancelled",
        "beds24.booking.created",
    ]


async def test_array_wrapped_body_stores_each_booking(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool, tap: Tap
) -> None:
    body = [webhook(70011), webhook(70012, status="cancelled")]
    response = await gateway.post(hotel.path, json=body, headers=hotel.auth)

    assert response.status_code == 200
    events = {e["entity_external_id"]: e for e in await inbound_events(db)}
    assert set(events) == {"70011", "70012"}
    assert events["70012"]["event_type"] == "beds24.booking.cancelled"
    # Each event stores its own webhook object, not the array.
    assert events["70011"]["payload"]["booking"]["id"] == 70011
    seen: list[bytes] = []

    async def both_published() -> bool:
        seen.extend(await tap.drain())
        return len(seen) >= 2

    await wait_for(both_published, what="two messages")
    assert len(seen) == 2


async def test_known_booking_is_modified_with_its_reservation(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        reservation: UUID = await conn.fetchval(
            """INSERT INTO reservations (property_id, arrival, departure, beds24_booking_id)
               VALUES ($1, '2031-05-01', '2031-05-04', 70021) RETURNING id""",
            hotel.property_id,
        )
    await gateway.post(hotel.path, json=webhook(70021), headers=hotel.auth)

    [event] = await inbound_events(db)
    assert event["event_type"] == "beds24.booking.modified"
    assert event["entity_internal_id"] == reservation


async def test_missing_modified_time_keys_on_a_hash_of_the_booking(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    body = webhook(70031)
    del body["booking"]["modifiedTime"]
    await gateway.post(hotel.path, json=body, headers=hotel.auth)
    again = await gateway.post(hotel.path, json=body | {"retries": 2}, headers=hotel.auth)
    changed = json.loads(json.dumps(body))
    changed["booking"]["numAdult"] = 3
    third = await gateway.post(hotel.path, json=changed, headers=hotel.auth)

    assert again.json()["status"] == "duplicate"
    assert third.json()["status"] == "stored"
    keys = [e["idempotency_key"] for e in await inbound_events(db)]
    assert len(keys) == 2 and all(":booking:70031:sha256:" in k for k in keys)


async def test_v1_ping_is_stored_as_its_own_event(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool, tap: Tap
) -> None:
    response = await gateway.get(
        hotel.path, params={"bookid": "70041", "status": "cancel"}, headers=hotel.auth
    )

    assert response.status_code == 200, response.text
    [event] = await inbound_events(db)
    assert event["payload"] == {"v1": {"bookid": 70041, "status": "cancel"}}
    assert event["event_type"] == "beds24.booking.cancelled"
    assert event["entity_external_id"] == "70041"
    assert await wait_for(tap.drain, what="published ping")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-the-secret"},
        {"Authorization": "Basic dGVzdC13ZWJob29rLXNlY3JldC0x"},
        {"Authorization": "test-webhook-secret-1"},
        {"Authorization": "Bearer"},
    ],
    ids=["missing", "wrong", "basic-scheme", "no-scheme", "empty"],
)
async def test_wrong_or_missing_secret_is_401_and_stores_nothing(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool, headers: dict[str, str]
) -> None:
    post = await gateway.post(hotel.path, json=webhook(), headers=headers)
    ping = await gateway.get(hotel.path, params={"bookid": "1"}, headers=headers)

    assert post.status_code == ping.status_code == 401
    assert post.json() == {"error": "missing or wrong webhook secret"}
    assert await inbound_events(db) == []


async def test_two_active_secrets_during_rotation_and_revoked_one_refused(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        await add_secret(conn, hotel.property_id, "the-new-secret")
        revoked = await add_secret(conn, hotel.property_id, "a-revoked-secret")
        await conn.execute("UPDATE webhook_secrets SET revoked_at = now() WHERE id = $1", revoked)

    old = await gateway.post(hotel.path, json=webhook(70051), headers=hotel.auth)
    new = await gateway.post(
        hotel.path, json=webhook(70052), headers={"Authorization": "Bearer the-new-secret"}
    )
    gone = await gateway.post(
        hotel.path, json=webhook(70053), headers={"Authorization": "Bearer a-revoked-secret"}
    )

    assert (old.status_code, new.status_code, gone.status_code) == (200, 200, 401)
    assert {e["entity_external_id"] for e in await inbound_events(db)} == {"70051", "70052"}


async def test_a_secret_of_another_property_is_refused(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        other: UUID = await conn.fetchval(
            "INSERT INTO hotel_settings (name) VALUES ('Other') RETURNING id"
        )
        await add_secret(conn, other, "other-secret")
    response = await gateway.post(
        hotel.path, json=webhook(), headers={"Authorization": "Bearer other-secret"}
    )
    assert response.status_code == 401
    assert await inbound_events(db) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"", "body is not valid JSON"),
        (b"\xff\xfe", "body is not valid JSON"),
        (b'{"booking": {"id": 1, "price": NaN}}', "body is not valid JSON"),
        (b"[]", "empty array"),
        (b'"a string"', None),
        (b'{"booking": {"status": "confirmed"}}', "booking.id: Field required"),
        (b'{"booking": {"id": -4}}', None),
        (b'{"booking": {"id": 1, "arrival": "not a date"}}', None),
        (b'{"booking": {"id": 1, "status": "teleported"}}', None),
        (b'{"booking": {"id": 1, "modifiedTime": "yesterday"}}', None),
        (
            b'{"booking": {"id": 1, "comments": "a\\u0000b"}}',
            "body.booking.comments: text",
        ),
        (b"[" * 50_000 + b"]" * 50_000, "body is not valid JSON"),
    ],
    ids=[
        "broken",
        "empty",
        "not-utf8",
        "nan",
        "empty-array",
        "string",
        "no-id",
        "negative-id",
        "bad-date",
        "bad-status",
        "bad-modified-time",
        "nul",
        "deep",
    ],
)
async def test_malformed_body_is_400_and_stores_nothing(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool, body: bytes, reason: str | None
) -> None:
    response = await gateway.post(hotel.path, content=body, headers=hotel.auth)

    assert response.status_code == 400
    error = response.json()["error"]
    if reason is not None:
        assert error.startswith(reason)
    assert "Traceback" not in response.text
    assert await inbound_events(db) == []


async def test_booking_of_another_beds24_property_is_400(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    response = await gateway.post(hotel.path, json=webhook(propertyId=999), headers=hotel.auth)
    assert response.status_code == 400
    assert "belongs to Beds24 property 999" in response.json()["error"]
    assert await inbound_events(db) == []


async def test_one_bad_item_in_an_array_refuses_the_whole_body(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    body = [webhook(70061), {"booking": {"id": "x"}}]
    response = await gateway.post(hotel.path, json=body, headers=hotel.auth)
    assert response.status_code == 400
    assert response.json()["error"].startswith("1.booking.id")
    assert await inbound_events(db) == []


async def test_a_head_request_stores_nothing(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    response = await gateway.head(hotel.path, params={"bookid": "5"}, headers=hotel.auth)
    assert response.status_code == 405
    assert await inbound_events(db) == []


@pytest.mark.parametrize("params", [{}, {"bookid": "abc"}, {"bookid": "5", "status": "zap"}])
async def test_malformed_v1_ping_is_400(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool, params: dict[str, str]
) -> None:
    response = await gateway.get(hotel.path, params=params, headers=hotel.auth)
    assert response.status_code == 400
    assert await inbound_events(db) == []


async def test_oversized_body_is_413_and_stores_nothing(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    body = webhook(70071, comments="x" * (300 * 1024))
    declared = await gateway.post(hotel.path, json=body, headers=hotel.auth)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(40):
            yield b" " * 8192

    streamed = await gateway.post(hotel.path, content=chunks(), headers=hotel.auth)

    assert declared.status_code == streamed.status_code == 413
    assert declared.json() == {"error": "body larger than 262144 bytes"}
    assert await inbound_events(db) == []


async def test_oversized_body_without_secret_is_401(
    gateway: httpx.AsyncClient, hotel: Hotel
) -> None:
    response = await gateway.post(hotel.path, content=b"x" * (300 * 1024))
    assert response.status_code == 401


@pytest.mark.parametrize("property_id", ["not-a-uuid", str(uuid4()), "1"])
async def test_unknown_property_is_404(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool, property_id: str
) -> None:
    response = await gateway.post(
        f"/webhooks/beds24/{property_id}", json=webhook(), headers=hotel.auth
    )
    assert response.status_code == 404
    assert response.json() == {"error": "unknown property"}
    assert await inbound_events(db) == []


async def test_other_paths_and_methods_answer_json(
    gateway: httpx.AsyncClient, hotel: Hotel
) -> None:
    missing = await gateway.get("/nowhere")
    wrong_method = await gateway.put(hotel.path, json={})
    assert (missing.status_code, wrong_method.status_code) == (404, 405)
    assert "error" in missing.json() and "error" in wrong_method.json()


async def test_health_readiness_and_metrics(gateway: httpx.AsyncClient, hotel: Hotel) -> None:
    await gateway.post(hotel.path, json=webhook(70081), headers=hotel.auth)
    assert (await gateway.get("/healthz")).status_code == 200
    ready = await gateway.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"postgres": True}
    metrics = (await gateway.get("/metrics")).text
    assert 'webhook_gateway_requests_total{status="200",version="v2"}' in metrics
    assert "webhook_gateway_broker_connected 1.0" in metrics


async def _with_status(db: asyncpg.Pool, status: str) -> list[Any] | None:
    events = await inbound_events(db)
    return events if events and all(e["status"] == status for e in events) else None
