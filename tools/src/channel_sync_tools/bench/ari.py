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

Run alone with `uv run --frozen python -m channel_sync_tools.bench.ari` (a stack of its own).
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
from channel_sync.pms_calendar import calendar_values, differences

from channel_sync_tools.api import StackApi, credits_spent
from channel_sync_tools.bench.common import ADMIN_TOKEN, WRITERS, percentile, run_writers, typed
from channel_sync_tools.calendar import nights_shown
from channel_sync_tools.onboarding import Hotel, onboard, wait_settled
from channel_sync_tools.output import say
from channel_sync_tools.session import Session, stack_session

ARI_CHANGES = int(os.environ.get("BENCH_ARI_CHANGES", "10000"))
DAYS = 365
PLANS = {"BAR": "price1", "NRF": "price2"}


async def _differences(api: StackApi, db: asyncpg.Connection, hotel: Hotel) -> list[str]:
    """Every room-date where Beds24's calendar is not the PMS's (one GET for every room)."""
    today = date.today()
    nights = [today + timedelta(days=n) for n in range(DAYS)]
    beds24_rooms = sorted(hotel.beds24_rooms.values())
    async with api.beds24(hotel.refresh_token) as client:
        shown = await nights_shown(
            client,
            beds24_rooms,
            nights[0],
            nights[-1],
            include_prices=True,
            include_min_stay=True,
            include_max_stay=True,
            include_override=True,
        )
    off: list[str] = []
    for room in beds24_rooms:
        pms = await calendar_values(db, hotel.property_id, str(room), nights)
        for night in nights:
            found = differences(pms[night], shown.get((room, night), {}))
            if found:
                off.append(f"room {room} {night}: {found}")
    return off


async def _settled(db: asyncpg.Connection, what: str, timeout: float) -> None:
    await wait_settled(db, what=what, direction="outbound", timeout=timeout)


async def _plans(db: asyncpg.Connection, property_id: UUID) -> dict[str, UUID]:
    rows = await db.fetch(
        "INSERT INTO rate_plans (property_id, code, name) "
        "SELECT $1, code, code || ' rate' FROM unnest($2::text[]) AS code RETURNING code, id",
        property_id,
        list(PLANS),
    )
    return {r["code"]: r["id"] for r in rows}


async def _full_year(db: asyncpg.Connection, property_id: UUID, plans: dict[str, UUID]) -> None:
    """A year of prices and rules, and the plans' mappings, in one PMS transaction."""
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
    conn: asyncpg.Connection, rng: random.Random, plans: list[UUID], kinds: list[UUID]
) -> None:
    night = date.today() + timedelta(days=rng.randrange(DAYS))
    kind = rng.choice(kinds)
    what = rng.choices(["price", "min_stay", "cta", "ctd", "stop_sell"], [60, 15, 10, 10, 5])[0]
    if what == "price":
        await conn.execute(
            """UPDATE room_rates SET price = $4, updated_at = now()
               WHERE rate_plan_id = $1 AND room_type_id = $2 AND night = $3""",
            rng.choice(plans),
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


async def bench_ari(session: Session) -> None:
    say(
        f"\n▶ rates and restrictions: a 60-room hotel (6 types x 10), two rate plans, "
        f"a year's full push then {ARI_CHANGES} random changes, 100 credits per 5 minutes"
    )
    api, db = session.api, session.db
    hotel = await onboard(api, db, "ARI Bench Hotel", typed(6, 10), webhooks=False)
    before = len(await api.account_calls(hotel.account_id))
    plans = await _plans(db, hotel.property_id)
    started = time.perf_counter()
    await _full_year(db, hotel.property_id, plans)
    await _settled(db, "the full push settled", 600)
    pushed = time.perf_counter() - started
    calls = (await api.account_calls(hotel.account_id))[before:]
    say(
        f"    full push: {len(calls)} calls, {credits_spent(calls):.2f} credits (bound 5), "
        f"settled in {pushed:.1f}s"
    )
    off = await _differences(api, db, hotel)
    say(f"    Beds24 equals the PMS on every room-date: {'yes' if not off else 'NO'}")
    for line in off[:5]:
        say(f"      differs: {line}")

    before = len(await api.account_calls(hotel.account_id))
    kinds = list(hotel.pms.room_types.values())
    rng = random.Random(27)
    started = time.perf_counter()
    await run_writers(
        session.dsn,
        ARI_CHANGES,
        WRITERS,
        lambda conn: _change(conn, rng, list(plans.values()), kinds),
    )
    written = time.perf_counter() - started
    await _settled(db, "the changes settled", 900)
    settled = time.perf_counter() - started
    calls = (await api.account_calls(hotel.account_id))[before:]
    credits = await api.sandbox.credits(hotel.account_id)
    rows = await db.fetch(
        """SELECT status, count(*) AS n FROM channel_events WHERE direction = 'outbound'
           AND event_type IN ('pms.rates.update', 'pms.restrictions.update')
           AND received_at >= now() - make_interval(secs => $1) GROUP BY status""",
        settled + 5,
    )
    events = {r["status"]: r["n"] for r in rows}
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
        f"{credits_spent(calls):.2f} credits (bound 20), refused for credits: "
        f"{credits['refused']}; events {events}"
    )
    off = await _differences(api, db, hotel)
    say(
        f"    Beds24 equals the PMS on every room-date: {'yes' if not off else 'NO'} "
        f"({6 * DAYS - len(off)}/{6 * DAYS})"
    )
    for line in off[:5]:
        say(f"      differs: {line}")


async def main() -> None:
    async with stack_session("bench-ari", ADMIN_TOKEN, SYNC_EVERY_S="1") as session:
        await bench_ari(session)


if __name__ == "__main__":
    asyncio.run(main())
