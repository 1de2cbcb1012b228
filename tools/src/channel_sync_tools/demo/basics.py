"""The demo's setup and its first three scenarios.

setup:    a Beds24 account and property (sandbox) onboarded through the admin API (invite
          code → refresh token, webhook URL + secret header set in the sandbox), its room
          mapped to three PMS rooms
1. inbound:  a guest books on an OTA → Beds24 webhook → event → reservation in the PMS
2. outbound: a reservation is created in the PMS → event → booking in Beds24
3. DLQ:      Beds24 fails → event `failed` after 3 attempts → admin retry → `done`
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from channel_sync_tools.api import StackApi
from channel_sync_tools.demo.base import Demo, day, desk_booking
from channel_sync_tools.onboarding import onboard
from channel_sync_tools.output import evidence, say
from channel_sync_tools.stack import StackFailed, wait_until


async def setup(api: StackApi, db: asyncpg.Connection) -> Demo:
    say("\n▶ Setup: a Beds24 account and property (sandbox), onboarded through the admin API")
    hotel = await onboard(api, db, "Demo Hotel", {"Double": ("101", "102", "103")})
    evidence("PMS property", str(hotel.property_id))
    evidence("webhook URL to paste into Beds24", hotel.webhook_url)
    say("    custom header line: Authorization: Bearer <secret shown once, not printed>")
    evidence("room mapping", {"PMS room type Double (101-103)": hotel.beds24_room()})
    return Demo(api, db, hotel)


async def inbound(demo: Demo) -> None:
    say("\n▶ Scenario 1 — inbound: a guest books on an OTA; Beds24 sends the webhook")
    hotel, db = demo.hotel, demo.db
    booking = await demo.api.sandbox.guest_booking(
        hotel.beds24_room(),
        day(14),
        day(17),
        propertyId=hotel.beds24.id,
        firstName="Ada",
        lastName="Lovelace",
        numAdult=2,
    )
    evidence("Beds24 booking", {k: booking[k] for k in ("id", "status", "arrival", "departure")})
    event = await wait_until(
        "inbound event done",
        lambda: db.fetchrow(
            "SELECT id, event_type, status, attempts FROM channel_events "
            "WHERE direction = 'inbound' AND entity_external_id = $1 AND status = 'done'",
            str(booking["id"]),
        ),
    )
    evidence("channel_events", dict(event))
    reservation = await db.fetchrow(
        "SELECT r.id, r.arrival, r.departure, r.status, rm.name AS room, "
        "r.beds24_booking_id FROM reservations r LEFT JOIN rooms rm ON rm.id = r.room_id "
        "WHERE r.beds24_booking_id = $1",
        booking["id"],
    )
    if reservation is None:
        raise StackFailed("the event is done but no reservation carries the booking id")
    evidence("PMS reservation", dict(reservation))


async def outbound(demo: Demo) -> None:
    say("\n▶ Scenario 2 — outbound: the front desk creates a reservation in the PMS")
    hotel = demo.hotel
    reservation = await desk_booking(
        demo.db,
        hotel.property_id,
        hotel.rooms()[1],
        day(21),
        day(23),
        "Hopper",
        first_name="Grace",
        adults=1,
    )
    evidence("PMS reservation", str(reservation))
    await _synced(demo, reservation)


async def dlq(demo: Demo) -> None:
    say("\n▶ Scenario 3 — DLQ: Beds24 answers 500 to every booking write for a while")
    api, hotel = demo.api, demo.hotel
    await api.sandbox.inject_fault("http_500", count=3, method="POST", path="/bookings")
    reservation = await desk_booking(
        demo.db, hotel.property_id, hotel.rooms()[2], day(30), day(34), "Turing", first_name="Alan"
    )
    failed = await wait_until(
        "event failed after 3 attempts",
        lambda: demo.db.fetchrow(
            "SELECT id, status, attempts, last_error FROM channel_events "
            "WHERE entity_internal_id = $1 AND event_type = 'pms.booking.create' "
            "AND status = 'failed'",
            reservation,
        ),
    )
    evidence("failed event", dict(failed))
    listed = await api.admin("GET", "/admin/events", params={"status": "failed"})
    if str(failed["id"]) not in [e["id"] for e in listed["events"]]:
        raise StackFailed("the failed event is missing from GET /admin/events?status=failed")
    say(f"    GET /admin/events?status=failed → {listed['total']} failed event(s), ours listed")
    retried = await api.admin("POST", f"/admin/events/{failed['id']}/retry")
    evidence("POST /admin/events/{id}/retry", retried)
    await _synced(demo, reservation)


async def _synced(demo: Demo, reservation: UUID) -> None:
    """The reservation's create event done, and the booking it made in Beds24."""
    event = await wait_until(
        "outbound event done",
        lambda: demo.db.fetchrow(
            "SELECT id, event_type, status, attempts, last_error FROM channel_events "
            "WHERE direction = 'outbound' AND entity_internal_id = $1 "
            "AND event_type = 'pms.booking.create' AND status = 'done'",
            reservation,
        ),
    )
    evidence("channel_events", dict(event))
    beds24_id = await demo.db.fetchval(
        "SELECT beds24_booking_id FROM reservations WHERE id = $1", reservation
    )
    booking = await demo.api.sandbox.booking(beds24_id)
    evidence(
        "booking in Beds24",
        {k: booking.get(k) for k in ("id", "status", "roomId", "arrival", "departure")},
    )
