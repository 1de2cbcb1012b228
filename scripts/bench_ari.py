"""The rates-and-restrictions figures of `make bench` (prints, never asserts).

A 60-room hotel (6 room types x 10 rooms) on a fresh Beds24 account at the default credit
limit (100 per 5 minutes), two rate plans mapped to `price1` and `price2`:
  1. full push: a year of prices (weekday, weekend and season rates) and restrictions
     (weekend minimum stays, closed-to-arrival days, a stop-sell week) written in one PMS
     transaction -> credits, calls and seconds until Beds24's calendar equals the PMS.
  2. changes: BENCH_ARI_CHANGES (10,000) random price and restriction changes over the next
     365 days, each its own PMS transaction, from BENCH_WRITERS writers -> seconds until
     Beds24 equals the PMS on every room-date, credits spent, calls made, refusals.
Bounds the issue set: full push <= 5 credits, 10,000 changes <= 20 credits, 0 refusals.

Run alone with `uv run --frozen python scripts/bench_ari.py` (a stack of its own).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from bench import ADMIN_TOKEN, BASE_DSN, WRITERS, onboard_hotel, percentile
from channel_sync.beds24 import Beds24Client
from channel_sync.pms_calendar import calendar_values, differences
from stack import SANDBOX, fresh_database, running_stack, say, wait_until

ARI_CHANGES = int(os.environ.get("BENCH_ARI_CHANGES", "10000"))
DAYS = 365
PLANS = {"BAR": "price1", "NRF": "price2"}


async def _calls(http: httpx.AsyncClient, account_id: str) -> list[dict[str, Any]]:
    return [
        c
        for c in (await http.get(f"{SANDBOX}/_sandbox/calls")).json()
        if c.get("account_id") == account_id
    ]


def _spent(calls: list[dict[str, Any]]) -> float:
    return sum(float(c.get("cost") or 0) for c in calls)


async def _settled(db: asyncpg.Connection) -> bool:
    busy = await db.fetchval(
        "SELECT count(*) FROM channel_events WHERE direction = 'outbound' "
        "AND status IN ('received', 'processing')"
    )
    return busy == 0


async def _differences(db: asyncpg.Connection, setup: dict[str, Any]) -> list[str]:
    """Every room-date where Beds24's calendar is not the PMS's (one GET for every room)."""
    today = date.today()
    nights = [today + timedelta(days=n) for n in range(DAYS)]
    beds24_rooms = sorted({room for _, room in setup["rooms"]})
    async with Beds24Client(f"{SANDBOX}/api/v2", setup["refresh_token"]) as client:
        shown_rooms = await client.get_calendar(
            beds24_rooms,
            nights[0],
            nights[-1],
            include_prices=True,
            include_min_stay=True,
            include_max_stay=True,
            include_override=True,
        )
    shown: dict[tuple[int, date], dict[str, Any]] = {}
    for room in shown_rooms:
        for span in room["calendar"]:
            day, last = date.fromisoformat(span["from"]), date.fromisoformat(span["to"])
            values = {k: v for k, v in span.items() if k not in ("from", "to")}
            while day <= last:
                shown[room["roomId"], day] = values
                day += timedelta(days=1)
    off: list[str] = []
    for room in beds24_rooms:
        pms = await calendar_values(db, setup["property_id"], str(room), nights)
        for night in nights:
            found = differences(pms[night], shown.get((room, night), {}))
            if found:
                off.append(f"room {room} {night}: {found}")
    return off


async def _plans(db: asyncpg.Connection, property_id: UUID) -> dict[str, UUID]:
    plans = {}
    for code in PLANS:
        plans[code] = await db.fetchval(
            "INSERT INTO rate_plans (property_id, code, name) VALUES ($1, $2, $3) RETURNING id",
            property_id,
            code,
            f"{code} rate",
        )
    return plans


async def _full_year(db: asyncpg.Connection, setup: dict[str, Any], plans: dict[str, UUID]) -> None:
    """A year of prices and rules, and the plans' mappings, in one PMS transaction."""
    property_id = setup["property_id"]
    today = date.today()
    async with db.transaction():
        for code, plan in plans.items():
            await db.execute(
                """INSERT INTO channel_mappings (property_id, mapping_type, internal_id,
                       external_id) VALUES ($1, 'rate_plan', $2, $3)""",
                property_id,
                plan,
                PLANS[code],
            )
        # Weekday and weekend rates by type, higher in July-August, NRF 10% below BAR.
        await db.execute(
            """INSERT INTO room_rates (rate_plan_id, room_type_id, night, property_id, price)
               SELECT p.id, t.id, night, $1,
                      round((80 + 20 * rank) * CASE WHEN extract(isodow FROM night) >= 5
                                                    THEN 1.25 ELSE 1 END
                            * CASE WHEN extract(month FROM night) IN (7, 8) THEN 1.4 ELSE 1 END
                            * CASE WHEN p.code = 'NRF' THEN 0.9 ELSE 1 END, 2)
               FROM rate_plans p
               JOIN (SELECT id, row_number() OVER (ORDER BY name) AS rank
                     FROM room_types WHERE property_id = $1) t ON true
               CROSS JOIN generate_series($2::date, $2::date + 364, '1 day') AS g(night)
               WHERE p.property_id = $1""",
            property_id,
            today,
        )
        await db.execute(
            """INSERT INTO room_restrictions (room_type_id, night, property_id, min_stay,
                   closed_to_arrival, stop_sell)
               SELECT t.id, night, $1,
                      CASE WHEN extract(isodow FROM night) IN (5, 6) THEN 2 END,
                      extract(isodow FROM night) = 7,
                      night BETWEEN $2::date + 200 AND $2::date + 206
               FROM room_types t
               CROSS JOIN generate_series($2::date, $2::date + 364, '1 day') AS g(night)
               WHERE t.property_id = $1""",
            property_id,
            today,
        )


async def _change(
    conn: asyncpg.Connection, rng: random.Random, setup: dict[str, Any], kinds: list[UUID]
) -> None:
    night = date.today() + timedelta(days=rng.randrange(DAYS))
    kind = rng.choice(kinds)
    what = rng.choices(["price", "min_stay", "cta", "ctd", "stop_sell"], [60, 15, 10, 10, 5])[0]
    if what == "price":
        await conn.execute(
            """UPDATE room_rates SET price = $4, updated_at = now()
               WHERE rate_plan_id = $1 AND room_type_id = $2 AND night = $3""",
            rng.choice(setup["plans"]),
            kind,
            night,
            Decimal(rng.randrange(6000, 30000)) / 100,
        )
        return
    column = {
        "min_stay": "min_stay",
        "cta": "closed_to_arrival",
        "ctd": "closed_to_departure",
        "stop_sell": "stop_sell",
    }[what]
    value: Any = rng.choice([None, 1, 2, 3, 5]) if what == "min_stay" else rng.random() < 0.5
    await conn.execute(
        f"""UPDATE room_restrictions SET {column} = $3, updated_at = now()
            WHERE room_type_id = $1 AND night = $2""",  # noqa: S608 - a fixed column name
        kind,
        night,
        value,
    )


async def bench_ari(http: httpx.AsyncClient, db: asyncpg.Connection, dsn: str) -> None:
    say(
        f"\n▶ rates and restrictions: a 60-room hotel (6 types x 10), two rate plans, "
        f"a year's full push then {ARI_CHANGES} random changes, 100 credits per 5 minutes"
    )
    setup = await onboard_hotel(http, db, "ARI Bench Hotel", room_types=6, rooms_each=10)
    account_id = setup["account_id"]
    await wait_until("the onboarding's availability settled", lambda: _settled(db), timeout=300)
    before = await _calls(http, account_id)
    plans = await _plans(db, setup["property_id"])
    setup["plans"] = list(plans.values())
    started = time.perf_counter()
    await _full_year(db, setup, plans)
    await wait_until("the full push settled", lambda: _settled(db), timeout=600, quiet=True)
    pushed = time.perf_counter() - started
    calls = (await _calls(http, account_id))[len(before) :]
    say(
        f"    full push: {len(calls)} calls, {_spent(calls):.2f} credits (bound 5), "
        f"settled in {pushed:.1f}s"
    )
    off = await _differences(db, setup)
    say(f"    Beds24 equals the PMS on every room-date: {'yes' if not off else 'NO'}")
    for line in off[:5]:
        say(f"      differs: {line}")

    before = await _calls(http, account_id)
    kinds = [
        r["id"]
        for r in await db.fetch(
            "SELECT id FROM room_types WHERE property_id = $1", setup["property_id"]
        )
    ]
    rng = random.Random(27)
    pending = iter(range(ARI_CHANGES))

    async def writer() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            for _ in pending:
                await _change(conn, rng, setup, kinds)
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    written = time.perf_counter() - started
    await wait_until("the changes settled", lambda: _settled(db), timeout=900, quiet=True)
    settled = time.perf_counter() - started
    calls = (await _calls(http, account_id))[len(before) :]
    credits = (await http.get(f"{SANDBOX}/_sandbox/accounts/{account_id}/credits")).json()
    events = dict(
        await db.fetch(
            """SELECT status, count(*) FROM channel_events WHERE direction = 'outbound'
               AND event_type IN ('pms.rates.update', 'pms.restrictions.update')
               AND received_at >= now() - make_interval(secs => $1) GROUP BY status""",
            settled + 5,
        )
    )
    lags = [
        float(r["s"])
        for r in await db.fetch(
            """SELECT extract(epoch FROM processed_at - received_at) AS s FROM channel_events
               WHERE direction = 'outbound' AND status = 'done' AND processed_at IS NOT NULL
                 AND event_type IN ('pms.rates.update', 'pms.restrictions.update')
                 AND received_at >= now() - make_interval(secs => $1)""",
            settled + 5,
        )
    ]
    say(f"    PMS: {ARI_CHANGES} changes written in {written:.1f}s ({WRITERS} writers)")
    if lags:
        say(
            f"    PMS commit -> Beds24 calendar written: p50 {percentile(lags, 50):.2f}s, "
            f"p99 {percentile(lags, 99):.2f}s, max {max(lags):.2f}s (bound p99 5s)"
        )
    say(
        f"    settled {settled:.1f}s after the first change; {len(calls)} calls, "
        f"{_spent(calls):.2f} credits (bound 20), refused for credits: {credits['refused']}; "
        f"events {events}"
    )
    off = await _differences(db, setup)
    say(
        f"    Beds24 equals the PMS on every room-date: {'yes' if not off else 'NO'} "
        f"({6 * DAYS - len(off)}/{6 * DAYS})"
    )
    for line in off[:5]:
        say(f"      differs: {line}")


async def main() -> None:
    dsn = await fresh_database(BASE_DSN, "channel_sync_bench_ari")
    async with running_stack("bench-ari", dsn, ADMIN_API_TOKEN=ADMIN_TOKEN, SYNC_EVERY_S="1"):
        db = await asyncpg.connect(dsn)
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                await bench_ari(http, db, dsn)
        finally:
            await db.close()


if __name__ == "__main__":
    asyncio.run(main())
