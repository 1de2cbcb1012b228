"""Dead letters in a real headless Chromium: each group says whether a retry can help and, if
not, what to do; each row names its property, booking, reservation, masked guest and dates;
resolving one with a note keeps it (marked resolved by whom and why) and the counts go down;
an event's page counts its tries as they were."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from selenium import webdriver

from .browser import Browser
from .conftest import Admin
from .factories import make_operator
from .test_dead_letters import DEPARTURE_FIRST, _failures


@pytest.fixture
async def browser(
    chromium: webdriver.Chrome, admin: Admin, db: asyncpg.Pool
) -> AsyncIterator[Browser]:
    chromium.delete_all_cookies()
    yield Browser(chromium, admin.url)
    chromium.delete_all_cookies()


async def _section(browser: Browser, reason_start: str) -> str:
    for section in await browser.all("section.card"):
        text: str = await asyncio.to_thread(lambda s=section: s.text)
        if text.startswith(reason_start):
            return text
    raise AssertionError(f"no group for {reason_start!r}")


async def test_dead_letters_say_what_to_do_and_resolving_counts_down(
    browser: Browser, db: asyncpg.Pool
) -> None:
    made = await _failures(db)
    await browser.login(await make_operator(db, "alice"))
    await browser.go("/console/dead-letters")
    assert "3 dead letters" in await browser.text("#dead-letter-count")

    dates = await _section(browser, DEPARTURE_FIRST)
    assert "retry cannot help" in dates and "impossible dates" in dates
    assert "Seaside" in dates and "4242" in dates and "G•••••• H••••••" in dates
    assert "2031-06-03" in dates and "Grace" not in dates and "Retry…" not in dates

    unmapped = await _section(browser, "reservation ")
    assert "fix first" in unmapped and "Map the room" in unmapped
    assert "not in Beds24 yet" in unmapped and "A•••••• L••••••" in unmapped
    assert "2031-07-01 → 2031-07-04" in unmapped and "failed for good on try 1" in unmapped

    passing = await _section(browser, "Beds24 failed on")
    assert "retry can help" in passing and "gave up after 3 tries" in passing

    inbound = made["inbound"]
    await browser.click(f'tr[data-event-id="{inbound.id}"] .resolve-one')
    await browser.wait_text("h1", "Resolve 1 failed event?")
    await browser.type("#note", "dates corrected in Beds24 by hand")
    await browser.click("#confirm")
    await browser.wait_text("#notice", "1 event resolved")
    assert "2 dead letters" in await browser.text("#dead-letter-count")
    assert str(inbound.id) not in await browser.source()

    await browser.go(f"/console/events/{inbound.id}")
    assert "failed for good on try 1" in await browser.text("#what-happened")
    assert "after 0" not in await browser.text("main")
    assert "Resolved by alice" in await browser.text("#resolution")
    assert "dates corrected" in await browser.text("#resolution")
    assert await browser.all("#resolve") == []
    await browser.go(f"/console/properties/{inbound.property_id}")
    assert await browser.text("#dead-letters .value") == "2"

    async with db.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT status, resolved_by FROM channel_events WHERE id = $1", inbound.id
        )
    assert dict(row) == {"status": "failed", "resolved_by": "alice"}


async def test_a_whole_reason_is_resolved_after_confirming_with_a_note(
    browser: Browser, db: asyncpg.Pool
) -> None:
    await _failures(db)
    await browser.login(await make_operator(db, "bob"))
    await browser.go("/console/dead-letters")
    buttons = await browser.all(".resolve-reason")
    assert len(buttons) == 3
    await browser.click("section.card .resolve-reason")
    await browser.wait_text("h1", "Resolve 1 failed event?")
    await browser.tick("#confirm")  # no note: the form is not sent (the note is required)
    assert await browser.path() == "/console/dead-letters/confirm"
    await browser.type("#note", "not ours")
    await browser.click("#confirm")
    await browser.wait_text("#notice", "1 event resolved")
    assert "2 dead letters" in await browser.text("#dead-letter-count")
