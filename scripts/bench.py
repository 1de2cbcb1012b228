"""`make bench`: throughput and latency figures of the running system (prints, never asserts).

Runs the sandbox and the four services as real processes against a fresh database, then:
  1. inbound:  N Beds24 webhooks posted to the gateway with C concurrent senders → gateway
     requests/s and latency percentiles; time until every booking is a PMS reservation.
  2. outbound, at Beds24's default credit limit (100 per 5 minutes) on a fresh account with
     3 room types x 20 rooms: R reservations then M - R changes (adults, notes, dates, guest
     e-mail, cancels and reinstatements) from W concurrent writers, the first two
     `POST /bookings` answers lost → changes per credit, calls by kind with their credits,
     refusals, seconds until settled, and whether Beds24 equals the PMS for every
     reservation (dates, room, status) and every room-night's availability.
  3. reconcile: a second 60-room hotel with B future bookings in Beds24 is connected (initial
     sync through the admin API), then fully reconciled → the credits and minutes the
     reconciliation took (the bound: 25 credits for 1,000 bookings).
Sizes: BENCH_WEBHOOKS (default 1000), BENCH_CONCURRENCY (20), BENCH_CHANGES (10000, the
reservations included), BENCH_RESERVATIONS (200), BENCH_WRITERS (4), BENCH_SYNC_BOOKINGS
(1000), BENCH_BURST_CHANGES (10000), BENCH_BURST_RATE (80 changes/s).
  4. rates and restrictions (`bench_ari.py`): a year's full push of a 60-room hotel, then
     BENCH_ARI_CHANGES (10,000) random price and restriction changes: calls, credits,
     seconds until Beds24's calendar equals the PMS on every room-date.
  2b. outbound burst: the same hotel shape on a fresh account, the changes written at a
     steady rate instead (see soak.py): seconds to settle against its bound, changes per
     credit, refusals, the lowest credits left and the oldest event held.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from channel_sync.beds24 import Beds24Client
from stack import ADMIN, SANDBOX, fresh_database, running_stack, say, wait_until

WEBHOOKS = int(os.environ.get("BENCH_WEBHOOKS", "1000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "20"))
CHANGES = int(os.environ.get("BENCH_CHANGES", "10000"))
RESERVATIONS = int(os.environ.get("BENCH_RESERVATIONS", "200"))
WRITERS = int(os.environ.get("BENCH_WRITERS", "4"))
SYNC_BOOKINGS = int(os.environ.get("BENCH_SYNC_BOOKINGS", "1000"))
BURST_CHANGES = int(os.environ.get("BENCH_BURST_CHANGES", "10000"))
BURST_RATE = float(os.environ.get("BENCH_BURST_RATE", "80"))
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
    say(
        f"    whole stack: {WEBHOOKS / sent:.0f} webhooks/s answered (senders, gateway and the "
        f"inbound worker applying them share the machine; the gateway alone is measured "
        f"below); answers {statuses}"
    )
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


async def onboard_hotel(
    http: httpx.AsyncClient, db: asyncpg.Connection, name: str, room_types: int, rooms_each: int
) -> dict[str, Any]:
    """A fresh Beds24 account (the default 100 credits per 5 minutes) and property of
    `room_types` x `rooms_each` rooms, registered through the admin API and mapped by type."""
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    account = (
        await http.post(f"{SANDBOX}/_sandbox/accounts", json={"credit_limit": 100, "window_s": 300})
    ).json()
    kinds = [f"Type{t}" for t in range(room_types)]
    prop = (
        await http.post(
            f"{SANDBOX}/_sandbox/properties",
            json={
                "account_id": account["account_id"],
                "name": name,
                "rooms": [{"name": kind, "qty": rooms_each} for kind in kinds],
            },
        )
    ).json()
    registered = (
        await http.post(
            f"{ADMIN}/admin/properties",
            headers=auth,
            json={
                "name": name,
                "beds24_property_id": prop["id"],
                "invite_code": account["invite_code"],
            },
        )
    ).json()
    property_id = UUID(registered["property"]["property_id"])
    rooms: list[tuple[UUID, int]] = []  # (PMS room, its Beds24 room)
    mappings = []
    for kind, beds24_room in zip(kinds, prop["rooms"], strict=True):
        room_type = await db.fetchval(
            "INSERT INTO room_types (property_id, name) VALUES ($1, $2) RETURNING id",
            property_id,
            kind,
        )
        mappings.append(
            {
                "mapping_type": "room_type",
                "internal_id": str(room_type),
                "external_id": str(beds24_room["id"]),
            }
        )
        for n in range(rooms_each):
            room = await db.fetchval(
                "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, $3) "
                "RETURNING id",
                property_id,
                room_type,
                f"{kind}-{n}",
            )
            rooms.append((room, beds24_room["id"]))
    await http.put(
        f"{ADMIN}/admin/properties/{property_id}/mappings",
        headers=auth,
        json={"mappings": mappings},
    )
    return {
        "account_id": account["account_id"],
        "refresh_token": account["refresh_token"],
        "property_id": property_id,
        "beds24_property_id": prop["id"],
        "rooms": rooms,
        "rooms_each": rooms_each,
    }


STATUS = {"confirmed": "confirmed", "cancelled": "cancelled"}
SLOT_DAYS = 4  # each reservation keeps to its own 4-day slot of its room: no overbooking


def change_sql(rng: random.Random, slot_start: date) -> tuple[str, tuple[Any, ...]]:
    """One real PMS change of a reservation (UPDATE ... WHERE id = $1)."""
    kind = rng.choices(
        ["adults", "notes", "dates", "email", "cancel", "reinstate"], [30, 20, 20, 14, 8, 8]
    )[0]
    if kind == "adults":
        return "UPDATE reservations SET adults = adults % 4 + 1 WHERE id = $1", ()
    if kind == "notes":
        return "UPDATE reservations SET notes = $2 WHERE id = $1", (f"note {rng.random():.6f}",)
    if kind == "email":
        return "UPDATE reservations SET guest_email = $2 WHERE id = $1", (
            f"guest{rng.randrange(10**6)}@example.org",
        )
    if kind == "dates":
        arrival = slot_start + timedelta(days=rng.randrange(2))
        departure = arrival + timedelta(
            days=1 + rng.randrange(SLOT_DAYS - 1 - (arrival - slot_start).days)
        )
        return "UPDATE reservations SET arrival = $2, departure = $3 WHERE id = $1", (
            arrival,
            departure,
        )
    status = "cancelled" if kind == "cancel" else "confirmed"
    return "UPDATE reservations SET status = $2 WHERE id = $1", (status,)


async def bench_outbound(http: httpx.AsyncClient, db: asyncpg.Connection, dsn: str) -> None:
    """The credit-pressure scenario at Beds24's default credit limit: a burst of changes with the
    first two create answers lost, every call within the credits, Beds24 equal to the PMS."""
    say(
        f"\n▶ outbound: {RESERVATIONS} reservations then {CHANGES - RESERVATIONS} changes, "
        "3 room types x 20 rooms, 100 credits per 5 minutes, first 2 POST /bookings answers lost"
    )
    setup = await onboard_hotel(http, db, "Outbound Bench Hotel", room_types=3, rooms_each=20)
    account_id = setup["account_id"]
    await http.post(
        f"{SANDBOX}/_sandbox/faults",
        json={"kind": "lost_response", "count": 2, "method": "POST", "path": "/bookings"},
    )
    rng = random.Random(12)
    rooms = setup["rooms"]
    first_slot = date.today() + timedelta(days=30)
    slots: dict[UUID, date] = {}
    started = time.perf_counter()
    async with db.transaction():  # the reservations arrive together, as an import would
        for i in range(RESERVATIONS):
            slot = first_slot + timedelta(days=SLOT_DAYS * (i // len(rooms)))
            res = await db.fetchval(
                "INSERT INTO reservations (property_id, room_id, arrival, departure, "
                "guest_first_name, guest_last_name, guest_email, adults) "
                "VALUES ($1, $2, $3, $4, 'Out', $5, 'out@example.org', 2) RETURNING id",
                setup["property_id"],
                rooms[i % len(rooms)][0],
                slot,
                slot + timedelta(days=2),
                f"Bound{i}",
            )
            slots[res] = slot
    ids = list(slots)
    pending = iter(range(CHANGES - RESERVATIONS))

    async def writer() -> None:  # concurrent PMS users, each change its own transaction
        conn = await asyncpg.connect(dsn)
        try:
            for _ in pending:
                res = rng.choice(ids)
                sql, args = change_sql(rng, slots[res])
                await conn.execute(sql, res, *args)
        finally:
            await conn.close()

    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    written = time.perf_counter() - started

    async def settled() -> bool:
        open_events = await db.fetchval(
            "SELECT count(*) FROM channel_events WHERE direction = 'outbound' "
            "AND status IN ('received', 'processing')"
        )
        return open_events == 0

    await wait_until("every outbound event settled", settled, timeout=900, quiet=True)
    total = time.perf_counter() - started
    events = dict(
        await db.fetch(
            "SELECT status, count(*) FROM channel_events WHERE direction = 'outbound' "
            "GROUP BY status"
        )
    )
    credits = (await http.get(f"{SANDBOX}/_sandbox/accounts/{account_id}/credits")).json()
    calls = [
        c
        for c in (await http.get(f"{SANDBOX}/_sandbox/calls")).json()
        if c.get("account_id") == account_id
    ]
    spent = sum(float(c.get("cost") or 0) for c in calls)
    kinds: dict[str, list[float]] = {}
    for c in calls:
        kinds.setdefault(f"{c['method']} {c['path']}", []).append(float(c.get("cost") or 0))
    lost = sum(1 for c in calls if c.get("fault"))
    say(f"    PMS: {CHANGES} changes written in {written:.1f}s ({WRITERS} writers)")
    say(f"    settled after {total:.1f}s; outbound events {events}")
    say(
        f"    credits spent {spent:.2f} (onboarding included) -> "
        f"{CHANGES / max(spent, 0.01):.0f} changes per credit"
    )
    for kind, costs in sorted(kinds.items()):
        say(f"      {kind:<34} {len(costs):>4} calls {sum(costs):>7.2f} credits")
    say(
        f"    answers lost on purpose: {lost}; refused for credits: {credits['refused']} "
        f"(429 answers: {sum(1 for c in calls if c.get('status') == 429)})"
    )
    await compare(http, db, setup)


async def bench_outbound_burst(http: httpx.AsyncClient, db: asyncpg.Connection, dsn: str) -> None:
    """The burst shape that once stalled the outbound worker: changes written at a steady
    rate, so that many batches drive the account to the pacing line and past its reset."""
    from soak import Phase, credit_pressure, report  # soak builds on this module

    seconds = BURST_CHANGES / BURST_RATE
    say(
        f"\n▶ outbound burst: 200 reservations then {BURST_CHANGES} changes at "
        f"{BURST_RATE:.0f}/s, 100 credits per 5 minutes, first 2 POST /bookings answers lost"
    )
    outcome = await credit_pressure(
        http, db, dsn, [Phase(seconds, BURST_RATE, lost_answers=2)], "Burst Bench Hotel"
    )
    report(outcome, "burst")
    for line in outcome.failures():
        say(f"    NOT MET: {line}")


async def compare(
    http: httpx.AsyncClient, db: asyncpg.Connection, setup: dict[str, Any]
) -> list[str]:
    """Beds24 against the PMS: every reservation (dates, room, status) and every room-night's
    availability (read through the API after the figures above: it costs a few credits).
    Prints the verdict; returns the differences."""
    room_of = dict(setup["rooms"])
    pms = await db.fetch(
        "SELECT id, room_id, arrival, departure, status, beds24_booking_id FROM reservations "
        "WHERE property_id = $1",
        setup["property_id"],
    )
    found = (
        await http.get(
            f"{SANDBOX}/_sandbox/bookings", params={"propertyId": setup["beds24_property_id"]}
        )
    ).json()
    found = found.get("bookings", found) if isinstance(found, dict) else found
    by_reference: dict[str, list[dict[str, Any]]] = {}
    for booking in found:  # our reference: apiReference, or our info item where it is dropped
        references = {
            i.get("text") for i in booking.get("infoItems") or [] if i.get("code") == "PMSREF"
        }
        references.add(booking.get("apiReference"))
        for reference in references - {None}:
            by_reference.setdefault(reference, []).append(booking)
    wrong: list[str] = []
    for row in pms:
        bookings = by_reference.get(f"pms-{row['id']}", [])
        if row["beds24_booking_id"] is None:
            if bookings or row["status"] != "cancelled":
                wrong.append(f"{row['id']}: never sent, yet {row['status']} / {len(bookings)}")
            continue
        if len(bookings) != 1:
            wrong.append(f"{row['id']}: {len(bookings)} Beds24 bookings carry it")
            continue
        [b] = bookings
        mine = (str(row["arrival"]), str(row["departure"]), room_of[row["room_id"]])
        theirs = (b["arrival"], b["departure"], b["roomId"])
        if (
            b["id"] != row["beds24_booking_id"]
            or mine != theirs
            or b["status"] != STATUS[row["status"]]
        ):
            wrong.append(
                f"{row['id']}: PMS {mine} {row['status']} vs Beds24 {theirs} {b['status']}"
            )
    first = min(r["arrival"] for r in pms)
    last = max(r["departure"] for r in pms)
    nights = [first + timedelta(days=n) for n in range((last - first).days)]
    occupied: dict[tuple[int, date], int] = {}
    for row in pms:
        if row["status"] == "cancelled":
            continue
        day = row["arrival"]
        while day < row["departure"]:
            key = (room_of[row["room_id"]], day)
            occupied[key] = occupied.get(key, 0) + 1
            day += timedelta(days=1)
    beds24_rooms = sorted(set(room_of.values()))
    async with Beds24Client(f"{SANDBOX}/api/v2", setup["refresh_token"]) as client:
        calendars = await client.get_calendar(beds24_rooms, first, last)
    shown: dict[tuple[int, date], int] = {}
    for room in calendars:
        for entry in room["calendar"]:
            day, to = date.fromisoformat(entry["from"]), date.fromisoformat(entry["to"])
            while day <= to:
                shown[(room["roomId"], day)] = entry["numAvail"]
                day += timedelta(days=1)
    off = [
        f"room {r} {night}: Beds24 {shown.get((r, night))} vs PMS "
        f"{setup['rooms_each'] - occupied.get((r, night), 0)}"
        for r in beds24_rooms
        for night in nights
        if shown.get((r, night)) != setup["rooms_each"] - occupied.get((r, night), 0)
    ]
    say(
        f"    Beds24 equals the PMS: reservations {'yes' if not wrong else 'NO'} "
        f"({len(pms) - len(wrong)}/{len(pms)} equal), room-nights "
        f"{'yes' if not off else 'NO'} ({len(nights) * len(beds24_rooms) - len(off)}/"
        f"{len(nights) * len(beds24_rooms)} equal)"
    )
    for line in (wrong + off)[:10]:
        say(f"      differs: {line}")
    return wrong + off


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
                await bench_outbound(http, db, dsn)
                await bench_outbound_burst(http, db, dsn)
                await bench_reconcile(http, db)
                from bench_ari import bench_ari  # it builds on this module

                await bench_ari(http, db, dsn)
        finally:
            await db.close()


if __name__ == "__main__":
    asyncio.run(main())
