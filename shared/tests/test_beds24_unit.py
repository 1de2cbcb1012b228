"""Client edges Beds24 may show but the sandbox does not: checked with httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

import httpx
import pytest
from channel_sync.beds24 import (
    Beds24AuthError,
    Beds24Client,
    Beds24CreditsExhausted,
    Beds24Rejected,
    Beds24Unavailable,
    ItemResult,
)
from channel_sync.beds24.queries import booking_params
from channel_sync.beds24.tokens import TokenCache

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler) -> Beds24Client:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/authentication/token"):
            return httpx.Response(200, json={"token": "tok", "expiresIn": 3600})
        return handler(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(route))
    return Beds24Client("https://beds24.test/api/v2", "rt", http=http)


async def test_a_fresh_token_refused_again_is_an_auth_error() -> None:
    client = _client(lambda _: httpx.Response(401, json={"success": False, "error": "no"}))
    with pytest.raises(Beds24AuthError, match="freshly issued"):
        await client.get_properties()


async def test_result_count_mismatch_leaves_the_outcome_unknown() -> None:
    client = _client(lambda _: httpx.Response(201, json=[{"success": True, "new": {"id": 1}}]))
    with pytest.raises(Beds24Unavailable, match="1 results for 2 items"):
        await client.write_bookings([{"roomId": 1}, {"roomId": 2}])


async def test_unreadable_or_bare_answers() -> None:
    client = _client(lambda _: httpx.Response(200, text="<html>oops</html>"))
    with pytest.raises(Beds24Unavailable, match="unreadable"):
        await client.get_bookings()
    client = _client(lambda _: httpx.Response(500, text="Internal Server Error"))
    with pytest.raises(Beds24Unavailable, match="500"):
        await client.get_properties()


async def test_error_body_with_2xx_is_rejected_with_its_message() -> None:
    body = {"success": False, "type": "error", "code": 400, "error": "propertyId invalid"}
    client = _client(lambda _: httpx.Response(200, json=body))
    with pytest.raises(Beds24Rejected, match="propertyId invalid"):
        await client.get_properties()


async def test_whole_batch_refused_with_400_carries_the_message() -> None:
    body = {"success": False, "type": "error", "code": 400, "error": "Body must be array"}
    client = _client(lambda _: httpx.Response(400, json=body))
    with pytest.raises(Beds24Rejected, match="Body must be array") as caught:
        await client.write_bookings([{"roomId": 1}])
    assert caught.value.status_code == 400


async def test_empty_batch_makes_no_call() -> None:
    def fail(_: httpx.Request) -> httpx.Response:
        raise AssertionError("no call expected")

    assert await _client(fail).write_bookings([]) == []


async def test_paging_stops_on_an_empty_page_even_if_told_more() -> None:
    seen: list[str] = []

    def pages(request: httpx.Request) -> httpx.Response:
        page = request.url.params["page"]
        seen.append(page)
        data = [{"id": int(page)}] if page == "1" else []
        return httpx.Response(
            200, json={"success": True, "data": data, "pages": {"nextPageExists": True}}
        )

    assert await _client(pages).get_bookings() == [{"id": 1}]
    assert seen == ["1", "2"]


async def test_idempotency_key_and_token_headers_sent() -> None:
    sent: list[httpx.Request] = []

    def capture(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        items = json.loads(request.content)
        return httpx.Response(
            201, json=[{"success": True, "modified": {"id": i["id"]}} for i in items]
        )

    results = await _client(capture).write_bookings(
        [{"id": 7, "status": "cancelled"}], idempotency_key="evt-1"
    )
    assert results[0].action == "modified" and results[0].id == 7
    assert sent[0].headers["X-Idempotency-Key"] == "evt-1"
    assert sent[0].headers["token"] == "tok"


def test_item_result_keeps_id_and_messages_of_a_partial_failure() -> None:
    raw = {
        "success": False,
        "modified": {"id": 42},
        "errors": [{"action": "modify", "field": "status", "message": "bad status"}, "x"],
        "warnings": [{"message": "field ignored", "field": "foo"}],
    }
    result = ItemResult.from_raw(raw)
    assert (result.success, result.id, result.action) == (False, 42, "modified")
    assert result.errors == ["status: bad status", "x"]
    assert result.warnings == ["foo: field ignored"]
    assert ItemResult.from_raw("nonsense").success is False


def test_booking_params_repeat_keys_and_widen_identity_lookups() -> None:
    params = booking_params(ids=[1, 2], statuses=["new", "cancelled"])
    assert params == [
        ("id", "1"),
        ("id", "2"),
        ("status", "new"),
        ("status", "cancelled"),
        ("arrivalFrom", "2000-01-01"),
    ]
    plus_two = timezone(timedelta(hours=2))
    params = booking_params(
        modified_from=datetime(2031, 1, 1, 12, 0, tzinfo=plus_two), arrival_to=date(2031, 2, 1)
    )
    assert params == [("modifiedFrom", "2031-01-01T10:00:00"), ("arrivalTo", "2031-02-01")]


async def test_token_cache_refreshes_shortly_before_expiry_and_shares_refreshes() -> None:
    now = [0.0]
    fetched: list[int] = []
    gate = asyncio.Event()

    async def fetch() -> tuple[str, int]:
        fetched.append(1)
        await gate.wait()
        return f"t{len(fetched)}", 1000

    cache = TokenCache(fetch, clock=lambda: now[0])
    gate.set()
    assert await cache.get() == "t1"
    now[0] = 899.0
    assert await cache.get() == "t1"
    now[0] = 901.0  # within the margin (a tenth of 1000 s)
    gate.clear()
    waiting = [asyncio.create_task(cache.get()) for _ in range(5)]
    await asyncio.sleep(0)  # sleep-ok: let every task reach the lock
    gate.set()
    assert {await t for t in waiting} == {"t2"}
    assert len(fetched) == 2
    assert await cache.invalidate("t1") == "t2", "a stale token refused: no new fetch"
    assert await cache.invalidate("t2") == "t3"


async def test_credit_refusal_without_headers_waits_one_window() -> None:
    client = _client(lambda _: httpx.Response(429, json={"success": False}))
    with pytest.raises(Beds24CreditsExhausted) as caught:
        await client.get_properties()
    wait = caught.value.not_before - datetime.now(UTC)
    assert timedelta(minutes=4) < wait <= timedelta(minutes=5)
