"""A day of a hotel group's traffic, compressed: Beds24's guests book, change and cancel
(through the sandbox, which sends its webhooks), the front desks book and change
reservations in the PMS, each at a random moment of the day, sent on schedule whether or
not earlier ones are done (open loop). The noisy account adds a burst of PMS changes
(a rate update run over every reservation, an import) on top of its ordinary day.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
from channel_sync_testing.pms_changes import SLOT_DAYS, change_sql
from channel_sync_tools.api import StackApi
from channel_sync_tools.bench.many_hotels.world import Site, World, make_pms_reservation, slot_start

# A property's day (10 rooms): what each side does, on average, per property.
DAY = {
    "beds24 new": 3.0,
    "beds24 modify": 1.0,
    "beds24 cancel": 0.5,
    "pms new": 1.0,
    "pms change": 3.0,
}
AT_ONCE = 64  # actions in flight at most (the day's senders)


@dataclass(frozen=True)
class Burst:
    changes: int  # PMS changes of the noisy account's reservations
    starts_s: float  # into the day
    lasts_s: float


@dataclass
class DayDone:
    done: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)  # nothing left to change
    errors: Counter[str] = field(default_factory=Counter)
    first_errors: list[str] = field(default_factory=list)
    behind_s: float = 0.0  # the most an action was sent behind its schedule
    took_s: float = 0.0


def _count(rng: random.Random, mean: float) -> int:
    """`mean` as a whole count: its floor, and one more with its fraction's chance."""
    whole = int(mean)
    return whole + (1 if rng.random() < mean - whole else 0)


def schedule(
    world: World, seconds: float, burst: Burst | None, rng: random.Random
) -> list[tuple[float, str, Site]]:
    plan = [
        (rng.uniform(0, seconds), kind, site)
        for site in world.sites
        for kind, mean in DAY.items()
        for _ in range(_count(rng, mean))
    ]
    if burst is not None and world.noisy_account is not None:
        noisy = world.of_account(world.noisy_account)
        plan += [
            (burst.starts_s + n * burst.lasts_s / burst.changes, "noisy change", rng.choice(noisy))
            for n in range(burst.changes)
        ]
    plan.sort(key=lambda entry: entry[0])
    return plan


class Senders:
    """The day's actions, each against its site's plan (see `world`)."""

    def __init__(self, api: StackApi, pms: asyncpg.Pool, rng: random.Random) -> None:
        self.api = api
        self.pms = pms
        self.rng = rng
        self.act: dict[str, Callable[[Site], Awaitable[bool]]] = {
            "beds24 new": self.beds24_new,
            "beds24 modify": self.beds24_modify,
            "beds24 cancel": self.beds24_cancel,
            "pms new": self.pms_new,
            "pms change": self.pms_change,
            "noisy change": self.pms_change,
        }

    def _nights(self) -> int:
        return 1 + self.rng.randrange(SLOT_DAYS - 1)

    async def beds24_new(self, site: Site) -> bool:
        free = [key for key, left in site.beds24_free.items() if left > 0]
        if not free:
            return False
        kind, slot = self.rng.choice(free)
        site.beds24_free[kind, slot] -= 1
        arrival = slot_start(slot)
        made = await self.api.sandbox.guest_booking(
            site.hotel.beds24_room(kind),
            arrival,
            arrival + timedelta(days=self._nights()),
            firstName="Ota",
            lastName=f"Guest{self.rng.randrange(10**6)}",
            numAdult=2,
        )
        site.beds24_live[int(made["id"])] = (kind, slot)
        return True

    async def beds24_modify(self, site: Site) -> bool:
        if not site.beds24_live:
            return False
        booking = self.rng.choice(list(site.beds24_live))
        _, slot = site.beds24_live[booking]
        arrival = slot_start(slot)
        await self.api.sandbox.modify_guest_booking(
            booking,
            departure=arrival + timedelta(days=self._nights()),
            numAdult=1 + self.rng.randrange(3),
        )
        return True

    async def beds24_cancel(self, site: Site) -> bool:
        if not site.beds24_live:
            return False
        # Its slot stays taken: the PMS may see the cancellation after the next booking.
        booking = self.rng.choice(list(site.beds24_live))
        del site.beds24_live[booking]
        await self.api.sandbox.cancel_guest_booking(booking)
        return True

    async def pms_new(self, site: Site) -> bool:
        async with self.pms.acquire() as conn:
            return await make_pms_reservation(conn, site, "Desk") is not None

    async def pms_change(self, site: Site) -> bool:
        if not site.pms_made:
            return False
        reservation = self.rng.choice(list(site.pms_made))
        sql, args = change_sql(self.rng, site.pms_made[reservation])
        async with self.pms.acquire() as conn:
            await conn.execute(sql, reservation, *args)
        return True


async def run_day(
    api: StackApi,
    pms: asyncpg.Pool,
    world: World,
    seconds: float,
    burst: Burst | None,
    rng: random.Random,
) -> DayDone:
    """Every action of the day's schedule sent at its moment (at most AT_ONCE in flight)."""
    plan = schedule(world, seconds, burst, rng)
    senders = Senders(api, pms, rng)
    outcome = DayDone()
    gate = asyncio.Semaphore(AT_ONCE)
    loop = asyncio.get_running_loop()
    begun = loop.time()
    started = time.perf_counter()

    async def send(kind: str, site: Site) -> None:
        try:
            if await senders.act[kind](site):
                outcome.done[kind] += 1
            else:
                outcome.skipped[kind] += 1
        except Exception as exc:
            outcome.errors[kind] += 1
            if len(outcome.first_errors) < 5:
                outcome.first_errors.append(f"{kind}: {type(exc).__name__}: {exc}"[:300])
        finally:
            gate.release()

    sending: set[asyncio.Task[None]] = set()
    for due, kind, site in plan:
        wait = begun + due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)  # sleep-ok: an open-loop sender's schedule
        await gate.acquire()
        outcome.behind_s = max(outcome.behind_s, loop.time() - begun - due)
        task = asyncio.create_task(send(kind, site))
        sending.add(task)
        task.add_done_callback(sending.discard)
    if sending:
        await asyncio.gather(*sending)
    outcome.took_s = time.perf_counter() - started
    return outcome
