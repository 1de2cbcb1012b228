"""A property's live inventory holds on its console page, in a real headless Chromium: what is
held, the nights, the reference and placer (escaped), age and time left, a past-due hold
marked, oldest first with the total; ended holds not shown; read-only for a viewer; a
property without holds says so."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from uuid import UUID

import asyncpg
import pytest
from selenium import webdriver

from .browser import Browser
from .conftest import Admin
from .factories import insert_property, insert_room, insert_room_type, make_operator

ARRIVAL = date.today() + timedelta(days=12)
HOSTILE = "cart-7 <script>x</script>"


@pytest.fixture
async def browser(
    chromium: webdriver.Chrome, admin: Admin, db: asyncpg.Pool
) -> AsyncIterator[Browser]:
    chromium.delete_all_cookies()
    yield Browser(chromium, admin.url)
    chromium.delete_all_cookies()


async def _hold(
    conn: asyncpg.Connection,
    property_id: UUID,
    *,
    reference: str,
    placed_by: str,
    room_type_id: UUID | None = None,
    room_id: UUID | None = None,
    status: str = "held",
    placed: timedelta = timedelta(minutes=2),
    expires: timedelta = timedelta(minutes=10),
) -> UUID:
    """A hold placed `placed` ago, expiring `expires` from now (negative: past due)."""
    value: UUID = await conn.fetchval(
        """INSERT INTO inventory_holds (property_id, room_type_id, room_id, beds24_room_id,
               arrival, departure, expires_at, reference, placed_by, status, ended_at,
               created_at)
           VALUES ($1, $2, $3, '901', $4, $5, now() + $6::interval, $7, $8, $9::text,
                   CASE WHEN $9::text = 'held' THEN NULL ELSE now() END,
                   now() - $10::interval)
           RETURNING id""",
        property_id,
        room_type_id,
        room_id,
        ARRIVAL,
        ARRIVAL + timedelta(days=2),
        expires,
        reference,
        placed_by,
        status,
        placed,
    )
    return value


async def test_the_property_page_shows_live_holds_escaped_and_read_only(
    browser: Browser, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_property(conn, "Harbour Inn")
        quiet = await insert_property(conn, "Hilltop")
        suite = await insert_room_type(conn, hotel, "Suite")
        room = await insert_room(conn, hotel, "Room 12", suite)
        held = await _hold(
            conn, hotel, reference=HOSTILE, placed_by="booking <b>engine</b>", room_type_id=suite
        )
        overdue = await _hold(
            conn,
            hotel,
            reference="cart-old",
            placed_by="front desk",
            room_id=room,
            placed=timedelta(hours=3),
            expires=timedelta(minutes=-5),
        )
        await _hold(
            conn,
            hotel,
            reference="cart-gone",
            placed_by="booking engine",
            room_type_id=suite,
            status="expired",
            placed=timedelta(hours=1),
        )

    await browser.login(await make_operator(db, "vera", "viewer"))
    await browser.go(f"/console/properties/{hotel}")
    assert "2 live holds, oldest first" in await browser.text("#holds-total")
    rows = await browser.all("#holds tbody tr")
    ids = [await asyncio.to_thread(r.get_attribute, "data-hold-id") for r in rows]
    assert ids == [str(overdue), str(held)]  # oldest first

    row = f'#holds tr[data-hold-id="{held}"]'
    assert await browser.text(f"{row} td[data-label=Reference]") == HOSTILE  # shown as text
    assert await browser.text(f"{row} td[data-label='Placed by']") == "booking <b>engine</b>"
    assert await browser.all("#holds script, #holds b") == []
    assert "Suite" in await browser.text(f"{row} td[data-label=Held]")
    nights = await browser.text(f"{row} td[data-label=Nights]")
    assert f"{ARRIVAL} → {ARRIVAL + timedelta(days=2)}" in nights and "2 nights" in nights
    assert await browser.text(f"{row} td[data-label=Age]") == "2 min"
    assert (await browser.text(f"{row} td[data-label=Expires]")).startswith("in ")

    late = f'#holds tr[data-hold-id="{overdue}"]'
    assert "Room 12" in await browser.text(f"{late} td[data-label=Held]")
    assert await browser.text(f"{late} td[data-label=Age]") == "3 h"
    assert "past due" in await browser.text(f"{late} td[data-label=Expires]")

    holds = await browser.text("#holds")
    assert "cart-gone" not in holds  # ended: not live
    assert await browser.all("#holds form, #holds button, #holds input") == []

    await browser.go(f"/console/properties/{quiet}")
    assert await browser.text("#holds-total") == "No live holds."
    assert await browser.all("#holds") == []
