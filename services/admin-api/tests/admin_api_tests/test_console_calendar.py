"""The console's room calendar in a real headless Chromium, against the Beds24 sandbox: reached
from the property page, the PMS's values beside Beds24's with the differing cells marked,
the room's price events with a readable label, names escaped, Beds24 failing still showing
the PMS's side; and rate plans given price slots from the mapping form."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from beds24_sandbox.handle import SandboxHandle
from beds24_sandbox.server import SandboxServer
from selenium import webdriver

from .browser import Browser
from .conftest import TOKEN, Admin, admin_settings, serve
from .test_calendar import _hotel, _rate_plan, _write_beds24, day


@pytest.fixture(scope="module")
async def admin_b24(
    database_url: str, amqp_url: str, beds24_sandbox_server: SandboxServer
) -> AsyncIterator[Admin]:
    settings = admin_settings(database_url, amqp_url, beds24_api_url=beds24_sandbox_server.api_url)
    async with serve(settings) as running:
        yield running


@pytest.fixture
async def browser(
    chromium: webdriver.Chrome, admin_b24: Admin, db: asyncpg.Pool
) -> AsyncIterator[Browser]:
    chromium.delete_all_cookies()
    yield Browser(chromium, admin_b24.url)
    chromium.delete_all_cookies()


async def _classes(browser: Browser, css: str) -> list[str]:
    found = await browser.all(css)
    return [str(await asyncio.to_thread(e.get_attribute, "class") or "") for e in found]


async def test_a_rooms_calendar_side_by_side_with_differences_marked(
    admin_b24: Admin, browser: Browser, db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    seeded = await beds24_sandbox.seed(rooms=[{"name": "Double", "qty": 2}])
    hotel = await _hotel(db, seeded)
    bar = await _rate_plan(db, hotel.property_id, "<b>BAR</b>", "Best available rate")
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE hotel_settings SET name = 'Hotel <script>x()</script>' WHERE id = $1",
            hotel.property_id,
        )
        await conn.execute(
            """INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id)
               VALUES ($1, 'rate_plan', $2, 'price1')""",
            hotel.property_id,
            bar,
        )
        await conn.execute(
            """INSERT INTO room_rates (rate_plan_id, room_type_id, night, property_id, price)
               SELECT $1::uuid, $2::uuid, $3::date + n, $4::uuid, 100
               FROM generate_series(0, 2) n""",
            bar,
            hotel.room_type,
            day(0),
            hotel.property_id,
        )
    await _write_beds24(
        beds24_sandbox,
        seeded,
        {day(0): {"price1": 100}, day(1): {"price1": 80}, day(2): {"price1": 100}},
    )
    page = f"/console/properties/{hotel.property_id}/rooms/{hotel.room_id}/calendar"
    async with httpx.AsyncClient(base_url=admin_b24.url) as anonymous:
        assert (await anonymous.get(page)).status_code == 303  # the login guard

    await browser.login(TOKEN)
    await browser.go(f"/console/properties/{hotel.property_id}")
    assert "Hotel <script>x()</script>" in await browser.text("h1")  # escaped, shown as text
    await browser.click(f'#calendars tr[data-room-id="{hotel.room_id}"] a')
    await browser.wait_path(page)
    await browser.go(f"{page}?from={day(0)}&to={day(2)}")
    assert "Hotel <script>x()</script>" in await browser.text("main")
    assert "price1 · <b>BAR</b>" in await browser.text("#calendar thead")
    assert "1 night differs" in await browser.text("#summary")

    differing = f'#calendar tr[data-night="{day(1)}"] td[data-field="price1"]'
    assert [
        await browser.text(f"{differing}[data-side='{side}']") for side in ("pms", "beds24")
    ] == [
        "100",
        "80",
    ]
    assert await _classes(browser, differing) == ["differs", "differs"]
    agreeing = f'#calendar tr[data-night="{day(0)}"] td[data-field="price1"]'
    assert await _classes(browser, agreeing) == ["", ""]
    assert await browser.all("#calendar td.differs") == await browser.all(differing + ".differs")

    # The room's price events, labelled, and their timeline on the event's page.
    events = await browser.text("#room-events")
    assert "Prices changed in the PMS" in events and "pms.rates.update" in events
    await browser.click("#room-events tbody tr[data-event-id] a")
    assert "Prices changed in the PMS" in await browser.text("#timeline")
    assert f"Timeline of Beds24 room {hotel.room_id}" in await browser.text("main")

    # Beds24 refusing the credentials: said, and the PMS's side still shown.
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE beds24_properties SET refresh_token = 'revoked' WHERE property_id = $1",
            hotel.property_id,
        )
    await browser.go(f"{page}?from={day(0)}&to={day(2)}")
    assert "/credentials" in await browser.text("#beds24-problem")
    assert await browser.text(f"{differing}[data-side='pms']") == "100"
    assert await browser.text(f"{differing}[data-side='beds24']") == "not shown"

    # A range the API refuses is refused here too, in words.
    await browser.go(f"{page}?from={day(5)}&to={day(1)}")
    assert "is before" in await browser.text("main")


async def test_rate_plans_get_price_slots_from_the_mapping_form(
    browser: Browser, db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    seeded = await beds24_sandbox.seed(rooms=[{"name": "Double", "qty": 2}])
    hotel = await _hotel(db, seeded)
    bar = await _rate_plan(db, hotel.property_id, "BAR", "Best available rate")

    async def slots() -> set[str]:
        async with db.acquire() as conn:
            rows = await conn.fetch(
                "SELECT external_id FROM channel_mappings WHERE mapping_type = 'rate_plan' "
                "AND internal_id = $1",
                bar,
            )
        return {r["external_id"] for r in rows}

    await browser.login(TOKEN)
    await browser.go(f"/console/properties/{hotel.property_id}/mappings")
    await browser.choose(f"#p-{bar}", "price2")
    await browser.click("#save-mappings")
    await browser.wait_text("#notice", "Room mappings saved")
    assert await slots() == {"price2"}
    assert "BAR (Best available rate)" in await browser.text("#mappings")

    # "not sent" in the form (which lists every rate plan) unmaps it; the rooms stay.
    await browser.go(f"/console/properties/{hotel.property_id}/mappings")
    await browser.choose(f"#p-{bar}", "")
    await browser.click("#save-mappings")
    await browser.wait_text("#notice", "Room mappings saved")
    assert await slots() == set()
    assert str(hotel.room_id) in await browser.text("#mappings")
