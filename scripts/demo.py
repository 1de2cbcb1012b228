"""`make demo`: the whole system end to end, with the evidence printed.

Starts the Beds24 sandbox and the four services against a fresh demo database, onboards a
demo property through the admin API (invite code → refresh token, webhook URL + secret header
set in the sandbox), maps its Beds24 room to PMS rooms, then runs the three demo scenarios:

  1. inbound:  a guest books on an OTA → Beds24 webhook → event → reservation in the PMS
  2. outbound: a reservation is created in the PMS → event → booking in Beds24
  3. DLQ:      Beds24 fails → event `failed` after 3 attempts → admin retry → `done`

Exits non-zero if any scenario fails, and stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_PORT = 8090
GATEWAY = "http://127.0.0.1:8080"
ADMIN = "http://127.0.0.1:8081"
SANDBOX = f"http://127.0.0.1:{SANDBOX_PORT}"
HEALTH = {
    "beds24-sandbox": f"{SANDBOX}/_sandbox/health",
    "webhook-gateway": f"{GATEWAY}/readyz",
    "admin-api": f"{ADMIN}/readyz",
    "inbound-worker": "http://127.0.0.1:8082/readyz",
    "outbound-worker": "http://127.0.0.1:8083/readyz",
}
ADMIN_TOKEN = os.environ.get("ADMIN_API_TOKEN", "demo-admin-token")
BASE_DSN = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/channel_sync")
DEMO_DB = "channel_sync_demo"
DEMO_DSN = BASE_DSN.rsplit("/", 1)[0] + f"/{DEMO_DB}"
T = TypeVar("T")


def say(text: str = "") -> None:
    print(text, flush=True)


def evidence(label: str, value: Any) -> None:
    say(f"    {label}: {json.dumps(value, default=str, sort_keys=True)}")


async def wait_until(what: str, probe: Callable[[], Awaitable[T | None]], timeout: float = 60) -> T:
    """Poll `probe` until it returns a value, showing progress; fail after `timeout`."""
    started = time.monotonic()
    shown = 0
    while True:
        value = await probe()
        if value:
            say(f"    ✓ {what} ({time.monotonic() - started:.1f}s)")
            return value
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            raise DemoFailed(f"timed out after {timeout:.0f}s waiting for {what}")
        if elapsed - shown >= 2:
            shown = int(elapsed)
            say(f"    … waiting for {what} ({elapsed:.0f}s)")
        await asyncio.sleep(0.2)  # polling interval under the deadline above


class DemoFailed(Exception):
    pass


# --- processes -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_stack() -> AsyncIterator[None]:
    env = {
        **os.environ,
        "DATABASE_URL": DEMO_DSN,
        "BEDS24_API_URL": f"{SANDBOX}/api/v2",
        "ADMIN_API_TOKEN": ADMIN_TOKEN,
        "PUBLIC_WEBHOOK_BASE_URL": GATEWAY,
        # Short delays so the DLQ scenario's three attempts take seconds, not minutes.
        "RETRY_DELAYS_MS": "1000,2000,4000",
        "LOG_LEVEL": "WARNING",
    }
    commands = {
        "beds24-sandbox": [sys.executable, "-m", "beds24_sandbox", "--port", str(SANDBOX_PORT),
                           "--log-level", "warning"],
        "webhook-gateway": ["webhook-gateway"],
        "inbound-worker": ["inbound-worker"],
        "outbound-worker": ["outbound-worker"],
        "admin-api": ["admin-api"],
    }
    logs = ROOT / ".run"
    logs.mkdir(exist_ok=True)
    procs: dict[str, asyncio.subprocess.Process] = {}
    try:
        for name, command in commands.items():
            log = (logs / f"demo-{name}.log").open("wb")
            procs[name] = await asyncio.create_subprocess_exec(
                *command, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
            )
        async with httpx.AsyncClient(timeout=2) as http:
            for name, url in HEALTH.items():
                await wait_until(f"{name} ready", lambda u=url, n=name: _ready(http, u, procs[n]))
        yield
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in procs.items():
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                say(f"    {name} did not stop in 30 s: killed")
        say(f"  stopped everything (logs in {logs.relative_to(ROOT)}/demo-*.log)")


async def _ready(http: httpx.AsyncClient, url: str, proc: asyncio.subprocess.Process) -> bool:
    if proc.returncode is not None:
        raise DemoFailed(f"{url} exited with {proc.returncode}; see .run/demo-*.log")
    try:
        return (await http.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


async def fresh_database() -> None:
    admin = await asyncpg.connect(BASE_DSN.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DEMO_DB}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DEMO_DB}"')
    finally:
        await admin.close()
    proc = await asyncio.create_subprocess_exec(
        "channel-sync-migrate", "upgrade", "head", env={**os.environ, "DATABASE_URL": DEMO_DSN}
    )
    if await proc.wait() != 0:
        raise DemoFailed("migrations failed")


# --- the demo ------------------------------------------------------------------------------


class Demo:
    def __init__(self, http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
        self.http = http
        self.db = db
        self.admin_headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        self.property_id: UUID | None = None
        self.beds24_property_id = 0
        self.beds24_room_id = 0
        self.rooms: list[UUID] = []

    async def call(self, method: str, url: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, url, **kwargs)
        if response.status_code >= 400:
            raise DemoFailed(f"{method} {url} answered {response.status_code}: {response.text}")
        return response.json() if response.content else None

    async def onboard(self) -> None:
        say("\n▶ Setup: a Beds24 account and property (sandbox), onboarded through the admin API")
        account = await self.call("POST", f"{SANDBOX}/_sandbox/accounts", json={})
        prop = await self.call(
            "POST", f"{SANDBOX}/_sandbox/properties",
            json={"account_id": account["account_id"], "name": "Demo Hotel",
                  "rooms": [{"name": "Double Room", "qty": 3}]},
        )
        self.beds24_property_id = prop["id"]
        self.beds24_room_id = prop["rooms"][0]["id"]
        registered = await self.call(
            "POST", f"{ADMIN}/admin/properties", headers=self.admin_headers,
            json={"name": "Demo Hotel", "beds24_property_id": self.beds24_property_id,
                  "invite_code": account["invite_code"]},
        )
        self.property_id = UUID(registered["property"]["property_id"])
        webhook = registered["webhook"]
        evidence("PMS property", str(self.property_id))
        evidence("webhook URL to paste into Beds24", webhook["url"])
        say("    custom header line: Authorization: Bearer <secret shown once, not printed>")
        await self.call(
            "PATCH", f"{SANDBOX}/_sandbox/properties/{self.beds24_property_id}",
            json={"webhook": {"urls": [webhook["url"]], "custom_header": webhook["custom_header"],
                              "version": "twoWithPersonalData"}},
        )
        room_type = await self.db.fetchval(
            "INSERT INTO room_types (property_id, name) VALUES ($1, 'Double') RETURNING id",
            self.property_id,
        )
        for number in ("101", "102", "103"):
            self.rooms.append(await self.db.fetchval(
                "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, $3) "
                "RETURNING id", self.property_id, room_type, number,
            ))
        await self.call(
            "PUT", f"{ADMIN}/admin/properties/{self.property_id}/mappings",
            headers=self.admin_headers,
            json={"mappings": [{"mapping_type": "room_type", "internal_id": str(room_type),
                                "external_id": str(self.beds24_room_id)}]},
        )
        evidence("room mapping", {"PMS room type Double (101-103)": self.beds24_room_id})

    async def inbound(self) -> None:
        say("\n▶ Scenario 1 — inbound: a guest books on an OTA; Beds24 sends the webhook")
        arrival = date.today() + timedelta(days=14)
        booking = await self.call(
            "POST", f"{SANDBOX}/_sandbox/guest-bookings",
            json={"propertyId": self.beds24_property_id, "roomId": self.beds24_room_id,
                  "arrival": arrival.isoformat(),
                  "departure": (arrival + timedelta(days=3)).isoformat(),
                  "firstName": "Ada", "lastName": "Lovelace", "numAdult": 2},
        )
        evidence("Beds24 booking", {k: booking[k] for k in ("id", "status", "arrival", "departure")})
        event = await wait_until("inbound event done", lambda: self.db.fetchrow(
            "SELECT id, event_type, status, attempts FROM channel_events "
            "WHERE direction = 'inbound' AND entity_external_id = $1 AND status = 'done'",
            str(booking["id"]),
        ))
        evidence("channel_events", dict(event))
        reservation = await self.db.fetchrow(
            "SELECT r.id, r.arrival, r.departure, r.status, rm.name AS room, "
            "r.beds24_booking_id FROM reservations r LEFT JOIN rooms rm ON rm.id = r.room_id "
            "WHERE r.beds24_booking_id = $1", booking["id"],
        )
        if reservation is None:
            raise DemoFailed("the event is done but no reservation carries the booking id")
        evidence("PMS reservation", dict(reservation))

    async def outbound(self) -> UUID:
        say("\n▶ Scenario 2 — outbound: the front desk creates a reservation in the PMS")
        arrival = date.today() + timedelta(days=21)
        reservation_id: UUID = await self.db.fetchval(
            "INSERT INTO reservations (property_id, room_id, arrival, departure, "
            "guest_first_name, guest_last_name, adults) "
            "VALUES ($1, $2, $3, $4, 'Grace', 'Hopper', 1) RETURNING id",
            self.property_id, self.rooms[1], arrival, arrival + timedelta(days=2),
        )
        evidence("PMS reservation", str(reservation_id))
        return await self._synced(reservation_id, "pms.booking.create")

    async def _synced(self, reservation_id: UUID, event_type: str) -> UUID:
        event = await wait_until("outbound event done", lambda: self.db.fetchrow(
            "SELECT id, event_type, status, attempts, last_error FROM channel_events "
            "WHERE direction = 'outbound' AND entity_internal_id = $1 AND event_type = $2 "
            "AND status = 'done'", reservation_id, event_type,
        ))
        evidence("channel_events", dict(event))
        beds24_id = await self.db.fetchval(
            "SELECT beds24_booking_id FROM reservations WHERE id = $1", reservation_id
        )
        booking = await self.call("GET", f"{SANDBOX}/_sandbox/bookings/{beds24_id}")
        evidence("booking in Beds24", {k: booking.get(k) for k in
                                       ("id", "status", "roomId", "arrival", "departure")})
        return UUID(str(event["id"]))

    async def dlq(self) -> None:
        say("\n▶ Scenario 3 — DLQ: Beds24 answers 500 to every booking write for a while")
        await self.call("POST", f"{SANDBOX}/_sandbox/faults",
                        json={"kind": "http_500", "count": 3, "method": "POST",
                              "path": "/bookings"})
        arrival = date.today() + timedelta(days=30)
        reservation_id: UUID = await self.db.fetchval(
            "INSERT INTO reservations (property_id, room_id, arrival, departure, "
            "guest_first_name, guest_last_name, adults) "
            "VALUES ($1, $2, $3, $4, 'Alan', 'Turing', 2) RETURNING id",
            self.property_id, self.rooms[2], arrival, arrival + timedelta(days=4),
        )
        failed = await wait_until("event failed after 3 attempts", lambda: self.db.fetchrow(
            "SELECT id, status, attempts, last_error FROM channel_events "
            "WHERE entity_internal_id = $1 AND event_type = 'pms.booking.create' "
            "AND status = 'failed'", reservation_id,
        ))
        evidence("failed event", dict(failed))
        listed = await self.call("GET", f"{ADMIN}/admin/events", headers=self.admin_headers,
                                 params={"status": "failed"})
        if str(failed["id"]) not in [e["id"] for e in listed["events"]]:
            raise DemoFailed("the failed event is missing from GET /admin/events?status=failed")
        say(f"    GET /admin/events?status=failed → {listed['total']} failed event(s), ours listed")
        retried = await self.call("POST", f"{ADMIN}/admin/events/{failed['id']}/retry",
                                  headers=self.admin_headers)
        evidence("POST /admin/events/{id}/retry", retried)
        await self._synced(reservation_id, "pms.booking.create")


async def main() -> int:
    say("Channel sync demo: Beds24 sandbox + webhook-gateway + inbound-worker + "
        "outbound-worker + admin-api")
    await fresh_database()
    failures: list[str] = []
    async with running_stack():
        db = await asyncpg.connect(DEMO_DSN)
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                demo = Demo(http, db)
                await demo.onboard()
                for name, scenario in (("inbound", demo.inbound), ("outbound", demo.outbound),
                                       ("DLQ", demo.dlq)):
                    try:
                        await scenario()
                        say(f"  ✔ {name} scenario passed")
                    except DemoFailed as exc:
                        failures.append(name)
                        say(f"  ✘ {name} scenario FAILED: {exc}")
        finally:
            await db.close()
    say("")
    if failures:
        say(f"demo: {len(failures)} scenario(s) failed: {', '.join(failures)}")
        return 1
    say("demo: all 3 scenarios passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except DemoFailed as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        sys.exit(1)
