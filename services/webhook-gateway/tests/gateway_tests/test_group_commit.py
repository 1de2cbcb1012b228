"""Concurrent webhooks share commits, yet each answer is its own and means its row is
committed; a revoked secret stops working at once despite the cached targets."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest
from channel_sync.db import connect
from channel_sync.repository import ChannelEventRepository
from channel_sync_testing.waiting import wait_for

from .support import Hotel, add_secret, inbound_events, webhook


async def test_concurrent_webhooks_each_get_their_own_committed_answer(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    # 60 different bookings, plus the same version of one booking sent 5 times at once.
    bodies = [webhook(72000 + n) for n in range(60)] + [webhook(72999)] * 5
    answers = await asyncio.gather(
        *(gateway.post(hotel.path, json=b, headers=hotel.auth) for b in bodies)
    )

    assert [a.status_code for a in answers] == [200] * 65
    assert all(a.json()["stored"] == 1 for a in answers[:60])
    twins = [a.json() for a in answers[60:]]
    assert sorted(t["stored"] for t in twins) == [0, 0, 0, 0, 1]
    assert sum(t["duplicates"] for t in twins) == 4
    rows = await inbound_events(db)
    assert len(rows) == 61
    # Every answered event id is a committed row, and each row was answered once.
    answered = [i for a in answers for i in a.json()["event_ids"]]
    assert sorted(answered) == sorted(str(r["id"]) for r in rows)


async def test_a_revoked_secret_is_refused_at_once_though_targets_are_cached(
    gateway: httpx.AsyncClient, hotel: Hotel, db: asyncpg.Pool
) -> None:
    assert (await gateway.post(hotel.path, json=webhook(73001), headers=hotel.auth)).is_success
    async with db.acquire() as conn:
        await add_secret(conn, hotel.property_id, "the-next-secret")
        await conn.execute(
            "UPDATE webhook_secrets SET revoked_at = now() WHERE property_id = $1 "
            "AND secret_sha256 <> encode(sha256('the-next-secret'), 'hex')",
            hotel.property_id,
        )

    async def refused() -> bool:
        answer = await gateway.post(hotel.path, json=webhook(73002), headers=hotel.auth)
        return answer.status_code == 401

    # The change notice reaches the gateway within moments (no fixed expiry to wait out).
    await wait_for(refused, timeout=3, what="the revoked secret refused")
    fresh = {"Authorization": "Bearer the-next-secret"}
    assert (await gateway.post(hotel.path, json=webhook(73003), headers=fresh)).is_success
    ids = {r["entity_external_id"] for r in await inbound_events(db)}
    assert "73002" not in ids and {"73001", "73003"} <= ids


async def test_a_failed_shared_insert_answers_no_request_2xx(
    gateway: httpx.AsyncClient,
    hotel: Hotel,
    db: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def lose_the_connection(self: Any, conn: Any, *args: Any, **kw: Any) -> Any:
        raise ConnectionResetError("connection lost before the insert")

    monkeypatch.setattr(ChannelEventRepository, "create_many", lose_the_connection)
    answers = await asyncio.gather(
        *(gateway.post(hotel.path, json=webhook(75000 + n), headers=hotel.auth) for n in range(20))
    )

    assert [a.status_code for a in answers] == [503] * 20
    assert await inbound_events(db) == []  # nothing stored: Beds24 retries every one


async def test_an_insert_whose_answer_is_lost_answers_503_and_the_resend_is_a_duplicate(
    gateway: httpx.AsyncClient,
    hotel: Hotel,
    db: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = ChannelEventRepository.create_many

    async def insert_then_lose_the_answer(self: Any, conn: Any, *args: Any, **kw: Any) -> Any:
        await real(self, conn, *args, **kw)  # committed: the statement is its own transaction
        raise ConnectionResetError("connection lost before the answer")

    monkeypatch.setattr(ChannelEventRepository, "create_many", insert_then_lose_the_answer)
    first = await asyncio.gather(
        *(gateway.post(hotel.path, json=webhook(76000 + n), headers=hotel.auth) for n in range(20))
    )
    assert [a.status_code for a in first] == [503] * 20  # no 2xx for an outcome not seen
    monkeypatch.setattr(ChannelEventRepository, "create_many", real)

    resent = await asyncio.gather(
        *(gateway.post(hotel.path, json=webhook(76000 + n), headers=hotel.auth) for n in range(20))
    )

    assert [a.json()["status"] for a in resent] == ["duplicate"] * 20
    ids = [r["entity_external_id"] for r in await inbound_events(db)]
    assert sorted(ids) == sorted(str(76000 + n) for n in range(20))  # each once


async def test_the_change_notices_fire_for_links_and_secrets_but_not_for_polls(
    db: asyncpg.Pool, hotel: Hotel, database_url: str
) -> None:
    notices: list[str] = []
    listener = await connect(database_url)
    try:
        await listener.add_listener("webhook_targets_changed", lambda *a: notices.append(a[3]))
        async with db.acquire() as conn:
            await conn.execute(
                "UPDATE beds24_properties SET last_polled_at = now() WHERE property_id = $1",
                hotel.property_id,
            )
            await conn.execute(
                "UPDATE beds24_properties SET beds24_property_id = 434343 WHERE property_id = $1",
                hotel.property_id,
            )
            await add_secret(conn, hotel.property_id, "another-secret")
        await wait_for(lambda: _count(notices, 2), timeout=5, what="notices")
    finally:
        await listener.close()
    # The link change and the new secret; the poll's bookkeeping update sent nothing.
    assert notices == [str(hotel.property_id)] * 2


async def _count(notices: list[str], at_least: int) -> bool:
    return len(notices) >= at_least
