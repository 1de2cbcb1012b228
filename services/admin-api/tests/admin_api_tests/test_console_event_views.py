"""The events listing in a real headless Chromium: bookings first (a Beds24 room's
availability, price and restriction events have their own view, one line per room), every
view paging correctly; the API filters by entity_type the same way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from channel_sync.events import EventStatus
from selenium import webdriver

from .browser import Browser
from .conftest import TOKEN, Admin
from .factories import insert_event, insert_property


@pytest.fixture
async def browser(
    chromium: webdriver.Chrome, admin: Admin, db: asyncpg.Pool
) -> AsyncIterator[Browser]:
    chromium.delete_all_cookies()
    yield Browser(chromium, admin.url)
    chromium.delete_all_cookies()


async def _mixed(db: asyncpg.Pool) -> None:
    """3 bookings among 40 availability events of 2 Beds24 rooms, and 28 of a third room."""
    async with db.acquire() as conn:
        hotel = await insert_property(conn, "Seaside")
        for n in range(3):
            await insert_event(conn, hotel, status=EventStatus.DONE, entity_external_id=f"70{n}")
        for n in range(68):
            room = "55" if n < 20 else ("56" if n < 40 else str(100 + n))
            await insert_event(
                conn,
                hotel,
                event_type="pms.availability.update",
                entity_type="availability",
                entity_external_id=room,
                status=EventStatus.FAILED if n == 0 else EventStatus.DONE,
                last_error="x" if n == 0 else None,
                payload={"beds24_room_id": room, "from": "2031-01-01", "to": "2031-01-02"},
            )


async def test_bookings_come_first_and_rooms_are_collapsed(
    browser: Browser, db: asyncpg.Pool
) -> None:
    await _mixed(db)
    await browser.login(TOKEN)
    await browser.wait_text("#total", "3 events")
    rows = await browser.all("#events tbody tr[data-event-id]")
    assert len(rows) == 3
    assert "room" not in await browser.text("#events tbody")

    await browser.click("#view-rooms")
    await browser.wait_text("#total", "30 rooms")
    assert len(await browser.all("#rooms tbody tr[data-room]")) == 25
    busiest = {
        await asyncio.to_thread(r.get_attribute, "data-room"): await asyncio.to_thread(
            lambda r=r: r.text
        )
        for r in await browser.all("#rooms tbody tr[data-room]")
    }
    await browser.click("#next-page")
    await browser.wait_text("#total", "30 rooms")
    later = [
        await asyncio.to_thread(r.get_attribute, "data-room")
        for r in await browser.all("#rooms tbody tr[data-room]")
    ]
    assert len(later) == 5 and not set(later) & set(busiest)
    assert {"55", "56"} <= set(later)  # the least recently active come last
    await browser.go("/console/events?view=rooms&page=2")
    room_55 = await browser.text('#rooms tr[data-room="55"]')
    assert "room 55" in room_55 and "20" in room_55

    await browser.click("#view-all")
    await browser.wait_text("#total", "71 events")
    await browser.click("#next-page")
    await browser.click("#next-page")
    assert len(await browser.all("#events tbody tr[data-event-id]")) == 21
    await browser.go("/console/events?view=nonsense")
    await browser.wait_text("#filter-error", "view")


async def test_the_api_filters_by_kind_of_entity(api: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    await _mixed(db)
    bookings = (await api.get("/admin/events", params={"entity_type": "booking"})).json()
    assert bookings["total"] == 3
    rooms = (await api.get("/admin/events", params={"entity_type": "availability"})).json()
    assert rooms["total"] == 68
    assert (await api.get("/admin/events", params={"entity_type": "x"})).status_code == 400
