"""`make bench`: throughput and latency figures of the running system (prints, never asserts).

Runs the sandbox and the four services as real processes against a fresh database, then:
  1. inbound:  N Beds24 webhooks posted to the gateway with C concurrent senders → gateway
     requests/s and latency percentiles; time until every booking is a PMS reservation.
  2. outbound: M changes to R reservations in a burst → time until every outbound event is
     done, and how many Beds24 calls that took.
  3. reconcile: a second 60-room hotel with B future bookings in Beds24 is connected (initial
     sync through the admin API), then fully reconciled → the credits and minutes the
     reconciliation took (the bound: 25 credits for 1,000 bookings).
Sizes: BENCH_WEBHOOKS (default 1000), BENCH_CONCURRENCY (20), BENCH_CHANGES (1000),
BENCH_RESERVATIONS (50), BENCH_SYNC_BOOKINGS (1000).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from stack import ADMIN, SANDBOX, fresh_database, running_stack, say, wait_until

WEBHOOKS = int(os.environ.get("BENCH_WEBHOOKS", "1000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "20"))
CHANGES = int(os.environ.get("BENCH_CHANGES", "1000"))
RESERVATIONS = int(os.environ.get("BENCH_RESERVATIONS", "50"))
SYNC_BOOKINGS = int(os.environ.get("BENCH_SYNC_BOOKINGS", "1000"))
ROOMS = 60
ADMIN_TOKEN = "bench-admin-token"  # noqa: S105 - a throwaway stack's token
BASE_DSN = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/channel_sync")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


async def onboard(
    http: httpx.AsyncClient,
    db: asyncpg.Connection,
    name: str = "Bench Hotel",
    account_limits: dict[str, float] | None = None,
) -> dict[str, Any]:
    limits = account_limits or {"credit_limit": 100, "window_s": 300}
    account = (await http.post(f"{SANDBOX}/_sandbox/accounts", json=limits)).json()
    prop = (
        await http.post(
            f"{SANDBOX}/_sandbox/properties",
            json={
                "account_id": account["account_id"],
                "name": name,
                "rooms": [{"name": "Double", "qty": ROOMS}],
            },
        )
    ).json()
    registered = (
        await http.post(
            f"{ADMIN}/admin/properties",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            json={
                "name": name,
                "beds24_property_id": prop["id"],
                "invite_code": account["invite_code"],
            },
        )
    ).json()
    property_id = UUID(registered["property"]["property_id"])
    room_type = await db.fetchval(
        "INSERT INTO room_types (property_id, name) VALUES ($1, 'Double') RETURNING id", property_id
    )
    rooms = [
        await db.fetchval(
            "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, $3) RETURNING id",
            property_id,
            room_type,
            str(100 + i),
        )
        for i in range(ROOMS)
    ]
    await http.put(
        f"{ADMIN}/admin/properties/{property_id}/mappings",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        json={
            "mappings": [
                {
                    "mapping_type": "room_type",
                    "internal_id": str(room_type),
                    "external_id": str(prop["rooms"][0]["id"]),
                }
            ]
        },
    )
    return {
        "property_id": property_id,
        "account_id": account["account_id"],
        "beds24_property_id": prop["id"],
        "beds24_room_id": prop["rooms"][0]["id"],
        "rooms": rooms,
        "header": registered["webhook"]["custom_header"],
        "url": registered["webhook"]["url"],
    }


async def bench_inbound(
    http: httpx.AsyncClient, db: asyncpg.Connection, setup: dict[str, Any]
) -> None:
    say(f"\n▶ inbound: {WEBHOOKS} webhooks, {CONCURRENCY} concurrent senders")
    name, value = setup["header"].split(":", 1)
    headers = {name.strip(): value.strip(), "Content-Type": "application/json"}
    today = date.today()
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")

    def body(i: int) -> dict[str, Any]:
        arrival = today + timedelta(days=7 + 3 * (i // ROOMS))
        return {
            "timeStamp": stamp + "Z",
            "retries": 0,
            "booking": {
                "id": 90_000_000 + i,
                "propertyId": setup["beds24_property_id"],
                "roomId": setup["beds24_room_id"],
                "status": "confirmed",
                "arrival": arrival.isoformat(),
                "departure": (arrival + timedelta(days=2)).isoformat(),
                "numAdult": 2,
                "firstName": "Bench",
                "lastName": f"Guest{i}",
                "modifiedTime": stamp,
            },
        }

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(WEBHOOKS):
        queue.put_nowait(i)

    async def sender() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            started = time.perf_counter()
            response = await http.post(setup["url"], json=body(i), headers=headers)
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
    sent = time.perf_counter() - started
    say(f"    gateway: {WEBHOOKS / sent:.0f} webhooks/s stored+published; answers {statuses}")
    say(
        f"    latency ms: p50 {percentile(latencies, 50) * 1000:.1f}, "
        f"p95 {percentile(latencies, 95) * 1000:.1f}, p99 {percentile(latencies, 99) * 1000:.1f}, "
        f"mean {statistics.mean(latencies) * 1000:.1f}"
    )

    async def applied() -> bool:
        done = await db.fetchval(
            "SELECT count(*) FROM channel_events WHERE direction = "
            "'inbound' AND status IN ('done', 'failed')"
        )
        return bool(done >= WEBHOOKS)

    await wait_until("every inbound event settled", applied, timeout=600, quiet=True)
    total = time.perf_counter() - started
    counts = dict(
        await db.fetch(
            "SELECT status, count(*) FROM channel_events "
            "WHERE direction = 'inbound' GROUP BY status"
        )
    )
    placed = await db.fetchval(
        "SELECT count(*) FROM reservations WHERE beds24_booking_id "
        "IS NOT NULL AND room_id IS NOT NULL"
    )
    say(
        f"    end to end: {WEBHOOKS / total:.0f} bookings/s applied ({total:.1f}s); "
        f"events {counts}; reservations placed in rooms: {placed}"
    )


async def bench_outbound(
    http: httpx.AsyncClient, db: asyncpg.Connection, setup: dict[str, Any]
) -> None:
    say(f"\n▶ outbound: {CHANGES} changes to {RESERVATIONS} PMS reservations in a burst")
    await http.delete(f"{SANDBOX}/_sandbox/calls")
    today = date.today()
    ids = [
        await db.fetchval(
            "INSERT INTO reservations (property_id, room_id, arrival, departure, guest_first_name, "
            "guest_last_name, adults) VALUES ($1, $2, $3, $4, 'Out', $5, 1) RETURNING id",
            setup["property_id"],
            setup["rooms"][i % ROOMS],
            today + timedelta(days=400 + 3 * (i // ROOMS)),
            today + timedelta(days=402 + 3 * (i // ROOMS)),
            f"Bound{i}",
        )
        for i in range(RESERVATIONS)
    ]
    started = time.perf_counter()
    for n in range(CHANGES - RESERVATIONS):
        await db.execute(
            "UPDATE reservations SET adults = $2 WHERE id = $1", ids[n % RESERVATIONS], 1 + n % 4
        )
    written = time.perf_counter() - started

    async def settled() -> bool:
        open_events = await db.fetchval(
            "SELECT count(*) FROM channel_events WHERE direction = "
            "'outbound' AND status IN ('received', 'processing')"
        )
        return open_events == 0

    await wait_until("every outbound event settled", settled, timeout=900, quiet=True)
    total = time.perf_counter() - started
    counts = dict(
        await db.fetch(
            "SELECT status, count(*) FROM channel_events "
            "WHERE direction = 'outbound' GROUP BY status"
        )
    )
    calls = (await http.get(f"{SANDBOX}/_sandbox/calls")).json()
    calls = calls.get("calls", calls) if isinstance(calls, dict) else calls
    posts = [c for c in calls if c.get("method") == "POST"]
    refused = [c for c in calls if c.get("status") == 429]
    say(
        f"    PMS writes: {CHANGES} in {written:.1f}s; all synced after {total:.1f}s "
        f"({CHANGES / total:.0f} changes/s)"
    )
    say(
        f"    outbound events {counts}; Beds24 calls: {len(calls)} ({len(posts)} POST), "
        f"refused for credits: {len(refused)}"
    )


async def bench_reconcile(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    say(f"\n▶ reconcile: a {ROOMS}-room hotel with {SYNC_BOOKINGS} future bookings in Beds24")
    # Its own account, with a window longer than the run, so the sandbox's count of credits
    # used is the whole cost; its calls are also summed one by one below.
    setup = await onboard(http, db, "Reconciled Hotel", {"credit_limit": 100_000, "window_s": 3600})
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    today = date.today()
    for i in range(SYNC_BOOKINGS):
        arrival = today + timedelta(days=1 + 2 * (i // ROOMS))
        made = await http.post(
            f"{SANDBOX}/_sandbox/guest-bookings",
            json={
                "roomId": setup["beds24_room_id"],
                "arrival": arrival.isoformat(),
                "departure": (arrival + timedelta(days=2)).isoformat(),
                "lastName": f"Existing{i}",
            },
        )
        made.raise_for_status()

    async def run_done(run_id: str) -> dict[str, Any] | None:
        run = (await http.get(f"{ADMIN}/admin/sync-runs/{run_id}", headers=admin)).json()
        busy = await db.fetchval(
            "SELECT count(*) FROM channel_events WHERE property_id = $1 "
            "AND status IN ('received', 'processing')",
            setup["property_id"],
        )
        return run if run["status"] == "done" and busy == 0 else None

    async def run(kind: str) -> tuple[dict[str, Any], float, float]:
        """The run, its minutes, and the credits its account spent meanwhile."""
        await http.delete(f"{SANDBOX}/_sandbox/calls")
        started = time.perf_counter()
        path = "initial-sync" if kind == "initial" else "reconcile"
        requested = await http.post(
            f"{ADMIN}/admin/properties/{setup['property_id']}/{path}", headers=admin
        )
        requested.raise_for_status()
        done = await wait_until(
            f"the {kind} run", lambda: run_done(requested.json()["id"]), timeout=1800, quiet=True
        )
        minutes = (time.perf_counter() - started) / 60
        calls = (await http.get(f"{SANDBOX}/_sandbox/calls")).json()
        calls = calls.get("calls", calls) if isinstance(calls, dict) else calls
        spent = sum(
            float(c.get("cost") or 0) for c in calls if c.get("account_id") == setup["account_id"]
        )
        return done, minutes, spent

    initial, minutes, spent = await run("initial")
    held = await db.fetchval(
        "SELECT count(*) FROM reservations WHERE property_id = $1", setup["property_id"]
    )
    say(
        f"    initial sync (with applying and pushing): {minutes:.2f} min, {spent:.1f} credits; "
        f"progress {initial['progress']}; PMS reservations: {held}"
    )
    reconciled, minutes, spent = await run("reconcile")
    say(
        f"    full reconciliation: {spent:.1f} credits (bound 25), {minutes:.2f} min; "
        f"progress {reconciled['progress']}"
    )


async def main() -> None:
    dsn = await fresh_database(BASE_DSN, "channel_sync_bench")
    say(f"bench: {os.cpu_count()} CPUs; services as separate processes on this machine")
    async with running_stack(
        "bench",
        dsn,
        ADMIN_API_TOKEN=ADMIN_TOKEN,
        RETRY_DELAYS_MS="1000,2000,4000",
        SYNC_EVERY_S="1",
        RECONCILE_INTERVAL_S="0",
    ):
        db = await asyncpg.connect(dsn)
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                setup = await onboard(http, db)
                await bench_inbound(http, db, setup)
                await bench_outbound(http, db, setup)
                await bench_reconcile(http, db)
        finally:
            await db.close()


if __name__ == "__main__":
    asyncio.run(main())
