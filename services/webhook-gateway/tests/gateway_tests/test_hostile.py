"""Hostile input with a valid secret: every hostile-input category of the hostile run
(channel_sync_tools.hostile_run) answers 400 with a reason, stores nothing, and none of its
guest data reaches Postgres (not even a statement Postgres would reject and log: validation
refuses it first). The local cluster's server log, where readable, must not gain the guest
marker, and no row may hold it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from channel_sync_testing.waiting import wait_for
from webhook_gateway.group_commit import GroupCommitter

from .support import Hotel, inbound_events, webhook

GUEST = "Zyxwvut-Guest-Marker"  # a guest value no log may ever show
POSTGRES_LOG = Path("/var/log/postgresql/postgresql-15-main.log")


def _nested(depth: int) -> bytes:
    return _raw('"extra": ' + "[" * depth + json.dumps(GUEST) + "]" * depth)


def _raw(booking_fields: str) -> bytes:
    """A webhook whose booking has `"address": GUEST` plus the given raw JSON fields."""
    return (
        b'{"booking": {"id": 70101, "address": "'
        + GUEST.encode()
        + b'", '
        + booking_fields.encode()
        + b"}}"
    )


HOSTILE: dict[str, bytes] = {
    "id-2^63": json.dumps(webhook(2**63, address=GUEST)).encode(),
    "id-huge": json.dumps(webhook(10**40, address=GUEST)).encode(),
    "adults-2^63": json.dumps(webhook(70102, numAdult=2**63, address=GUEST)).encode(),
    "adults-2^31": json.dumps(webhook(70103, numAdult=2**31, address=GUEST)).encode(),
    "negative-room": json.dumps(webhook(70104, roomId=-5, address=GUEST)).encode(),
    "id-as-string": json.dumps(webhook("70105", address=GUEST)).encode(),  # type: ignore[arg-type]
    "nested-330": _nested(330),
    "nested-980": _nested(980),
    "nested-40": _nested(40),
    "lone-surrogate": _raw('"lastName": "\\ud800"'),
    "lone-low-surrogate": _raw('"lastName": "a\\udc00b"'),
    "surrogate-key": _raw('"\\ud83d": 1'),
    "nul-in-key": _raw('"a\\u0000b": 1'),
    "nul": _raw('"lastName": "\\u0000"'),
    "not-utf8": _raw('"lastName": "\xff"').replace(b"\xc3\xbf", b"\xff"),
    "inf": _raw('"numAdult": 1e400'),
    "float-inf-anywhere": _raw('"custom": -1e999'),
    "thousands-of-digits": _raw('"custom": ' + "9" * 5000),
    "int-past-int64-anywhere": _raw('"custom": ' + str(2**64)),
    "time-overflow-late": _raw('"modifiedTime": "9999-12-31T23:59:59-01:00"'),
    "time-overflow-early": _raw('"modifiedTime": "0001-01-01T00:00:00+01:00"'),
    "date-as-number": _raw('"arrival": 63491920'),
    "date-out-of-range": _raw('"arrival": "10000-01-01"'),
    "price-past-numeric": _raw('"price": 1e12'),
    "price-nan-string": _raw('"price": "NaN"'),
    "too-many-webhooks": json.dumps([webhook(70200 + i) for i in range(101)]).encode(),
}


async def test_hostile_bodies_are_400_with_a_reason_and_reach_no_postgres(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    log_before = _postgres_log_size()

    for name, body in HOSTILE.items():  # one server for all: each case is one request
        response = await gateway.post(hotel.path, content=body, headers=hotel.auth)
        assert response.status_code == 400, (name, response.text)
        reason = response.json()["error"]
        assert reason and GUEST not in reason and "Traceback" not in reason, name

    assert await inbound_events(db) == []
    assert GUEST not in _postgres_log_since(log_before)


async def test_v1_bookid_is_digits_only(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    for query in [
        "bookid=%20%201",
        "bookid=1_000",
        "bookid=%2B1",
        "bookid=1.0",
        "bookid=%EF%BC%91",
        "bookid=" + "9" * 20,
        "bookid=0",
        "bookid=-1",
        "bookid=0x10",
        "bookid=",
    ]:
        response = await gateway.get(f"{hotel.path}?{query}", headers=hotel.auth)
        assert response.status_code == 400, (query, response.text)
        assert response.json()["error"].startswith("bookid"), query
    assert await inbound_events(db) == []


async def test_an_accepted_webhook_at_the_column_limits_is_stored(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    """The bounds refuse only what the PMS cannot hold, not what it can."""
    body = webhook(2**63 - 1, numAdult=2**31 - 1, roomId=2**63 - 1, price="9999999999.99")
    response = await gateway.post(hotel.path, json=body, headers=hotel.auth)
    assert response.status_code == 200, response.text
    [event] = await inbound_events(db)
    assert event["entity_external_id"] == str(2**63 - 1)


async def test_other_methods_get_405_naming_the_two_served(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    for method in ("PUT", "DELETE", "OPTIONS", "PATCH", "HEAD"):
        response = await gateway.request(method, hotel.path, headers=hotel.auth)
        assert response.status_code == 405, method
        assert response.headers["allow"] == "GET, POST"
    assert await inbound_events(db) == []


async def test_an_unexpected_error_is_logged_once_in_one_bounded_line(
    gateway: httpx.AsyncClient,
    hotel: Hotel,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(GroupCommitter, "record", broken)
    with caplog.at_level(logging.INFO):
        response = await gateway.post(hotel.path, json=webhook(address=GUEST), headers=hotel.auth)

    assert response.status_code == 500
    assert response.json() == {"error": "internal error"}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert GUEST not in caplog.text


async def test_a_client_that_hangs_up_is_not_an_error(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    url = httpx.URL(str(gateway.base_url))
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = (
        f"POST {hotel.path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {hotel.secret}\r\n"
        "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
    )
    with caplog.at_level(logging.INFO):
        writer.write(head.encode() + b'{"booking": {"id": 1')
        await writer.drain()
        writer.close()  # gone before the body is complete
        await writer.wait_closed()
        # A request after it is answered: the server went on, and has logged the hang-up.
        assert (await gateway.get("/healthz")).status_code == 200

        async def logged() -> bool:
            return "closed the connection" in caplog.text

        await wait_for(logged, what="the hang-up logged")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert await inbound_events(db) == []
    del reader


def _postgres_log_size() -> int:
    try:
        return POSTGRES_LOG.stat().st_size
    except OSError:
        return -1


def _postgres_log_since(offset: int) -> str:
    """What the local cluster logged since `offset` ('' where its log is not readable)."""
    if offset < 0:
        return ""
    try:
        with POSTGRES_LOG.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")
    except OSError:
        return ""
