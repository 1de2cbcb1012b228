"""Property-based fuzzing of the running gateway (hypothesis, bounded and derandomized, so
CI sees the same examples every run).

Whatever the body, the query or the secret: the answer is 200 or a 4xx, as the routes
promise it (200 `{status, stored, duplicates, event_ids}`, else `{"error": reason}`), never a
5xx; nothing is stored for an unauthenticated request; and whatever was stored is a
booking the PMS columns can hold.

Hypothesis drives a synchronous client from a worker thread while the server runs on the
test's event loop.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import asyncpg
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .support import Hotel, inbound_events, webhook

EXAMPLES = 120
# Booking ids sent without a valid secret: none of them may ever be stored.
UNAUTHENTICATED_IDS = range(9_000_000, 9_100_000)

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: 2^63 and beyond, thousands of digits now and then
    | st.floats()  # NaN and ±Infinity included (json.dumps writes them)
    | st.text(st.characters(codec=None), max_size=20)  # lone surrogates and NUL included
)
_json = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_fields = st.sampled_from(
    [
        "id",
        "propertyId",
        "roomId",
        "unitId",
        "status",
        "arrival",
        "departure",
        "numAdult",
        "numChild",
        "price",
        "deposit",
        "modifiedTime",
        "firstName",
        "address",
        "infoItems",
    ]
)
_times = st.datetimes().map(lambda t: t.isoformat()) | st.sampled_from(
    ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "2031-04-01T10:00:00Z"]
)


@st.composite
def _bodies(draw: st.DrawFn) -> bytes:
    """Mostly a real webhook with some fields replaced by anything; sometimes raw bytes."""
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "nested", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    body = webhook(draw(st.integers(1, 10**6)))
    if kind == "nested":
        depth = draw(st.integers(1, 1200))
        return json.dumps(body)[:-1].encode() + b', "x": ' + b"[" * depth + b"]" * depth + b"}"
    for field in draw(st.lists(_fields, max_size=3)):
        body["booking"][field] = draw(_json | _times)
    return json.dumps(body).encode()  # may hold NaN, lone surrogates, NUL, huge ints


@st.composite
def _requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes, bool]:
    """(method, query, headers, body, authenticated)."""
    authenticated = draw(st.booleans()) or draw(st.booleans())
    method = draw(st.sampled_from(["POST", "POST", "POST", "GET", "PUT"]))
    query = ""
    if method == "GET":
        bookid = draw(st.text(st.characters(codec="utf-8"), max_size=8) | st.integers().map(str))
        query = str(httpx.QueryParams({"bookid": bookid, "status": draw(st.text(max_size=6))}))
    body = draw(_bodies())
    if not authenticated:
        booking_id = draw(st.sampled_from(UNAUTHENTICATED_IDS))
        body = json.dumps(webhook(booking_id)).encode()
        query = f"bookid={booking_id}" if method == "GET" else ""
    return method, query, {}, body, authenticated


async def test_fuzzed_requests_never_get_a_5xx_and_answer_as_documented(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    base_url = str(gateway.base_url)
    seen: dict[int, int] = {}

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(_requests(), st.sampled_from(["", "Bearer wrong", "Basic x", "Bearer"]))
    def one_request(request: tuple[str, str, dict[str, str], bytes, bool], bad: str) -> None:
        method, query, _, body, authenticated = request
        auth = hotel.auth["Authorization"] if authenticated else bad
        headers = {"Authorization": auth} if auth else {}
        response = client.request(
            method,
            f"{hotel.path}?{query}" if query else hotel.path,
            content=body or None,
            headers=headers,
        )
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        _assert_as_documented(response, authenticated)

    with httpx.Client(base_url=base_url, timeout=30) as client:
        started = time.monotonic()
        await asyncio.to_thread(one_request)
        print(f"fuzz: {sum(seen.values())} requests in {time.monotonic() - started:.1f}s: {seen}")

    assert not [s for s in seen if s >= 500], seen
    assert seen.get(200) and seen.get(400) and seen.get(401), seen  # the fuzz reached all
    events = await inbound_events(db)
    stored_ids = {int(e["entity_external_id"]) for e in events}
    assert not stored_ids & set(UNAUTHENTICATED_IDS)
    for event in events:
        booking = event["payload"].get("booking") if "booking" in event["payload"] else None
        if booking is not None:
            _assert_holdable(booking)


def _assert_as_documented(response: httpx.Response, authenticated: bool) -> None:
    assert response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/json"
    answer: Any = response.json()
    if response.status_code == 200:
        assert authenticated
        assert set(answer) == {"status", "stored", "duplicates", "event_ids"}
        assert answer["status"] in ("stored", "duplicate")
        return
    assert set(answer) == {"error"} and isinstance(answer["error"], str) and answer["error"]
    if not authenticated:
        assert response.status_code in (401, 405), response.text
    if response.status_code == 405:
        assert response.headers["allow"] == "GET, POST"


def _assert_holdable(booking: dict[str, Any]) -> None:
    """What the PMS columns take: BIGINT ids, INTEGER counts, dates, NUMERIC(12,2) money."""
    assert isinstance(booking["id"], int) and 0 < booking["id"] < 2**63
    for count in ("numAdult", "numChild"):
        if booking.get(count) is not None:
            assert 0 <= booking[count] < 2**31
    for money in ("price", "deposit"):
        if isinstance(booking.get(money), int | float):
            assert abs(booking[money]) < 10**10
