"""`make demo`: the whole system end to end, with the evidence printed.

Starts the Beds24 sandbox and the four services against a fresh demo database, onboards a
demo property through the admin API (invite code → refresh token, webhook URL + secret header
set in the sandbox), maps its Beds24 room to PMS rooms, then runs the three demo scenarios:

  1. inbound:  a guest books on an OTA → Beds24 webhook → event → reservation in the PMS
  2. outbound: a reservation is created in the PMS → event → booking in Beds24
  3. DLQ:      Beds24 fails → event `failed` after 3 attempts → admin retry → `done`
  4. sync:     a hotel with bookings on both sides is connected (initial sync); drift made
               on each side is found and repaired by a reconciliation (`demo_sync.py`)
  5. stays:    a three-room OTA reservation arrives as one stay; a three-room PMS stay
               leaves as one Beds24 group in one call (`demo_stays.py`)
  6. rates:    a price and a minimum stay changed in the PMS are in Beds24's calendar
               seconds later; a price changed by hand in Beds24 is found and repaired by a
               reconciliation (`demo_rates.py`)
  7. holds:    a hold on the last room takes it off Beds24 within seconds, a second hold is
               refused, and its expiry gives the room back (`demo_holds.py`)

Exits non-zero if any scenario fails, and stops everything it started.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from demo_holds import inventory_hold
from demo_rates import rates_and_restrictions
from demo_stays import multi_room_stays
from demo_sync import connect_busy_hotel
from stack import (
    ADMIN,
    SANDBOX,
    StackFailed,
    fresh_database,
    running_stack,
    say,
    wait_until,
)

ADMIN_TOKEN = os.environ.get("ADMIN_API_TOKEN", "demo-admin-token")
BASE_DSN = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/channel_sync")


def evidence(label: str, value: Any) -> None:
    say(f"    {label}: {json.dumps(value, default=str, sort_keys=True)}")


# --- the demo ------------------------------------------------------------------------------


class Demo:
    def __init__(self, http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
        self.http = http
        self.db = db
        self.admin_headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        self.property_id: UUID | None = None
        self.beds24_property_id = 0
        self.beds24_room_id = 0
        self.refresh_token = ""
        self.rooms: list[UUID] = []

    async def call(self, method: str, url: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, url, **kwargs)
        if response.status_code >= 400:
            raise StackFailed(f"{method} {url} answered {response.status_code}: {response.text}")
        return response.json() if response.content else None

    async def onboard(self) -> None:
        say("\n▶ Setup: a Beds24 account and property (sandbox), onboarded through the admin API")
        account = await self.call("POST", f"{SANDBOX}/_sandbox/accounts", json={})
        prop = await self.call(
            "POST",
            f"{SANDBOX}/_sandbox/properties",
            json={
                "account_id": account["account_id"],
                "name": "Demo Hotel",
                "rooms": [{"name": "Double Room", "qty": 3}],
            },
        )
        self.beds24_property_id = prop["id"]
        self.beds24_room_id = prop["rooms"][0]["id"]
        self.refresh_token = account["refresh_token"]
        registered = await self.call(
            "POST",
            f"{ADMIN}/admin/properties",
            headers=self.admin_headers,
            json={
                "name": "Demo Hotel",
                "beds24_property_id": self.beds24_property_id,
                "invite_code": account["invite_code"],
            },
        )
        self.property_id = UUID(registered["property"]["property_id"])
        webhook = registered["webhook"]
        evidence("PMS property", str(self.property_id))
        evidence("webhook URL to paste into Beds24", webhook["url"])
        say("    custom header line: Authorization: Bearer <secret shown once, not printed>")
        await self.call(
            "PATCH",
            f"{SANDBOX}/_sandbox/properties/{self.beds24_property_id}",
            json={
                "webhook": {
                    "urls": [webhook["url"]],
                    "custom_header": webhook["custom_header"],
                    "version": "twoWithPersonalData",
                }
            },
        )
        room_type = await self.db.fetchval(
            "INSERT INTO room_types (property_id, name) VALUES ($1, 'Double') RETURNING id",
            self.property_id,
        )
        for number in ("101", "102", "103"):
            self.rooms.append(
                await self.db.fetchval(
                    "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, $3) "
                    "RETURNING id",
                    self.property_id,
                    room_type,
                    number,
                )
            )
        await self.call(
            "PUT",
            f"{ADMIN}/admin/properties/{self.property_id}/mappings",
            headers=self.admin_headers,
            json={
                "mappings": [
                    {
                        "mapping_type": "room_type",
                        "internal_id": str(room_type),
                        "external_id": str(self.beds24_room_id),
                    }
                ]
            },
        )
        evidence("room mapping", {"PMS room type Double (101-103)": self.beds24_room_id})

    async def inbound(self) -> None:
        say("\n▶ Scenario 1 — inbound: a guest books on an OTA; Beds24 sends the webhook")
        arrival = date.today() + timedelta(days=14)
        booking = await self.call(
            "POST",
            f"{SANDBOX}/_sandbox/guest-bookings",
            json={
                "propertyId": self.beds24_property_id,
                "roomId": self.beds24_room_id,
                "arrival": arrival.isoformat(),
                "departure": (arrival + timedelta(days=3)).isoformat(),
                "firstName": "Ada",
                "lastName": "Lovelace",
                "numAdult": 2,
            },
        )
        evidence(
            "Beds24 booking", {k: booking[k] for k in ("id", "status", "arrival", "departure")}
        )
        event = await wait_until(
            "inbound event done",
            lambda: self.db.fetchrow(
                "SELECT id, event_type, status, attempts FROM channel_events "
                "WHERE direction = 'inbound' AND entity_external_id = $1 AND status = 'done'",
                str(booking["id"]),
            ),
        )
        evidence("channel_events", dict(event))
        reservation = await self.db.fetchrow(
            "SELECT r.id, r.arrival, r.departure, r.status, rm.name AS room, "
            "r.beds24_booking_id FROM reservations r LEFT JOIN rooms rm ON rm.id = r.room_id "
            "WHERE r.beds24_booking_id = $1",
            booking["id"],
        )
        if reservation is None:
            raise StackFailed("the event is done but no reservation carries the booking id")
        evidence("PMS reservation", dict(reservation))

    async def outbound(self) -> UUID:
        say("\n▶ Scenario 2 — outbound: the front desk creates a reservation in the PMS")
        arrival = date.today() + timedelta(days=21)
        reservation_id: UUID = await self.db.fetchval(
            "INSERT INTO reservations (property_id, room_id, arrival, departure, "
            "guest_first_name, guest_last_name, adults) "
            "VALUES ($1, $2, $3, $4, 'Grace', 'Hopper', 1) RETURNING id",
            self.property_id,
            self.rooms[1],
            arrival,
            arrival + timedelta(days=2),
        )
        evidence("PMS reservation", str(reservation_id))
        return await self._synced(reservation_id, "pms.booking.create")

    async def _synced(self, reservation_id: UUID, event_type: str) -> UUID:
        event = await wait_until(
            "outbound event done",
            lambda: self.db.fetchrow(
                "SELECT id, event_type, status, attempts, last_error FROM channel_events "
                "WHERE direction = 'outbound' AND entity_internal_id = $1 AND event_type = $2 "
                "AND status = 'done'",
                reservation_id,
                event_type,
            ),
        )
        evidence("channel_events", dict(event))
        beds24_id = await self.db.fetchval(
            "SELECT beds24_booking_id FROM reservations WHERE id = $1", reservation_id
        )
        booking = await self.call("GET", f"{SANDBOX}/_sandbox/bookings/{beds24_id}")
        evidence(
            "booking in Beds24",
            {k: booking.get(k) for k in ("id", "status", "roomId", "arrival", "departure")},
        )
        return UUID(str(event["id"]))

    async def dlq(self) -> None:
        say("\n▶ Scenario 3 — DLQ: Beds24 answers 500 to every booking write for a while")
        await self.call(
            "POST",
            f"{SANDBOX}/_sandbox/faults",
            json={"kind": "http_500", "count": 3, "method": "POST", "path": "/bookings"},
        )
        arrival = date.today() + timedelta(days=30)
        reservation_id: UUID = await self.db.fetchval(
            "INSERT INTO reservations (property_id, room_id, arrival, departure, "
            "guest_first_name, guest_last_name, adults) "
            "VALUES ($1, $2, $3, $4, 'Alan', 'Turing', 2) RETURNING id",
            self.property_id,
            self.rooms[2],
            arrival,
            arrival + timedelta(days=4),
        )
        failed = await wait_until(
            "event failed after 3 attempts",
            lambda: self.db.fetchrow(
                "SELECT id, status, attempts, last_error FROM channel_events "
                "WHERE entity_internal_id = $1 AND event_type = 'pms.booking.create' "
                "AND status = 'failed'",
                reservation_id,
            ),
        )
        evidence("failed event", dict(failed))
        listed = await self.call(
            "GET", f"{ADMIN}/admin/events", headers=self.admin_headers, params={"status": "failed"}
        )
        if str(failed["id"]) not in [e["id"] for e in listed["events"]]:
            raise StackFailed("the failed event is missing from GET /admin/events?status=failed")
        say(f"    GET /admin/events?status=failed → {listed['total']} failed event(s), ours listed")
        retried = await self.call(
            "POST", f"{ADMIN}/admin/events/{failed['id']}/retry", headers=self.admin_headers
        )
        evidence("POST /admin/events/{id}/retry", retried)
        await self._synced(reservation_id, "pms.booking.create")

    async def stays(self) -> None:
        assert self.property_id is not None
        await multi_room_stays(self, self.property_id, self.beds24_property_id, self.beds24_room_id)


async def main() -> int:
    say(
        "Channel sync demo: Beds24 sandbox + webhook-gateway + inbound-worker + "
        "outbound-worker + admin-api"
    )
    dsn = await fresh_database(BASE_DSN, "channel_sync_demo")
    failures: list[str] = []
    # Short retry delays so the DLQ scenario's three attempts take seconds, not minutes.
    async with running_stack(
        "demo",
        dsn,
        ADMIN_API_TOKEN=ADMIN_TOKEN,
        RETRY_DELAYS_MS="1000,2000,4000",
        SYNC_EVERY_S="1",
        SYNC_SETTLE_S="30",
    ):
        db = await asyncpg.connect(dsn)
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                demo = Demo(http, db)
                await demo.onboard()
                for name, scenario in (
                    ("inbound", demo.inbound),
                    ("outbound", demo.outbound),
                    ("DLQ", demo.dlq),
                    ("sync", lambda: connect_busy_hotel(demo)),
                    ("stays", demo.stays),
                    ("rates", lambda: rates_and_restrictions(demo)),
                    ("holds", lambda: inventory_hold(demo)),
                ):
                    try:
                        await scenario()
                        say(f"  ✔ {name} scenario passed")
                    except StackFailed as exc:
                        failures.append(name)
                        say(f"  ✘ {name} scenario FAILED: {exc}")
        finally:
            await db.close()
    say("")
    if failures:
        say(f"demo: {len(failures)} scenario(s) failed: {', '.join(failures)}")
        return 1
    say("demo: all 7 scenarios passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except StackFailed as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        sys.exit(1)
