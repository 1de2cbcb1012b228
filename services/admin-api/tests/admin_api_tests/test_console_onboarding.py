"""Onboarding a property in the console, step by step, against the Beds24 sandbox: connect
an existing PMS property with an invite code, see the webhook set-up once, map its room."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from beds24_sandbox.handle import SandboxHandle
from beds24_sandbox.server import SandboxServer
from selenium import webdriver

from .browser import Browser
from .conftest import TOKEN, Admin, admin_settings, serve
from .factories import insert_property, insert_room


@pytest.fixture(scope="module")
async def admin_b24(
    database_url: str, amqp_url: str, beds24_sandbox_server: SandboxServer
) -> AsyncIterator[Admin]:
    settings = admin_settings(database_url, amqp_url, beds24_api_url=beds24_sandbox_server.api_url)
    async with serve(settings) as running:
        yield running


async def test_onboarding_connects_shows_the_webhook_once_and_maps_rooms(
    admin_b24: Admin,
    chromium: webdriver.Chrome,
    db: asyncpg.Pool,
    beds24_sandbox: SandboxHandle,
) -> None:
    seeded = await beds24_sandbox.seed(rooms=[{"name": "Double", "qty": 2}])
    invite = await beds24_sandbox.new_invite_code(seeded.account.account_id)
    double = seeded.rooms[0]
    async with db.acquire() as conn:
        hotel = await insert_property(conn, "Lakeside")
        room = await insert_room(conn, hotel, "Room 7")
    browser = Browser(chromium, admin_b24.url)
    await browser.forget_session()
    await browser.login(TOKEN)

    await browser.go("/console/properties/new")
    await browser.choose("#o-existing", str(hotel))
    await browser.type("#o-b24", str(seeded.id))
    await browser.type("#o-cred", invite)
    await browser.click("#connect")
    await browser.wait_text("#webhook-header", "Authorization: Bearer ")
    assert (await browser.text("#webhook-url")).endswith(f"/webhooks/beds24/{hotel}")
    assert invite not in await browser.source()
    async with db.acquire() as conn:
        linked = await conn.fetchval(
            "SELECT beds24_property_id FROM beds24_properties WHERE property_id = $1", hotel
        )
    assert linked == seeded.id

    await browser.click("#to-mappings")
    await browser.wait_text("main", "Beds24 rooms:")
    assert str(double["id"]) in await browser.text("main")
    await browser.type(f"#r-{room}", str(double["id"]))
    await browser.click("#save-mappings")
    await browser.wait_text("#notice", "Room mappings saved")
    assert "Room 7" in await browser.text("#mappings")
    async with db.acquire() as conn:
        mapped = await conn.fetch(
            "SELECT internal_id, external_id FROM channel_mappings WHERE property_id = $1", hotel
        )
    assert [(r["internal_id"], r["external_id"]) for r in mapped] == [(room, str(double["id"]))]
    await asyncio.to_thread(chromium.delete_all_cookies)
