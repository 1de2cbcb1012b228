"""`make bench`'s many-hotels run (prints figures, never asserts): a hotel group's day on
one deployment, as it runs in production: PgBouncer in transaction pooling (the
deployment's own pgbouncer.ini and pool sizes), the services through it, LISTEN straight
to Postgres, Beds24 the sandbox with every account at its default 100 credits per 5
minutes, the missed-webhook poll on.

  - BENCH_MH_ACCOUNTS (50) accounts of BENCH_MH_PROPERTIES (20) properties (10 rooms, two
    room types each), connected through the admin API; each property's PMS reservations
    booked ahead, then each account's credits start the day whole;
  - the day (BENCH_MH_DAY_S, 300 s: one credit window, one round of the missed-webhook
    poll): per property on average 3 new OTA bookings, 1 change
    and 0.5 cancellations from Beds24, 1 new reservation and 3 changes in the PMS;
  - the noisy account: BENCH_MH_NOISY_CHANGES (10,000) PMS changes in BENCH_MH_BURST_S
    (60 s) from 30 s into the day;
  - runs (BENCH_MH_RUNS): `quiet-1` (no burst, 1 replica of each worker: the baseline),
    `noisy-1` and `noisy-3` (3 replicas of each worker).

Each run prints per account p50/p99 seconds from a change to Beds24 and from a webhook to
the PMS, credits spent and refused, then calls by kind, Postgres connections at the peak,
and whether Beds24 equals the PMS for every property; at the end, the noisy account's
effect on the others' p99 and the calls of 3 replicas against 1.

Alone: `uv run --frozen python -m channel_sync_tools.bench.many_hotels`.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import statistics
import time
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

import asyncpg
import httpx
import yaml
from channel_sync_testing import infra
from channel_sync_testing.pgbouncer import PrivatePgBouncer, deployed_ini, pgbouncer_binary
from channel_sync_tools.api import StackApi
from channel_sync_tools.bench.common import ADMIN_TOKEN
from channel_sync_tools.bench.many_hotels.measure import (
    BENCH_APPLICATION,
    Delays,
    Peaks,
    Spend,
    connection_peaks,
    delays,
    differences,
    not_done,
    spend,
)
from channel_sync_tools.bench.many_hotels.traffic import Burst, DayDone, run_day
from channel_sync_tools.bench.many_hotels.world import (
    World,
    book_ahead,
    connect_accounts,
    start_day,
)
from channel_sync_tools.onboarding import wait_settled
from channel_sync_tools.output import say
from channel_sync_tools.paths import ROOT
from channel_sync_tools.stack import (
    BASE_DSN,
    SCRATCH_ADMIN_DSN,
    Ports,
    Process,
    Stack,
    StackFailed,
    fresh_database,
)

ACCOUNTS = int(os.environ.get("BENCH_MH_ACCOUNTS", "50"))
PER_ACCOUNT = int(os.environ.get("BENCH_MH_PROPERTIES", "20"))
DAY_S = float(os.environ.get("BENCH_MH_DAY_S", "300"))
NOISY_CHANGES = int(os.environ.get("BENCH_MH_NOISY_CHANGES", "10000"))
BURST_S = float(os.environ.get("BENCH_MH_BURST_S", "60"))
RUNS = os.environ.get("BENCH_MH_RUNS", "quiet-1,noisy-1,noisy-3").split(",")
AHEAD_QUIET, AHEAD_NOISY = 6, 25  # PMS reservations per property booked before the day
WORKERS = ("inbound-worker", "outbound-worker")
DEPLOY = ROOT / "deploy" / "base"
PORTS = Ports.from_base(8400)
DATABASE = "channel_sync_bench_many"
P99_BOUND_S = 30.0


@dataclass(frozen=True)
class Figures:
    label: str
    replicas: int
    noisy_account: int | None
    day: DayDone
    outbound: dict[int, Delays]
    inbound: dict[int, Delays]
    spent: Spend
    peaks: Peaks
    open_after: dict[str, int]
    differing: list[str]
    settled_s: float


def _pool_size(service: str) -> str:
    """DB_POOL_MAX_SIZE as the service's Deployment sets it."""
    [deployment] = [
        doc
        for doc in yaml.safe_load_all((DEPLOY / f"{service}.yaml").read_text())
        if doc["kind"] == "Deployment"
    ]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    [size] = [e["value"] for e in container["env"] if e["name"] == "DB_POOL_MAX_SIZE"]
    return str(size)


def _processes(replicas: int) -> list[Process]:
    """The sandbox, the gateway and the admin API once; `replicas` of each worker."""
    found = []
    for process in PORTS.processes():
        if process.name in WORKERS:
            continue
        if process.name in ("webhook-gateway", "admin-api"):
            process = replace(
                process, env={**process.env, "DB_POOL_MAX_SIZE": _pool_size(process.name)}
            )
        found.append(process)
    for offset, name in enumerate(WORKERS):
        for n in range(replicas):
            port = PORTS.sandbox + 10 + 10 * offset + n
            found.append(
                Process(
                    f"{name}-{n + 1}",
                    (name,),
                    f"{PORTS.url(port)}/readyz",
                    {"HTTP_PORT": str(port), "DB_POOL_MAX_SIZE": _pool_size(name)},
                )
            )
    return found


async def one_run(label: str) -> Figures:
    noisy = label.startswith("noisy")
    replicas = int(label.rsplit("-", 1)[1])
    say(
        f"\n▶ many hotels, {label}: {ACCOUNTS} accounts x {PER_ACCOUNT} properties, "
        f"{replicas} replica(s) of each worker, a {DAY_S:.0f} s day"
        + (f", the noisy account {NOISY_CHANGES} PMS changes in {BURST_S:.0f} s" if noisy else "")
    )
    binary = pgbouncer_binary()
    if binary is None:
        raise StackFailed("pgbouncer is not installed (make setup installs it)")
    direct = await fresh_database(BASE_DSN, DATABASE)
    server = urlsplit(direct)
    bouncer = PrivatePgBouncer(
        binary,
        deployed_ini(DEPLOY / "pgbouncer.yaml"),
        databases={
            DATABASE: f"host={server.hostname} port={server.port or 5432} dbname={DATABASE}"
        },
        users={server.username or "postgres": "bench-pooled"},
    )
    bouncer.start()
    env = {
        **os.environ,
        "DATABASE_URL": bouncer.dsn(DATABASE),
        "DATABASE_LISTEN_URL": direct,
        "DB_STATEMENT_CACHE_SIZE": "0",
        "BEDS24_API_URL": f"{PORTS.sandbox_url}/api/v2",
        "PUBLIC_WEBHOOK_BASE_URL": PORTS.gateway_url,
        "ADMIN_API_TOKEN": ADMIN_TOKEN,
        "LOG_LEVEL": "WARNING",
    }
    stack = Stack(f"bench-many-{label}", _processes(replicas), env)
    try:
        await stack.start_all()
        db = await asyncpg.create_pool(
            direct, min_size=2, max_size=16, server_settings={"application_name": BENCH_APPLICATION}
        )
        try:
            async with httpx.AsyncClient(timeout=60) as http:
                api = StackApi(http, PORTS, ADMIN_TOKEN)
                return await _day(label, api, db, replicas, noisy)
        finally:
            await db.close()
    finally:
        await stack.stop_all()
        bouncer.remove()


async def _day(label: str, api: StackApi, db: asyncpg.Pool, replicas: int, noisy: bool) -> Figures:
    rng = random.Random(31)
    started = time.perf_counter()
    world = await connect_accounts(api, db, ACCOUNTS, PER_ACCOUNT, noisy=noisy, rng=rng)
    connected = time.perf_counter()
    await book_ahead(db, world, AHEAD_QUIET, AHEAD_NOISY)
    say(
        f"    set-up: {len(world.sites)} properties connected in {connected - started:.0f} s, "
        f"their reservations booked ahead in {time.perf_counter() - connected:.0f} s"
    )
    await start_day(api, world)
    since: datetime = await db.fetchval("SELECT now()")
    burst = Burst(NOISY_CHANGES, 30.0, BURST_S) if noisy else None
    async with connection_peaks(SCRATCH_ADMIN_DSN, DATABASE) as peaks:
        day = await run_day(api, db, world, DAY_S, burst, rng)
        ended = time.perf_counter()
        try:
            await wait_settled(db, what="every event done", timeout=1800, steady_s=2)
        except StackFailed as exc:
            say(f"    NOT SETTLED: {exc}")
        settled_s = time.perf_counter() - ended
    figures = Figures(
        label=label,
        replicas=replicas,
        noisy_account=world.noisy_account,
        day=day,
        outbound=await delays(db, "outbound", since),
        inbound=await delays(db, "inbound", since),
        spent=await spend(api, world),
        peaks=peaks,
        open_after=await not_done(db, since),
        differing=await differences(api, db, world),
        settled_s=settled_s,
    )
    _report(figures, world)
    return figures


def _fmt(d: Delays | None) -> str:
    return f"{d.count:6d} {d.p50:6.2f} {d.p99:6.2f}" if d else f"{'-':>6} {'-':>6} {'-':>6}"


def _report(f: Figures, world: World) -> None:
    day = f.day
    say(
        f"    the day: {sum(day.done.values())} changes sent in {day.took_s:.0f} s ("
        + ", ".join(f"{k} {n}" for k, n in sorted(day.done.items()))
        + f"); skipped {sum(day.skipped.values())}, errors {sum(day.errors.values())}, "
        f"sent at most {day.behind_s:.1f} s behind schedule; settled {f.settled_s:.1f} s "
        "after the last"
    )
    for line in day.first_errors:
        say(f"      error: {line}")
    say("    account      change->Beds24 (s)     webhook->PMS (s)    credits refused calls")
    say("                 n    p50    p99          n    p50    p99")
    for account in world.accounts:
        a = account.account_id
        mark = " noisy" if a == f.noisy_account else ""
        say(
            f"    {a:7d}  {_fmt(f.outbound.get(a))}   {_fmt(f.inbound.get(a))}  "
            f"{f.spent.credits.get(a, 0):7.1f} {f.spent.refused.get(a, 0):7d} "
            f"{f.spent.calls.get(a, 0):5d}{mark}"
        )
    quiet = [a.account_id for a in world.accounts if a.account_id != f.noisy_account]
    worst_out = max((f.outbound[a].p99 for a in quiet if a in f.outbound), default=0.0)
    worst_in = max((f.inbound[a].p99 for a in quiet if a in f.inbound), default=0.0)
    say(
        f"    every account but the noisy one: worst p99 change->Beds24 {worst_out:.1f} s, "
        f"webhook->PMS {worst_in:.2f} s"
    )
    spent = sum(f.spent.credits.values())
    say(
        f"    Beds24: {f.spent.total_calls} calls, {spent:.1f} credits, refused "
        f"{sum(f.spent.refused.values())}; by kind: "
        + ", ".join(f"{k} {n}" for k, n in f.spent.by_kind.most_common())
    )
    # The missed-webhook poll is the only reader of bookings on a normal day.
    searches = f.spent.by_kind.get("bookings read", 0)
    poll_credits = f.spent.credits_by_kind.get("bookings read", 0.0)
    hours = (day.took_s + f.settled_s) / 3600
    say(
        f"    bookings read (the missed-webhook poll): {searches} searches, "
        f"{poll_credits:.1f} credits = {poll_credits / len(world.accounts) / hours:.1f} "
        "credits per account and hour"
    )
    say(
        f"    Postgres connections at the peak: {f.peaks.connections} (of which LISTEN "
        f"{f.peaks.listening}; {f.peaks.samples} samples)"
    )
    open_line = ", ".join(f"{k} {n}" for k, n in f.open_after.items()) or "none"
    say(
        f"    events not done: {open_line}; Beds24 equals the PMS for every property: "
        f"{'yes' if not f.differing else f'NO ({len(f.differing)} differences)'}"
    )
    for line in f.differing[:10]:
        say(f"      differs: {line}")


def _compare(runs: dict[str, Figures]) -> None:
    say("\n▶ many hotels, side by side")
    quiet, noisy1, noisy3 = runs.get("quiet-1"), runs.get("noisy-1"), runs.get("noisy-3")
    if quiet and noisy1:
        raised = [
            noisy1.outbound[a].p99 - quiet.outbound[a].p99
            for a in quiet.outbound
            if a in noisy1.outbound and a != noisy1.noisy_account
        ]
        # Each run's sandbox numbers its accounts from 1 in the order made: the same id is
        # the same hotels with the same day.
        say(
            "    the noisy account raised the others' p99 change->Beds24 by at most "
            f"{max(raised, default=0.0):.1f} s (bound 2 s)"
        )
        if raised:
            # One account's p99 of ~200 changes is about its second-worst delay: a change
            # both ways between runs is chance, a shift of the median is the noisy account.
            say(
                f"      per account from {min(raised):+.1f} to {max(raised):+.1f} s, median "
                f"{statistics.median(raised):+.2f} s, {sum(r > 2 for r in raised)} of "
                f"{len(raised)} over +2 s"
            )
    if noisy1 and noisy3:
        one, three = noisy1.spent.total_calls, noisy3.spent.total_calls
        say(
            f"    Beds24 calls: 1 replica {one}, 3 replicas {three} "
            f"({(three - one) / max(one, 1) * 100:+.1f} %, bound +10 %)"
        )
    for label, f in runs.items():
        limited = {f.noisy_account}
        over = [a for a, d in f.outbound.items() if a not in limited and d.p99 > P99_BOUND_S]
        say(
            f"    {label}: accounts over {P99_BOUND_S:.0f} s p99 {len(over)}, refused "
            f"{sum(f.spent.refused.values())}, differences {len(f.differing)}, peak "
            f"connections {f.peaks.connections} (bound 40)"
        )


async def main() -> None:
    # Stopped (a timeout's SIGTERM), the run still stops its servers and PgBouncer.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    runs = {label: await one_run(label) for label in RUNS}
    _compare(runs)
    await infra.drop_database(BASE_DSN, DATABASE)


if __name__ == "__main__":
    asyncio.run(main())
