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
  2b. outbound burst: the same hotel shape on a fresh account, the changes written at a
     steady rate instead (see `channel_sync_tools.soak`): seconds to settle against its
     bound, changes per credit, refusals, the lowest credits left and the oldest event held.
  3. reconcile: a second 60-room hotel with B future bookings in Beds24 is connected (initial
     sync through the admin API), then fully reconciled → the credits and minutes the
     reconciliation took (the bound: 25 credits for 1,000 bookings).
  4. rates and restrictions (`bench.ari`): a year's full push of a 60-room hotel, then
     BENCH_ARI_CHANGES (10,000) random price and restriction changes: calls, credits,
     seconds until Beds24's calendar equals the PMS on every room-date.
Sizes: BENCH_WEBHOOKS (default 1000), BENCH_CONCURRENCY (20), BENCH_CHANGES (10000, the
reservations included), BENCH_RESERVATIONS (200), BENCH_WRITERS (4), BENCH_SYNC_BOOKINGS
(1000), BENCH_BURST_CHANGES (10000), BENCH_BURST_RATE (80 changes/s).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from channel_sync_tools.api import credits_spent
from channel_sync_tools.bench.ari import bench_ari
from channel_sync_tools.bench.common import (
    ADMIN_TOKEN,
    ROOMS,
    WRITERS,
    book_slots,
    change_one,
    compare,
    events_by_status,
    one_type,
    percentile,
    run_writers,
    typed,
)
from channel_sync_tools.onboarding import (
    SyncKind,
    finish_sync,
    onboard,
    request_sync,
    wait_settled,
)
from channel_sync_tools.output import say
from channel_sync_tools.session import Session, stack_session
from channel_sync_tools.soak import Phase, credit_pressure, report

WEBHOOKS = int(os.environ.get("BENCH_WEBHOOKS", "1000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "20"))
CHANGES = int(os.environ.get("BENCH_CHANGES", "10000"))
RESERVATIONS = int(os.environ.get("BENCH_RESERVATIONS", "200"))
SYNC_BOOKINGS = int(os.environ.get("BENCH_SYNC_BOOKINGS", "1000"))
BURST_CHANGES = int(os.environ.get("BENCH_BURST_CHANGES", "10000"))
BURST_RATE = float(os.environ.get("BENCH_BURST_RATE", "80"))


async def bench_inbound(session: Session) -> None:
    say(f"\n▶ inbound: {WEBHOOKS} webhooks, {CONCURRENCY} concurrent senders")
    api, db = session.api, session.db
    # Beds24 sends nothing itself: the senders below post the webhooks.
    hotel = await onboard(api, db, "Bench Hotel", one_type(), webhooks=False)
    headers = {**hotel.webhook_headers, "Content-Type": "application/json"}
    today = date.today()
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")

    def body(i: int) -> dict[str, Any]:
        arrival = today + timedelta(days=7 + 3 * (i // ROOMS))
        return {
            "timeStamp": stamp + "Z",
            "retries": 0,
            "booking": {
                "id": 90_000_000 + i,
                "propertyId": hotel.beds24.id,
                "roomId": hotel.beds24_room(),
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
            response = await api.http.post(hotel.webhook_url, json=body(i), headers=headers)
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
    sent = time.perf_counter() - started
    say(
        f"    whole stack: {WEBHOOKS / sent:.0f} webhooks/s answered (senders, gateway and the "
        f"inbound worker applying them share the machine; the gateway alone is measured "
        f"by `bench.gateway`); answers {statuses}"
    )
    say(
        f"    latency ms: p50 {percentile(latencies, 50) * 1000:.1f}, "
        f"p95 {percentile(latencies, 95) * 1000:.1f}, p99 {percentile(latencies, 99) * 1000:.1f}, "
        f"mean {statistics.mean(latencies) * 1000:.1f}"
    )
    await wait_settled(db, what="every inbound event settled", direction="inbound", timeout=600)
    total = time.perf_counter() - started
    placed = await db.fetchval(
        "SELECT count(*) FROM reservations WHERE beds24_booking_id "
        "IS NOT NULL AND room_id IS NOT NULL"
    )
    say(
        f"    end to end: {WEBHOOKS / total:.0f} bookings/s applied ({total:.1f}s); "
        f"events {await events_by_status(db, 'inbound')}; reservations placed in rooms: {placed}"
    )


async def bench_outbound(session: Session) -> None:
    """The credit-pressure scenario at Beds24's default credit limit: a burst of changes with the
    first two create answers lost, every call within the credits, Beds24 equal to the PMS."""
    say(
        f"\n▶ outbound: {RESERVATIONS} reservations then {CHANGES - RESERVATIONS} changes, "
        "3 room types x 20 rooms, 100 credits per 5 minutes, first 2 POST /bookings answers lost"
    )
    api, db = session.api, session.db
    hotel = await onboard(api, db, "Outbound Bench Hotel", typed(3, 20), webhooks=False)
    await api.sandbox.inject_fault("lost_response", count=2, method="POST", path="/bookings")
    rng = random.Random(12)
    started = time.perf_counter()
    slots = await book_slots(db, hotel, RESERVATIONS, "Out")
    ids = list(slots)
    await run_writers(
        session.dsn, CHANGES - RESERVATIONS, WRITERS, lambda c: change_one(c, rng, slots, ids)
    )
    written = time.perf_counter() - started
    await wait_settled(db, what="every outbound event settled", direction="outbound", timeout=900)
    total = time.perf_counter() - started
    credits = await api.sandbox.credits(hotel.account_id)
    calls = await api.account_calls(hotel.account_id)
    spent = credits_spent(calls)
    kinds: dict[str, list[float]] = {}
    for c in calls:
        kinds.setdefault(f"{c['method']} {c['path']}", []).append(float(c.get("cost") or 0))
    lost = sum(1 for c in calls if c.get("fault"))
    say(f"    PMS: {CHANGES} changes written in {written:.1f}s ({WRITERS} writers)")
    say(f"    settled after {total:.1f}s; outbound events {await events_by_status(db, 'outbound')}")
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
    await compare(api, db, hotel)


async def bench_outbound_burst(session: Session) -> None:
    """The burst shape that once stalled the outbound worker: changes written at a steady
    rate, so that many batches drive the account to the pacing line and past its reset."""
    seconds = BURST_CHANGES / BURST_RATE
    say(
        f"\n▶ outbound burst: 200 reservations then {BURST_CHANGES} changes at "
        f"{BURST_RATE:.0f}/s, 100 credits per 5 minutes, first 2 POST /bookings answers lost"
    )
    phases = [Phase(seconds, BURST_RATE, lost_answers=2)]
    outcome = await credit_pressure(session, phases, "Burst Bench Hotel")
    report(outcome, "burst")
    for line in outcome.failures():
        say(f"    NOT MET: {line}")


async def bench_reconcile(session: Session) -> None:
    say(f"\n▶ reconcile: a {ROOMS}-room hotel with {SYNC_BOOKINGS} future bookings in Beds24")
    api, db = session.api, session.db
    # Its own account, with a window longer than the run, so the sandbox's count of credits
    # used is the whole cost; its calls are also summed one by one below.
    hotel = await onboard(
        api, db, "Reconciled Hotel", one_type(), credit_limit=100_000, window_s=3600, webhooks=False
    )
    today = date.today()
    for i in range(SYNC_BOOKINGS):
        arrival = today + timedelta(days=1 + 2 * (i // ROOMS))
        await api.sandbox.guest_booking(
            hotel.beds24_room(), arrival, arrival + timedelta(days=2), lastName=f"Existing{i}"
        )

    async def run(kind: SyncKind) -> tuple[dict[str, Any], float, float]:
        """The run, its minutes, and the credits its account spent meanwhile."""
        await api.sandbox.clear_calls()
        started = time.perf_counter()
        run_id = await request_sync(api, hotel.property_id, kind)
        done = await finish_sync(
            api, db, hotel.property_id, run_id, what=f"the {kind} run", timeout=1800, quiet=True
        )
        minutes = (time.perf_counter() - started) / 60
        return done, minutes, credits_spent(await api.account_calls(hotel.account_id))

    initial, minutes, spent = await run("initial")
    held = await db.fetchval(
        "SELECT count(*) FROM reservations WHERE property_id = $1", hotel.property_id
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
    say(f"bench: {os.cpu_count()} CPUs; services as separate processes on this machine")
    async with stack_session(
        "bench",
        ADMIN_TOKEN,
        RETRY_DELAYS_MS="1000,2000,4000",
        SYNC_EVERY_S="1",
        RECONCILE_INTERVAL_S="0",
    ) as session:
        await bench_inbound(session)
        await bench_outbound(session)
        await bench_outbound_burst(session)
        await bench_reconcile(session)
        await bench_ari(session)


if __name__ == "__main__":
    asyncio.run(main())
