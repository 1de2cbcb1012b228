"""Named operators in a real headless Chromium: each logs in with their own secret and is
named on every page; logout ends the session even for a copy of its cookie; a viewer sees
no button that changes anything, and a change forged past them is refused (403, nothing
stored, recorded); the audit page shows each action under the name of who took it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from channel_sync.events import EventStatus
from selenium import webdriver

from .browser import Browser
from .conftest import Admin
from .factories import insert_event, insert_property, make_operator


@pytest.fixture
async def browser(
    chromium: webdriver.Chrome, admin: Admin, db: asyncpg.Pool
) -> AsyncIterator[Browser]:
    chromium.delete_all_cookies()
    yield Browser(chromium, admin.url)
    chromium.delete_all_cookies()


async def test_a_named_login_and_a_logout_that_ends_every_copy(
    browser: Browser, db: asyncpg.Pool
) -> None:
    secret = await make_operator(db, "alice")
    await browser.login(secret)
    assert await browser.text("#who") == "alice · operator"
    copied = await asyncio.to_thread(browser.driver.get_cookie, "console_session")
    assert copied is not None and secret not in copied["value"]
    await browser.click("#logout")
    await browser.wait_path("/console/login")
    # The cookie as it was before the logout, put back: the session is gone all the same.
    await asyncio.to_thread(
        browser.driver.add_cookie,
        {"name": "console_session", "value": copied["value"], "path": "/console"},
    )
    await browser.go("/console/events")
    await browser.wait_path("/console/login")


async def test_a_viewer_sees_no_change_and_a_forged_one_is_refused(
    browser: Browser, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_property(conn, "Seaside")
        failed = await insert_event(conn, hotel, status=EventStatus.FAILED, last_error="boom")
    await browser.login(await make_operator(db, "vera", "viewer"))
    assert await browser.text("#who") == "vera · viewer"
    await browser.go(f"/console/events/{failed.id}")
    assert "boom" in await browser.text("#last-error")
    assert await browser.all("#retry") == []
    await browser.go("/console/dead-letters")
    assert (
        await browser.all("#retry-selected") == []
        and await browser.all("input[type=checkbox]") == []
    )
    await browser.go(f"/console/properties/{hotel}")
    assert await browser.all("#rotate") == []
    # A form forged in the page, with the session's own CSRF token: refused all the same.
    await asyncio.to_thread(
        browser.driver.execute_script,
        """const form = document.createElement('form');
           form.method = 'post'; form.action = arguments[0];
           const csrf = document.querySelector('input[name=csrf_token]').cloneNode();
           form.appendChild(csrf); document.body.appendChild(form); form.submit();""",
        f"/console/events/{failed.id}/retry",
    )
    await browser.wait_text("#problem", "vera is a viewer")
    async with db.acquire() as conn:
        status = await conn.fetchval("SELECT status FROM channel_events WHERE id = $1", failed.id)
    assert status == "failed"
    await browser.go("/console/audit")
    row = await browser.text("#audit tbody tr")
    assert "vera" in row and "event.retry" in row and "refused 403" in row


async def test_the_audit_page_shows_each_action_under_its_name(
    browser: Browser, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_property(conn)
        first = await insert_event(conn, hotel, status=EventStatus.FAILED, last_error="x")
        second = await insert_event(conn, hotel, status=EventStatus.FAILED, last_error="y")
    for name, event in (("alice", first), ("bob", second)):
        await browser.forget_session()
        await browser.login(await make_operator(db, name))
        await browser.go(f"/console/events/{event.id}")
        await browser.click("#retry")
        await browser.click("#confirm")
        await browser.wait_text("#notice", "Retry requested")
    await browser.go("/console/audit?action=event.retry")
    await browser.wait_text("#total", "2 records")
    rows = [
        await asyncio.to_thread(lambda r=r: r.text) for r in await browser.all("#audit tbody tr")
    ]
    assert "bob" in rows[0] and str(second.id)[:8] in rows[0] and "success" in rows[0]
    assert "alice" in rows[1] and str(first.id)[:8] in rows[1]
    await browser.type("#a-actor", "alice")
    await browser.click("#apply-audit-filters")
    await browser.wait_text("#total", "1 record")
    assert "alice" in await browser.text("#audit tbody tr")
