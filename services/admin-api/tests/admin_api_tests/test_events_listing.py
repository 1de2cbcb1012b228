"""GET /admin/events and /admin/events/{id}: filters, keyset pages, bad parameters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from channel_sync.events import Direction, EventStatus

from .factories import insert_event, insert_property

SUMMARY_FIELDS = {
    "id",
    "event_type",
    "direction",
    "status",
    "last_error",
    "received_at",
    "attempts",
    "max_attempts",
    "property_id",
    "entity_type",
    "entity_external_id",
    "entity_internal_id",
    "tries",
    "tries_said",
    "resolved_at",
    "resolved_by",
    "resolution_note",
    "processed_at",
    "correlation_id",
    "outcome_note",
}


async def _bulk_insert(conn: asyncpg.Connection, property_id: uuid.UUID, n: int, tag: str) -> None:
    """n events; received_at repeats every 7 rows so the id tie-break is exercised."""
    await conn.execute(
        """INSERT INTO channel_events (property_id, direction, event_type, entity_type,
               idempotency_key, payload, status, received_at)
           SELECT $1, CASE WHEN i % 2 = 0 THEN 'inbound' ELSE 'outbound' END,
                  'beds24.booking.modified', 'booking', $2 || i, '{}'::jsonb,
                  (ARRAY['received','processing','done','failed'])[1 + i % 4],
                  now() - make_interval(secs => (i / 7) * 0.5)
           FROM generate_series(1, $3) AS i""",
        property_id,
        f"{tag}:",
        n,
    )


async def test_filters_select_exactly_their_events(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    now = datetime.now(UTC)
    async with db.acquire() as conn:
        one = await insert_property(conn, "One")
        two = await insert_property(conn, "Two")
        failed_in = await insert_event(
            conn,
            one,
            status=EventStatus.FAILED,
            direction=Direction.INBOUND,
            last_error="unmapped room",
        )
        failed_out = await insert_event(
            conn,
            two,
            status=EventStatus.FAILED,
            event_type="pms.booking.create",
            last_error="refused",
        )
        old_done = await insert_event(
            conn, one, status=EventStatus.DONE, received_at=now - timedelta(days=2)
        )
        await insert_event(conn, two, status=EventStatus.PROCESSING)

    async def ids(**params: str) -> set[str]:
        response = await api.get("/admin/events", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["events"])
        return {e["id"] for e in body["events"]}

    assert len(await ids()) == 4
    assert await ids(status="failed") == {str(failed_in.id), str(failed_out.id)}
    assert await ids(status="failed", direction="inbound") == {str(failed_in.id)}
    assert await ids(event_type="pms.booking.create") == {str(failed_out.id)}
    assert await ids(property_id=str(one)) == {str(failed_in.id), str(old_done.id)}
    yesterday = (now - timedelta(days=1)).isoformat()
    assert await ids(until=yesterday) == {str(old_done.id)}
    assert str(old_done.id) not in await ids(since=yesterday)
    naive = (now - timedelta(days=1)).replace(tzinfo=None).isoformat()  # taken as UTC
    assert await ids(until=naive) == {str(old_done.id)}

    listed = (await api.get("/admin/events", params={"status": "failed"})).json()["events"]
    assert set(listed[0]) == SUMMARY_FIELDS  # no payload in the listing
    by_id = {e["id"]: e for e in listed}
    assert by_id[str(failed_in.id)]["last_error"] == "unmapped room"
    assert by_id[str(failed_in.id)]["property_id"] == str(one)
    assert by_id[str(failed_in.id)]["entity_external_id"] == "1001"


async def test_pages_stay_exact_while_events_keep_arriving(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        await _bulk_insert(conn, prop, 3000, "initial")
        expected = {str(r["id"]) for r in await conn.fetch("SELECT id FROM channel_events")}
    seen: list[dict[str, str]] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": "400", **({"cursor": cursor} if cursor else {})}
        body = (await api.get("/admin/events", params=params)).json()
        seen += body["events"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        async with db.acquire() as conn:  # newer events land between pages
            await _bulk_insert(conn, prop, 25, f"between-{pages}")
    assert pages == 8
    ids = [e["id"] for e in seen]
    assert len(ids) == len(set(ids)) == 3000
    assert set(ids) == expected
    keys = [(e["received_at"], e["id"]) for e in seen]
    parsed = [(datetime.fromisoformat(t), uuid.UUID(i)) for t, i in keys]
    assert parsed == sorted(parsed, reverse=True)  # newest first, id breaks ties


async def test_filtered_pages_and_total(api: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        await _bulk_insert(conn, prop, 1000, "f")
    first = (
        await api.get(
            "/admin/events", params={"status": "failed", "direction": "outbound", "limit": "100"}
        )
    ).json()
    # i % 4 == 3 is failed, and odd i is outbound: 250 of 1000
    assert first["total"] == 250
    collected = first["events"]
    cursor = first["next_cursor"]
    while cursor:
        page = (
            await api.get(
                "/admin/events",
                params={
                    "status": "failed",
                    "direction": "outbound",
                    "limit": "100",
                    "cursor": cursor,
                },
            )
        ).json()
        collected += page["events"]
        cursor = page["next_cursor"]
    assert len({e["id"] for e in collected}) == 250
    assert {(e["status"], e["direction"]) for e in collected} == {("failed", "outbound")}


async def test_limit_defaults_to_50_and_is_capped_at_500(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        await _bulk_insert(conn, await insert_property(conn), 600, "cap")
    default = (await api.get("/admin/events")).json()
    assert len(default["events"]) == 50 and default["total"] == 600
    capped = (await api.get("/admin/events", params={"limit": "100000"})).json()
    assert len(capped["events"]) == 500 and capped["next_cursor"] is not None
    exact = (await api.get("/admin/events", params={"limit": "600"})).json()
    assert len(exact["events"]) == 500
    rest = (
        await api.get("/admin/events", params={"limit": "500", "cursor": exact["next_cursor"]})
    ).json()
    assert len(rest["events"]) == 100 and rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "broken"}, "status"),
        ({"direction": "sideways"}, "direction"),
        ({"property_id": "42"}, "property_id"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"stauts": "failed"}, "stauts"),
        ({"event_type": "x" * 101}, "event_type"),
    ],
)
async def test_a_bad_parameter_is_a_400_naming_it(
    api: httpx.AsyncClient, params: dict[str, str], named: str
) -> None:
    response = await api.get("/admin/events", params=params)
    assert response.status_code == 400
    assert f"'{named}'" in response.json()["error"]


async def test_a_repeated_parameter_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.get("/admin/events?status=failed&status=done")
    assert response.status_code == 400
    assert "'status'" in response.json()["error"]


async def test_one_event_in_full(api: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        event = await insert_event(
            conn,
            prop,
            status=EventStatus.FAILED,
            last_error="Beds24 refused: no such room",
            payload={"booking": {"id": 77, "arrival": "2026-05-01"}},
            correlation_id="c-9",
        )
    body = (await api.get(f"/admin/events/{event.id}")).json()
    assert body["id"] == str(event.id)
    assert body["payload"] == {"booking": {"id": 77, "arrival": "2026-05-01"}}
    assert body["idempotency_key"] == event.idempotency_key
    assert body["status"] == "failed" and body["last_error"] == "Beds24 refused: no such room"
    assert body["correlation_id"] == "c-9"
    assert set(body) > SUMMARY_FIELDS


async def test_unknown_or_malformed_event_id(api: httpx.AsyncClient) -> None:
    missing = await api.get(f"/admin/events/{uuid.uuid4()}")
    assert missing.status_code == 404 and "no event" in missing.json()["error"]
    malformed = await api.get("/admin/events/12345")
    assert malformed.status_code == 400 and "'event_id'" in malformed.json()["error"]


async def test_filter_by_beds24_booking_id(api: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        hotel = await insert_property(conn)
        inbound = await insert_event(
            conn, hotel, direction=Direction.INBOUND, entity_external_id="4242"
        )
        outbound = await insert_event(conn, hotel, entity_external_id="4242")
        await insert_event(conn, hotel, entity_external_id="42")
    response = await api.get("/admin/events", params={"beds24_booking_id": "4242"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 2
    assert {e["id"] for e in body["events"]} == {str(inbound.id), str(outbound.id)}
