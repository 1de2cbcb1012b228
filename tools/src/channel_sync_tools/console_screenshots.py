"""Screenshots of the ops console for the README:
`uv run --frozen python -m channel_sync_tools.console_screenshots`.

Seeds a scratch database with a small, made-up hotel day (bookings in both directions, a few
failures, credits, secrets, mappings), serves the admin-api on a free port, logs in with
headless Chromium (Debian's `chromium` and `chromium-driver`, as `make setup` installs) and
writes PNGs under docs/console/, at laptop and phone widths. The scratch database is dropped
afterwards.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
from admin_api.app import create_app
from admin_api.settings import AdminSettings
from channel_sync.db import connect
from channel_sync.events import Direction, EventStatus, NewChannelEvent
from channel_sync.pms_origin import mark_beds24_origin
from channel_sync.repository import ChannelEventRepository
from channel_sync_testing import infra
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import url_contains
from selenium.webdriver.support.wait import WebDriverWait

from channel_sync_tools.paths import ROOT
from channel_sync_tools.stack import SCRATCH_ADMIN_DSN, serve_app

OUT = ROOT / "docs" / "console"
TOKEN = "screenshot-token-" + uuid.uuid4().hex  # made up per run, never shown
LAPTOP = (1280, 860)
PHONE = (390, 844)
repo = ChannelEventRepository()


@dataclass(frozen=True)
class Event:
    """An event as the console lists it: what, about which booking, how it ended, when."""

    direction: Direction
    event_type: str
    booking: int
    status: EventStatus
    minutes_ago: float
    payload: dict[str, Any]
    last_error: str | None = None
    note: str | None = None
    reservation: uuid.UUID | None = None


def _created(booking: int, first: str, last: str, arrival: str, minutes_ago: float) -> Event:
    """A guest's booking that arrived by webhook and made a reservation."""
    payload = _guest(booking, first, last, arrival)
    return Event(
        Direction.INBOUND, "beds24.booking.created", booking, EventStatus.DONE, minutes_ago, payload
    )


async def _event(conn: asyncpg.Connection, property_id: uuid.UUID, event: Event) -> uuid.UUID:
    created = await repo.create(
        conn,
        NewChannelEvent(
            property_id=property_id,
            direction=event.direction,
            event_type=event.event_type,
            entity_type="booking",
            entity_external_id=str(event.booking),
            entity_internal_id=event.reservation,
            idempotency_key=f"screens:{uuid.uuid4()}",
            payload=event.payload,
            correlation_id=uuid.uuid4().hex[:16],
        ),
    )
    assert created is not None
    at = datetime.now(UTC) - timedelta(minutes=event.minutes_ago)
    await conn.execute(
        """UPDATE channel_events SET status = $2::varchar, last_error = $3, outcome_note = $4,
               attempts = $5, received_at = $6::timestamptz,
               processed_at = CASE WHEN $2::varchar IN ('done', 'failed')
                                   THEN $6::timestamptz + interval '2 s' END
           WHERE id = $1""",
        created.id,
        str(event.status),
        event.last_error,
        event.note,
        3 if event.status is EventStatus.FAILED else 1,
        at,
    )
    return created.id


async def _stay(conn: asyncpg.Connection, hotel: uuid.UUID) -> uuid.UUID:
    """A three-room OTA reservation (a Beds24 group) held as one stay, as the inbound
    worker leaves it: one reservation per room, each with its Beds24 booking and event."""
    group = [70412500, 70412501, 70412502]
    async with conn.transaction():
        await mark_beds24_origin(conn)  # applied from Beds24: no booking echoed back
        stay: uuid.UUID = await conn.fetchval(
            """INSERT INTO stays (property_id, beds24_master_id, beds24_group_ids,
                   channel_reference) VALUES ($1, $2, $3, 'BDC-4471902355') RETURNING id""",
            hotel,
            group[0],
            group,
        )
        rooms = await conn.fetch("SELECT id FROM rooms WHERE property_id = $1 ORDER BY name", hotel)
        for n, (booking, room) in enumerate(zip(group, rooms, strict=True)):
            reservation = await conn.fetchval(
                """INSERT INTO reservations (property_id, room_id, stay_id, beds24_booking_id,
                       beds24_room_id, arrival, departure, guest_first_name, guest_last_name,
                       adults, status)
                   VALUES ($1, $2, $3, $4, '117004', '2026-12-18', '2026-12-21', 'Grace',
                       'Hopper', 2, 'confirmed') RETURNING id""",
                hotel,
                room["id"],
                stay,
                booking,
            )
            made = _created(booking, "Grace", "Hopper", "2026-12-18", 9 - n)
            await _event(conn, hotel, replace(made, reservation=reservation))
        # The nights the stay took, as the outbound worker leaves them once sent.
        await conn.execute(
            """UPDATE channel_events SET status = 'done', processed_at = now()
               WHERE entity_type = 'availability' AND status = 'received'"""
        )
    return stay


def _guest(booking: int, first: str, last: str, arrival: str) -> dict[str, Any]:
    return {
        "booking": {
            "id": booking,
            "propertyId": 48213,
            "roomId": 117004,
            "status": "confirmed",
            "arrival": arrival,
            "departure": "2026-12-06",
            "numAdult": 2,
            "numChild": 0,
            "firstName": first,
            "lastName": last,
            "email": f"{first.lower()}.{last.lower()}@example.com",
            "mobile": "+44 7700 900123",
            "price": 412.5,
            "modifiedTime": "2026-11-26T07:41:09Z",
        },
        "source": "webhook",
    }


async def seed(dsn: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """Returns the ids of what pages are shown for: a failed event, a guest's change, and a
    three-room stay."""
    conn = await connect(dsn)
    try:
        seaside = await conn.fetchval(
            "INSERT INTO hotel_settings (name, timezone) VALUES ('Seaside Hotel', "
            "'Europe/London') RETURNING id"
        )
        hilltop = await conn.fetchval(
            "INSERT INTO hotel_settings (name, timezone) VALUES ('Hilltop Lodge', "
            "'Europe/Lisbon') RETURNING id"
        )
        await conn.fetchval(
            "INSERT INTO hotel_settings (name) VALUES ('Harbour Inn (not connected yet)') "
            "RETURNING id"
        )
        for hotel, b24, account, polled in (
            (seaside, 48213, "acct-51", 1),
            (hilltop, 50920, "acct-77", 4),
        ):
            await conn.execute(
                """INSERT INTO beds24_properties (property_id, beds24_property_id, account_id,
                       refresh_token, last_polled_at)
                   VALUES ($1, $2, $3, 'made-up', now() - make_interval(mins => $4))""",
                hotel,
                b24,
                account,
                polled,
            )
            await conn.execute(
                "INSERT INTO webhook_secrets (property_id, secret_sha256) VALUES ($1, $2)",
                hotel,
                "0" * 64,
            )
        await conn.execute(
            """INSERT INTO beds24_credit_budgets (account_id, remaining, resets_at) VALUES
               ('acct-51', $1, now() + interval '3 minutes'),
               ('acct-77', $2, now() + interval '1 minute')""",
            Decimal("812"),
            Decimal("41"),
        )
        double = await conn.fetchval(
            "INSERT INTO room_types (property_id, name) VALUES ($1, 'Double') RETURNING id",
            seaside,
        )
        for name, unit in (("Room 101", "1"), ("Room 102", "2"), ("Room 103", "3")):
            room = await conn.fetchval(
                "INSERT INTO rooms (property_id, name, room_type_id) VALUES ($1, $2, $3) "
                "RETURNING id",
                seaside,
                name,
                double,
            )
            await conn.execute(
                """INSERT INTO channel_mappings (property_id, mapping_type, internal_id,
                       external_id, external_unit_id, is_active)
                   VALUES ($1, 'room', $2, '117004', $3, true)""",
                seaside,
                room,
                unit,
            )
        reservation = uuid.uuid4()
        ada = _guest(70412233, "Ada", "Lovelace", "2026-12-03")
        ada_booked = replace(
            _created(70412233, "Ada", "Lovelace", "2026-12-03", 95),
            note="reservation created in Room 101",
            reservation=reservation,
        )
        refused = Event(
            Direction.OUTBOUND,
            "pms.booking.update",
            70412233,
            EventStatus.FAILED,
            31,
            {"reservation_id": str(reservation), "beds24_booking_id": 70412233},
            last_error="Beds24 refused the change: room 117004 has no unit free on "
            "2026-12-04 (the front desk moved the guest to a room Beds24 sells out)",
            reservation=reservation,
        )
        changed = Event(
            Direction.INBOUND,
            "beds24.booking.modified",
            70412233,
            EventStatus.DONE,
            12,
            ada,
            note="departure moved to 2026-12-06",
            reservation=reservation,
        )
        await _event(conn, seaside, ada_booked)
        shown = await _event(conn, seaside, refused)
        guest_change = await _event(conn, seaside, changed)
        names = [
            ("Grace", "Hopper"),
            ("Alan", "Turing"),
            ("Edsger", "Dijkstra"),
            ("Barbara", "Liskov"),
            ("Donald", "Knuth"),
            ("Frances", "Allen"),
        ]
        day: list[tuple[uuid.UUID, Event]] = [
            (
                hilltop if i % 2 else seaside,
                replace(
                    _created(70412300 + i, first, last, "2026-12-10", 80 - i * 9),
                    note="reservation created",
                ),
            )
            for i, (first, last) in enumerate(names)
        ]
        unmapped = "no PMS room is mapped to Beds24 room 117099: map it, then retry"
        day += [
            (
                hilltop,
                replace(
                    _created(70412400 + i, "Guest", f"Number{i}", "2026-12-12", 50 - i),
                    status=EventStatus.FAILED,
                    last_error=unmapped,
                ),
            )
            for i in range(3)
        ]
        day += [
            (
                seaside,
                Event(
                    Direction.OUTBOUND,
                    "pms.booking.cancel",
                    70412310,
                    EventStatus.FAILED,
                    22,
                    {"beds24_booking_id": 70412310},
                    last_error="Beds24 credits exhausted until 08:05 UTC; retried 3 times",
                ),
            ),
            (
                seaside,
                Event(
                    Direction.OUTBOUND,
                    "pms.booking.create",
                    70412320,
                    EventStatus.PROCESSING,
                    1,
                    {"beds24_booking_id": None},
                ),
            ),
        ]
        for hotel, event in day:
            await _event(conn, hotel, event)
        stay = await _stay(conn, seaside)
        return shown, guest_change, stay
    finally:
        await conn.close()


async def main() -> int:
    name, dsn = await infra.create_database(SCRATCH_ADMIN_DSN, prefix="chsync_screens")
    try:
        await asyncio.to_thread(infra.migrate, dsn)
        shown = await seed(dsn)
        values: dict[str, Any] = {  # as the environment gives them: text
            "database_url": dsn,
            "admin_api_token": TOKEN,
            "amqp_start_wait_s": 1.0,
            "public_webhook_base_url": "https://sync.example.com",
        }
        settings = AdminSettings(**values)
        async with serve_app(create_app(settings), "admin-api") as url:
            await asyncio.to_thread(shoot, url, *shown)
    finally:
        await infra.drop_database(SCRATCH_ADMIN_DSN, name)
    print(f"screenshots written to {OUT.relative_to(ROOT)}/")
    return 0


def shoot(base: str, failed: uuid.UUID, guest_change: uuid.UUID, stay: uuid.UUID) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars"):
        options.add_argument(flag)
    service = Service(executable_path=os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.set_window_size(*LAPTOP)
        driver.get(base + "/console/login")
        _save(driver, "login")
        driver.find_element(By.ID, "token").send_keys(TOKEN)
        driver.find_element(By.ID, "login").click()
        WebDriverWait(driver, 10).until(url_contains("/console/events"))
        _save(driver, "events")
        driver.get(base + f"/console/events/{failed}")
        _save(driver, "event")
        driver.get(base + "/console/dead-letters")
        _save(driver, "dead-letters")
        driver.get(base + "/console/properties")
        _save(driver, "properties")
        driver.find_element(By.LINK_TEXT, "Seaside Hotel").click()
        WebDriverWait(driver, 10).until(url_contains("/console/properties/"))
        _save(driver, "property")
        driver.find_element(By.ID, "edit-mappings").click()
        WebDriverWait(driver, 10).until(url_contains("/mappings"))
        _save(driver, "mappings")
        driver.get(base + "/console/properties/new")
        _save(driver, "onboarding")
        driver.get(base + "/console/stays")
        _save(driver, "stays")
        driver.get(base + f"/console/stays/{stay}")
        _save(driver, "stay")
        driver.set_window_size(*PHONE)
        driver.get(base + "/console/events?status=failed")
        _save(driver, "phone-events")
        driver.get(base + f"/console/events/{guest_change}")
        _save(driver, "phone-event")
    finally:
        driver.quit()


def _save(driver: webdriver.Chrome, name: str) -> None:
    """The whole page: the window grows to the document's height first."""
    width = driver.get_window_size()["width"]
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(int(height) + 100, 600), 4000))
    driver.save_screenshot(str(OUT / f"{name}.png"))
    print(f"  {name}.png")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
