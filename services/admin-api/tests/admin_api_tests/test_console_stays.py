"""The console's stays pages in a real headless Chromium: the list, and one stay with its
rooms (the Beds24 booking each came from, the one waiting for a room), the group members
not received yet, and the rooms' events."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from selenium import webdriver

from .browser import Browser
from .conftest import TOKEN, Admin
from .test_stays import _stay


@pytest.fixture
async def browser(
    chromium: webdriver.Chrome, admin: Admin, db: asyncpg.Pool
) -> AsyncIterator[Browser]:
    chromium.delete_all_cookies()
    yield Browser(chromium, admin.url)
    chromium.delete_all_cookies()


async def test_a_stay_is_listed_and_shows_its_rooms_and_events(
    browser: Browser, db: asyncpg.Pool
) -> None:
    _, stay, ids = await _stay(db)
    await browser.login(TOKEN)

    await browser.go("/console/stays")
    listed = await browser.text("#stays")
    assert "3 of 3" in listed and "7001" in listed and "BDC-1" in listed
    await browser.click(f'tr[data-stay-id="{stay}"] a')
    await browser.wait_path(f"/console/stays/{stay}")

    rooms = await browser.text("#rooms")
    assert "7001 (room 2)" in rooms and "waiting for a room" in rooms
    assert "no free PMS room" in rooms
    waiting = await browser.text(f'tr[data-reservation-id="{ids[1]}"]')
    assert "7002" in waiting and "waiting for a room" in waiting
    assert "7003" in await browser.text("#missing")
    assert "7002" in await browser.text("#stay-events")
