"""The inbound path end to end (`make bench` runs it on a stack of its own; prints, never
asserts):
Beds24 webhooks to PMS reservations through the gateway, RabbitMQ and the batching inbound
worker, the whole stack on this machine.

  1. open loop at BENCH_IN_RATES (200 and 400 webhooks/s) for BENCH_IN_SECONDS (60) each,
     from `bench.open_loop` in its own process (a new booking per webhook, sent on
     schedule whether or not earlier ones were answered): accept p50/p99 as the generator
     saw them, and end to end p50/p99 from each webhook's scheduled time to its PMS row
     (seen by a 50 ms poll of this process: the figures carry up to 50 ms of it).
  2. backlog: the inbound worker stopped, BENCH_IN_BACKLOG (20,000) webhooks accepted, the
     worker started: bookings applied per second until every one is a reservation.
  3. CPU per applied booking (ms) of each process over phase 1: gateway, both workers,
     Postgres (every backend) and RabbitMQ.
Held to: at 400/s, accept p99 <= 50 ms, end-to-end p99 <= 250 ms; the backlog
drains at >= 600 bookings/s.

Alone: `uv run --frozen python -m channel_sync_tools.bench.inbound`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import psutil

from channel_sync_tools.bench.common import (
    ADMIN_TOKEN,
    ROOMS,
    cpu_seconds,
    cpu_since,
    one_type,
    percentile,
    processes_named,
)
from channel_sync_tools.bench.open_loop import offer
from channel_sync_tools.onboarding import Hotel, onboard
from channel_sync_tools.output import say
from channel_sync_tools.session import Session, stack_session
from channel_sync_tools.stack import Stack, wait_until

RATES = [int(r) for r in os.environ.get("BENCH_IN_RATES", "200,400").split(",")]
SECONDS = int(os.environ.get("BENCH_IN_SECONDS", "60"))
BACKLOG = int(os.environ.get("BENCH_IN_BACKLOG", "20000"))
FIRST_ID = 700_000_000  # booking ids from here, one per webhook across every phase
WATCH_SPAN = 400  # ids the observer reads per poll


@dataclass(frozen=True)
class Run:
    """What each phase works with: the stack, a connection, the hotel the webhooks book."""

    stack: Stack
    db: asyncpg.Connection
    hotel: Hotel
    gateway_port: int


def _processes(stack: Stack) -> dict[str, list[int]]:
    pids = {
        name: [stack.pid(name)] for name in ("webhook-gateway", "inbound-worker", "outbound-worker")
    }
    for name, procs in pids.items():  # the console script runs the service in a child
        try:
            procs += [c.pid for c in psutil.Process(procs[0]).children(recursive=True)]
        except psutil.NoSuchProcess:
            pids[name] = []
    pids["postgres"] = processes_named("postgres")
    pids["rabbitmq"] = processes_named("beam.smp")
    return pids


async def _generate(run: Run, rate: int, seconds: int, first_id: int) -> dict[str, float]:
    """The open-loop generator's webhooks to the gateway: new bookings of the hotel's room,
    from `first_id` on, never more than ROOMS a night."""
    return await offer(
        run.gateway_port,
        "/" + run.hotel.webhook_url.split("/", 3)[3],
        rate,
        seconds,
        run.hotel.webhook_secret,
        BENCH_PROPERTY=run.hotel.beds24.id,
        BENCH_ROOM=run.hotel.beds24_room(),
        BENCH_FIRST_ID=first_id,
        BENCH_SLOT_ROOMS=ROOMS,
        BENCH_SLOT_OFFSET=first_id - FIRST_ID,
    )


async def _watch(
    db: asyncpg.Connection,
    first_id: int,
    count: int,
    due: Callable[[], int],
    seen: dict[int, float],
    done: asyncio.Event,
) -> None:
    """Stamp each booking id when its reservation becomes visible: every 50 ms, one range
    of the unique index from the oldest id not seen yet (at most WATCH_SPAN ids: bookings
    are applied about in the order sent), so the observer barely loads what it measures."""
    pending = list(range(first_id, first_id + count))
    while pending and not done.is_set():
        low = pending[0]
        high = min(low + WATCH_SPAN, first_id + due())
        if high > low:
            rows = await db.fetch(
                "SELECT beds24_booking_id FROM reservations "
                "WHERE beds24_booking_id >= $1 AND beds24_booking_id < $2",
                low,
                high,
            )
            now = time.time()
            found = {row["beds24_booking_id"] for row in rows} - seen.keys()
            for booking in found:
                seen[booking] = now
            if found:
                pending = [b for b in pending if b not in found]
        await asyncio.sleep(0.05)  # sleep-ok: the observer's polling interval


async def _open_loop(run: Run, rate: int, first_id: int) -> None:
    count = rate * SECONDS
    seen: dict[int, float] = {}
    done = asyncio.Event()
    started = time.time()

    def due() -> int:  # how many the generator has sent by now (it starts at once)
        return min(count, int((time.time() - started) * rate) + 1)

    watcher = asyncio.create_task(_watch(run.db, first_id, count, due, seen, done))
    cpu_before = {name: cpu_seconds(p) for name, p in _processes(run.stack).items()}
    sent = await _generate(run, rate, SECONDS, first_id)

    async def all_seen() -> bool:
        return len(seen) >= count or watcher.done()

    try:
        await wait_until(f"{count} reservations", all_seen, timeout=300, quiet=True)
    finally:
        done.set()
        await watcher
    cpu = {name: cpu_since(cpu_before[name], p) for name, p in _processes(run.stack).items()}
    start = sent["start_epoch"]
    e2e = [
        (seen[first_id + n] - (start + n / rate)) * 1000
        for n in range(count)
        if first_id + n in seen
    ]
    say(
        f"    {rate}/s offered ({sent['offered']:.0f}/s sent) for {SECONDS}s: accept p50 "
        f"{sent['p50']:.1f} ms, p99 {sent['p99']:.1f} ms, non-2xx {sent['non_2xx']:.0f}, "
        f"unanswered {sent['unanswered']:.0f}"
    )
    say(
        f"      end to end (scheduled send -> PMS row): p50 {percentile(e2e, 50):.0f} ms, "
        f"p99 {percentile(e2e, 99):.0f} ms, max {max(e2e):.0f} ms; "
        f"{len(seen)}/{count} reservations"
    )
    applied = max(len(seen), 1)
    say(
        "      CPU ms per applied booking: "
        + ", ".join(f"{name} {cpu[name] * 1000 / applied:.2f}" for name in cpu)
    )


async def _backlog(run: Run, first_id: int) -> None:
    await run.stack.kill("inbound-worker")
    rate, seconds = 1000, max(1, BACKLOG // 1000)
    sent = await _generate(run, rate, seconds, first_id)
    count = rate * seconds
    accepted = await run.db.fetchval(
        "SELECT count(*) FROM channel_events WHERE direction = 'inbound' "
        "AND entity_external_id::bigint >= $1 AND entity_external_id::bigint < $2",
        first_id,
        first_id + count,
    )
    say(
        f"    backlog: inbound worker stopped, {accepted} webhooks accepted "
        f"({sent['non_2xx']:.0f} non-2xx); starting it"
    )
    started = time.perf_counter()
    await run.stack.start("inbound-worker")

    async def drained() -> bool:
        applied = await run.db.fetchval(
            "SELECT count(*) FROM reservations WHERE beds24_booking_id >= $1 "
            "AND beds24_booking_id < $2",
            first_id,
            first_id + count,
        )
        return bool(applied >= accepted)

    await wait_until("the backlog drained", drained, timeout=900, quiet=True)
    took = time.perf_counter() - started
    say(
        f"      drained {accepted} bookings in {took:.1f}s (worker start included): "
        f"{accepted / took:.0f} bookings/s"
    )


async def bench_inbound_path(session: Session) -> None:
    say(
        f"\n▶ inbound end to end: open loop at {', '.join(map(str, RATES))} webhooks/s for "
        f"{SECONDS}s, then a {BACKLOG}-webhook backlog"
    )
    # Beds24 sends nothing itself: the generator posts the webhooks.
    hotel = await onboard(
        session.api,
        session.db,
        "Inbound Bench Hotel",
        one_type(),
        credit_limit=100_000,
        webhooks=False,
    )
    run = Run(session.stack, session.db, hotel, session.api.ports.gateway)
    first_id = FIRST_ID
    for rate in RATES:
        await _open_loop(run, rate, first_id)
        first_id += rate * SECONDS
    await _backlog(run, first_id)


async def main() -> None:
    async with stack_session("bench-inbound", ADMIN_TOKEN, POLL_ENABLED="false") as session:
        await bench_inbound_path(session)


if __name__ == "__main__":
    asyncio.run(main())
