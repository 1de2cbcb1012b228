"""The ops console in a real headless Chromium: login and logout, filters, an event's
timeline, a retry from the page ending `done`, the CSRF refusal, no access without a
session; plus dead-letter and property pages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractConnection
from channel_sync.amqp.topology import INBOUND
from channel_sync.events import Direction, EventStatus
from channel_sync.repository import ChannelEventRepository
from channel_sync_testing.waiting import wait_for
from selenium import webdriver

from .amqp_helpers import drain
from .browser import Browser
from .conftest import TOKEN, Admin
from .factories import insert_event, insert_property

repo = ChannelEventRepository()


@pytest.fixture
async def browser(
    chromium: webdriver.Chrome, admin: Admin, db: asyncpg.Pool
) -> AsyncIterator[Browser]:
    """A browser with no session; tables are emptied after the test (via `db`)."""
    chromium.delete_all_cookies()
    yield Browser(chromium, admin.url)
    chromium.delete_all_cookies()


async def test_pages_need_a_session(admin: Admin, browser: Browser) -> None:
    await browser.go("/console/events")
    await browser.wait_path("/console/login?next=/console/events")
    assert "Secret" in await browser.text("main")
    async with httpx.AsyncClient(base_url=admin.url) as anonymous:
        for path in ("/console/events", "/console/dead-letters", "/console/properties"):
            response = await anonymous.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/console/login"), path
        for path in ("/console/dead-letters/retry", "/console/properties/new", "/console/logout"):
            response = await anonymous.post(path, data={"csrf_token": "x"})
            assert response.status_code == 401, path
    # A forged cookie is no session either.
    forged = {"console_session": "eyJzaWQiOiJ4Iiwib3BlcmF0b3IiOnRydWV9.forged.sig"}
    async with httpx.AsyncClient(base_url=admin.url, cookies=forged) as forger:
        assert (await forger.get("/console/events")).status_code == 303


async def test_login_sets_a_strict_cookie_and_logout_ends_the_session(
    admin: Admin, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await browser.go("/console/login")
    await browser.type("#token", "not-the-token")
    await browser.click("#login")
    await browser.wait_text("#login-error", "not right")

    await browser.login(TOKEN)
    assert "Events" in await browser.text("h1")
    cookie = await asyncio.to_thread(browser.driver.get_cookie, "console_session")
    assert cookie is not None
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False  # plain http here; https sets Secure
    assert cookie["path"] == "/console" and "expiry" in cookie
    assert TOKEN not in cookie["value"]
    assert TOKEN not in await browser.source() and TOKEN not in await browser.path()

    await browser.click("#logout")
    await browser.wait_path("/console/login")
    after = await asyncio.to_thread(browser.driver.get_cookie, "console_session")
    assert after is None or after["value"] != cookie["value"]  # a fresh anonymous one
    await browser.go("/console/dead-letters")
    await browser.wait_path("/console/login")
    # The service's own log lines (the test's Selenium client logs what it types).
    ours = [r for r in caplog.records if not r.name.startswith(("selenium", "urllib3"))]
    assert any("console login" in r.getMessage() for r in ours)
    assert not [r for r in ours if TOKEN in r.getMessage() or TOKEN in str(r.__dict__)]


async def test_filters_narrow_the_listing_and_pages_follow(
    admin: Admin, browser: Browser, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_property(conn, "Seaside")
        other = await insert_property(conn, "Hilltop")
        failed = await insert_event(
            conn,
            hotel,
            status=EventStatus.FAILED,
            direction=Direction.INBOUND,
            entity_external_id="7001",
            last_error="no room mapped for Beds24 room 55",
        )
        await insert_event(conn, hotel, status=EventStatus.DONE, entity_external_id="7001")
        await insert_event(conn, other, status=EventStatus.FAILED, entity_external_id="7002")
        for _ in range(27):
            await insert_event(conn, other, status=EventStatus.DONE, entity_external_id="9")
    await browser.login(TOKEN)
    await browser.wait_text("#total", "30 events")

    await browser.choose("#f-status", "failed")
    await browser.type("#f-booking", "7001")
    await browser.click("#apply-filters")
    await browser.wait_text("#total", "1 event matches")
    rows = await browser.all("#events tbody tr[data-event-id]")
    assert [await asyncio.to_thread(r.get_attribute, "data-event-id") for r in rows] == [
        str(failed.id)
    ]
    assert "no room mapped" in await browser.text("#events")

    await browser.go("/console/events")
    await browser.choose("#f-property", str(other))
    await browser.choose("#f-direction", "outbound")
    await browser.click("#apply-filters")
    await browser.wait_text("#total", "28 events")
    assert len(await browser.all("#events tbody tr[data-event-id]")) == 25
    await browser.click("#next-page")
    await browser.wait_text("#total", "28 events")
    assert len(await browser.all("#events tbody tr[data-event-id]")) == 3
    assert f"property_id={other}" in await browser.path()

    await browser.go("/console/events?since=not-a-time")
    await browser.wait_text("#filter-error", "since")


async def test_an_event_shows_its_booking_timeline_with_personal_data_masked(
    admin: Admin, browser: Browser, db: asyncpg.Pool
) -> None:
    guest = {"booking": {"id": 5001, "firstName": "Ada", "email": "ada@example.com", "numAdult": 2}}
    async with db.acquire() as conn:
        hotel = await insert_property(conn)
        created = await insert_event(
            conn,
            hotel,
            direction=Direction.INBOUND,
            event_type="beds24.booking.created",
            status=EventStatus.DONE,
            entity_external_id="5001",
            payload=guest,
            received_at=None,
        )
        await conn.execute(
            "UPDATE channel_events SET outcome_note = 'reservation created' WHERE id = $1",
            created.id,
        )
        pushed = await insert_event(
            conn,
            hotel,
            status=EventStatus.FAILED,
            event_type="pms.booking.update",
            entity_external_id="5001",
            attempts=3,
            last_error="Beds24 refused the booking: arrival is in the past",
        )
        stranger = await insert_event(conn, hotel, entity_external_id="5002")
    await browser.login(TOKEN)
    await browser.go(f"/console/events/{pushed.id}")
    assert "arrival is in the past" in await browser.text("#last-error")
    timeline = await browser.text("#timeline")
    assert "beds24.booking.created" in timeline and "pms.booking.update" in timeline
    assert "reservation created" in timeline
    ids = [
        await asyncio.to_thread(r.get_attribute, "data-event-id")
        for r in await browser.all("#timeline tbody tr")
    ]
    assert ids == [str(created.id), str(pushed.id)]
    assert str(stranger.id) not in ids

    await browser.go(f"/console/events/{created.id}")
    payload = await browser.text("#payload")
    assert "Ada" not in payload and "ada@example.com" not in payload and '"numAdult": 2' in payload
    assert "reservation created" in await browser.text("#outcome-note")
    await browser.click("#reveal")
    await browser.wait_text("#payload", "ada@example.com")


async def test_a_retry_from_the_page_ends_done(
    admin: Admin, browser: Browser, db: asyncpg.Pool, amqp_connection: AbstractConnection
) -> None:
    await drain(amqp_connection, INBOUND.name)
    async with db.acquire() as conn:
        event = await insert_event(
            conn,
            await insert_property(conn),
            status=EventStatus.FAILED,
            direction=Direction.INBOUND,
            attempts=3,
            last_error="PMS database unavailable",
        )
    await browser.login(TOKEN)
    await browser.go(f"/console/events/{event.id}")
    await browser.click("#retry")
    await browser.wait_path(f"/console/events/{event.id}/retry")
    await browser.click("#confirm")
    await browser.wait_text("#notice", "Retry requested")

    # The inbound worker's part, played here: take the message the console's retry
    # published, and finish the event.
    async def worker_took_it() -> bool:
        return str(event.id) in await drain(amqp_connection, INBOUND.name)

    await wait_for(worker_took_it, timeout=10, what="the retried event's message")
    async with db.acquire() as conn:
        await repo.mark_done(conn, event.id, note="reservation updated")
    # No reload: the page follows the event's status by itself until it is finished.
    await browser.wait_text("#status", "done", timeout=15)


async def test_changes_without_the_session_csrf_token_are_refused(
    admin: Admin, browser: Browser, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        event = await insert_event(
            conn, await insert_property(conn), status=EventStatus.FAILED, last_error="boom"
        )
    await browser.login(TOKEN)
    cookie = await asyncio.to_thread(browser.driver.get_cookie, "console_session")
    assert cookie is not None
    async with httpx.AsyncClient(
        base_url=admin.url, cookies={"console_session": cookie["value"]}
    ) as client:
        assert (await client.get("/console/events")).status_code == 200  # the session works
        for form in ({}, {"csrf_token": "guessed"}, {"csrf_token": ""}):
            refused = await client.post(f"/console/events/{event.id}/retry", data=form)
            assert refused.status_code == 403, form
            assert "did not come from the console" in refused.text
        bulk = await client.post("/console/dead-letters/retry", data={"event_id": str(event.id)})
        assert bulk.status_code == 403
    async with db.acquire() as conn:
        still = await repo.get(conn, event.id)
    assert still is not None and still.status is EventStatus.FAILED and still.attempts == 0


async def test_dead_letters_group_by_reason_and_retry_a_reason_after_confirming(
    admin: Admin, browser: Browser, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_property(conn)
        for _ in range(3):  # a passing cause, every attempt used: a retry can help
            await insert_event(
                conn, hotel, status=EventStatus.FAILED, last_error="credits spent", attempts=3
            )
        lone = await insert_event(
            conn, hotel, status=EventStatus.FAILED, last_error="no room mapped"
        )
        await insert_event(conn, hotel, status=EventStatus.FAILED, last_error="no room mapped")
    await browser.login(TOKEN)
    await browser.go("/console/dead-letters")
    headings = [await asyncio.to_thread(lambda e=e: e.text) for e in await browser.all("h2")]
    assert headings == ["credits spent", "no room mapped"]

    await browser.click(".retry-reason")  # the first group's "retry all"
    await browser.wait_text("h1", "Retry 3 failed events?")
    await browser.click("#confirm")
    await browser.wait_text("#notice", "3 events retried")

    await browser.tick(f"#pick-{lone.id}")
    await browser.click("#retry-selected")
    await browser.wait_text("h1", "Retry 1 failed event?")
    await browser.click("#confirm")
    await browser.wait_text("#notice", "1 event retried")
    async with db.acquire() as conn:
        left = await conn.fetchval("SELECT count(*) FROM channel_events WHERE status = 'failed'")
    assert left == 1


async def test_properties_show_health_and_rotate_secrets(
    admin: Admin, browser: Browser, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_property(conn, "Harbour Inn")
        await conn.execute(
            """INSERT INTO beds24_properties (property_id, beds24_property_id, account_id,
                   refresh_token, last_polled_at) VALUES ($1, 321, 'acct-9', 'rt', now())""",
            hotel,
        )
        await conn.execute(
            """INSERT INTO beds24_credit_budgets (account_id, remaining, resets_at)
               VALUES ('acct-9', $1, now() + interval '4 minutes')""",
            Decimal("87.5"),
        )
        await insert_event(conn, hotel, status=EventStatus.FAILED, last_error="x")
        await insert_event(
            conn,
            hotel,
            status=EventStatus.RECEIVED,
            direction=Direction.INBOUND,
            received_at=datetime.now(UTC) - timedelta(minutes=7, seconds=10),
        )
    await browser.login(TOKEN)
    await browser.go("/console/properties")
    tiles = await browser.text("main")
    assert "Harbour Inn" in tiles and "87.50" in tiles and "Beds24 321" in tiles
    assert "7 min" in await browser.text("#lag-inbound")  # the oldest inbound event waits
    assert "none" in await browser.text("#lag-outbound")
    await browser.go(f"/console/properties/{hotel}")
    await browser.click("#rotate")
    await browser.wait_text("#webhook-header", "Authorization: Bearer ")
    async with db.acquire() as conn:
        active = await conn.fetchval(
            "SELECT count(*) FROM webhook_secrets WHERE property_id = $1", hotel
        )
    assert active == 1
