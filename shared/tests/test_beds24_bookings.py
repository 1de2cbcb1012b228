"""Bookings through the client against the sandbox: filters as repeated keys, every status
when asked, paging, one batched POST with per-item results in order, search by reference."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl

import pytest
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from channel_sync.beds24 import ALL_STATUSES, Beds24Client, Beds24Rejected

SOON = date.today() + timedelta(days=30)


@pytest.fixture
async def prop(beds24_sandbox: SandboxHandle) -> SandboxProperty:
    return await beds24_sandbox.seed(
        rooms=[{"name": "Double", "qty": 3}, {"name": "Single", "qty": 1}]
    )


@pytest.fixture
async def client(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty
) -> AsyncIterator[Beds24Client]:
    async with Beds24Client(beds24_sandbox.url, prop.account.refresh_token) as client:
        yield client


def _stay(room_id: int, offset: int = 0, nights: int = 2, **fields: object) -> dict[str, object]:
    arrival = SOON + timedelta(days=offset)
    return {
        "roomId": room_id,
        "arrival": arrival.isoformat(),
        "departure": (arrival + timedelta(days=nights)).isoformat(),
        **fields,
    }


async def _last_query(sandbox: SandboxHandle, method: str, path: str) -> list[tuple[str, str]]:
    return parse_qsl((await sandbox.calls(method=method, path=path))[-1]["query"])


async def test_create_modify_and_cancel_in_one_post_answer_in_order(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty, client: Beds24Client
) -> None:
    room = prop.room_ids[0]
    first, second = await client.write_bookings(
        [_stay(room, apiReference="PMS-A"), _stay(room, 5, apiReference="PMS-B")]
    )
    assert first.success and first.action == "new" and first.id is not None
    results = await client.write_bookings(
        [
            {"id": first.id, "numAdult": 2},
            _stay(room, 10, apiReference="PMS-C"),
            {"id": second.id, "status": "cancelled"},
        ],
        idempotency_key="key-123",
    )
    assert [r.action for r in results] == ["modified", "new", "modified"]
    assert [r.id for r in results][::2] == [first.id, second.id]
    assert all(r.success for r in results)
    posts = await beds24_sandbox.calls(method="POST", path="/bookings")
    assert [p["items"] for p in posts] == [2, 3], "one POST per batch"
    assert posts[-1]["idempotency_key"] == "key-123"
    stored = {b["id"]: b for b in await beds24_sandbox.bookings()}
    assert stored[first.id]["numAdult"] == 2
    assert stored[second.id]["status"] == "cancelled"


async def test_invalid_items_fail_alone_with_beds24_messages(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty, client: Beds24Client
) -> None:
    room = prop.room_ids[0]
    results = await client.write_bookings(
        [
            _stay(999_999),  # unknown room
            _stay(room, apiReference="PMS-OK"),
            {**_stay(room), "departure": SOON.isoformat()},  # departure not after arrival
            {"roomId": room},  # dates missing
        ]
    )
    assert [r.success for r in results] == [False, True, False, False]
    assert "roomId" in results[0].errors[0]
    assert "departure must be after arrival" in results[2].errors[0]
    assert {e.split(":")[0] for e in results[3].errors} == {"arrival", "departure"}
    with pytest.raises(Beds24Rejected, match="roomId 999999 not found"):
        results[0].raise_for_error()
    results[1].raise_for_error()
    assert [b["apiReference"] for b in await beds24_sandbox.bookings()] == ["PMS-OK"]


async def test_list_sends_arrays_as_repeated_keys_and_all_statuses(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty, client: Beds24Client
) -> None:
    room = prop.room_ids[0]
    kept, gone = await client.write_bookings([_stay(room), _stay(room, 3)])
    await client.write_bookings([{"id": gone.id, "status": "cancelled"}])

    assert [b["id"] for b in await client.get_bookings(property_ids=[prop.id])] == [kept.id]
    everything = await client.get_bookings(
        property_ids=[prop.id], statuses="all", room_ids=prop.room_ids
    )
    assert [b["id"] for b in everything] == [kept.id, gone.id]
    query = await _last_query(beds24_sandbox, "GET", "/bookings")
    assert [v for k, v in query if k == "status"] == list(ALL_STATUSES)
    assert [v for k, v in query if k == "roomId"] == [str(r) for r in prop.room_ids]
    only = await client.get_bookings(statuses=["cancelled"], property_ids=[prop.id])
    assert [b["id"] for b in only] == [gone.id]


async def test_paging_continues_until_no_next_page(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty, client: Beds24Client
) -> None:
    await beds24_sandbox.configure(page_size=2)
    created = await client.write_bookings([_stay(prop.room_ids[0], i * 3) for i in range(5)])
    await beds24_sandbox.clear_calls()
    found = await client.get_bookings(property_ids=[prop.id])
    assert [b["id"] for b in found] == [r.id for r in created]
    pages = [
        dict(parse_qsl(c["query"]))["page"] for c in await beds24_sandbox.calls(path="/bookings")
    ]
    assert pages == ["1", "2", "3"]


async def test_find_by_reference_sees_cancelled_and_past_bookings(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty, client: Beds24Client
) -> None:
    room = prop.room_ids[1]
    past = {
        "roomId": room,
        "arrival": "2020-01-10",
        "departure": "2020-01-12",
        "apiReference": "PMS-PAST",
    }
    results = await client.write_bookings(
        [past, _stay(room, apiReference="PMS-GONE"), _stay(room, 5, apiReference="PMS-GONE-X")]
    )
    await client.write_bookings([{"id": results[1].id, "status": "cancelled"}])

    assert [b["id"] for b in await client.find_bookings_by_reference("PMS-PAST")] == [results[0].id]
    gone = await client.find_bookings_by_reference("PMS-GONE", property_id=prop.id)
    assert [(b["id"], b["status"]) for b in gone] == [(results[1].id, "cancelled")]
    assert await client.find_bookings_by_reference("PMS-NONE") == []
    # Beds24 hides past stays without a date filter: a plain listing misses it.
    assert results[0].id not in [b["id"] for b in await client.get_bookings()]


async def test_lookup_by_id_and_modified_since(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty, client: Beds24Client
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    guest = await beds24_sandbox.guest_booking(prop.room_ids[0], SOON, SOON + timedelta(days=1))
    found = await client.get_bookings(ids=[guest["id"]], statuses="all")
    assert [b["apiReference"] for b in found] == [guest["apiReference"]]
    assert [b["id"] for b in await client.get_bookings(modified_from=before, statuses="all")] == [
        guest["id"]
    ]
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await client.get_bookings(modified_from=later, statuses="all") == []
    query = await _last_query(beds24_sandbox, "GET", "/bookings")
    assert dict(query)["modifiedFrom"] == later.strftime("%Y-%m-%dT%H:%M:%S")


async def test_bad_filter_is_rejected_with_beds24_message(client: Beds24Client) -> None:
    with pytest.raises(Beds24Rejected, match="status") as caught:
        await client.get_bookings(statuses=["sideways"])
    assert caught.value.status_code == 400
    with pytest.raises(ValueError, match="commas"):
        await client.get_bookings(statuses=["new,cancelled"])


async def test_reference_in_an_info_item_when_api_reference_is_not_kept(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty, client: Beds24Client
) -> None:
    await beds24_sandbox.configure(api_reference_writable=False)
    item = _stay(
        prop.room_ids[0], apiReference="PMS-I", infoItems=[{"code": "PMSREF", "text": "PMS-I"}]
    )
    result = (await client.write_bookings([item]))[0]
    assert result.success and result.warnings == ["apiReference: field ignored"]
    assert await client.find_bookings_by_reference("PMS-I") == []
    found = await client.find_bookings_by_reference(
        "PMS-I", property_id=prop.id, info_code="PMSREF"
    )
    assert [b["id"] for b in found] == [result.id]
    assert await client.find_bookings_by_reference("PMS-J", info_code="PMSREF") == []
    query = await _last_query(beds24_sandbox, "GET", "/bookings")
    assert ("includeInfoItems", "true") in query and "modifiedFrom" in dict(query)
