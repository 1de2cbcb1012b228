"""`make soak`: credit pressure for a long while, watched for stalls (prints, and exits 1 on a
failed verdict).

One hotel (3 room types x 20 rooms) on an account at Beds24's default limit (100 credits per
5 minutes), 200 PMS reservations, then phases of PMS changes written at a set rate (edits,
guest e-mails, date changes, cancels and reinstatements), with answers of `POST /bookings`
lost now and then. Bursts push the account to the pacing line and past its reset. Every two
seconds the watcher reads the workers' liveness and the age of the oldest outbound event not
yet done or failed.

Verdict (all must hold):
- liveness never failed (no stall);
- no event waited longer than the credits explain: one whole credit window, the longest
  pause between batches and a batch's own time (HELD_BOUND_S);
- Beds24 refused nothing for credits;
- once settled, Beds24 equals the PMS (every reservation and room-night);
- it settled within (credits spent / 100) x 5 min + 60 s of the last change.

`credit_pressure` is also the outbound bench's burst shape (`make bench`).
Run: `python -m channel_sync_tools.soak`.
Sizes: SOAK_MINUTES (default 16), SOAK_BURST_RATE (changes/s in a burst, 80),
SOAK_CALM_RATE (2), SOAK_PHASE_S (60).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

import asyncpg
import httpx

from channel_sync_tools.api import StackApi, credits_spent
from channel_sync_tools.bench.common import ADMIN_TOKEN, book_slots, change_one, compare, typed
from channel_sync_tools.onboarding import onboard, wait_settled
from channel_sync_tools.output import say
from channel_sync_tools.session import Session, stack_session

WINDOW_S = 300.0  # Beds24's credit window
MAX_PAUSE_S = 60.0  # the batcher's longest pause between batches
BATCH_ALLOWANCE_S = 60.0
HELD_BOUND_S = WINDOW_S + MAX_PAUSE_S + BATCH_ALLOWANCE_S
RESERVATIONS = 200


@dataclass(frozen=True)
class Phase:
    seconds: float
    rate: float  # PMS changes per second
    lost_answers: int = 0  # POST /bookings answers lost at the phase's start


@dataclass
class Watch:
    samples: int = 0
    not_live: list[str] = field(default_factory=list)
    oldest_held_s: float = 0.0
    lowest_credits: float | None = None
    resets_seen: int = 0


@dataclass
class Outcome:
    changes: int
    written_s: float
    settled_s: float
    spent: float
    calls: int
    refused: int
    lost: int
    differences: list[str]
    watch: Watch

    @property
    def settle_bound_s(self) -> float:
        return self.spent / 100 * WINDOW_S + 60

    def failures(self) -> list[str]:
        found = []
        if self.watch.not_live:
            found.append(
                f"liveness failed {len(self.watch.not_live)} time(s): {self.watch.not_live[0]}"
            )
        if self.watch.oldest_held_s > HELD_BOUND_S:
            found.append(
                f"an event waited {self.watch.oldest_held_s:.0f} s "
                f"(credits explain {HELD_BOUND_S:.0f} s)"
            )
        if self.refused:
            found.append(f"{self.refused} call(s) refused for credits")
        if self.differences:
            found.append(f"{len(self.differences)} difference(s) between Beds24 and the PMS")
        if self.settled_s > self.settle_bound_s:
            found.append(
                f"settled {self.settled_s:.0f} s after the last change "
                f"(bound {self.settle_bound_s:.0f} s)"
            )
        return found


async def credit_pressure(session: Session, phases: list[Phase], name: str) -> Outcome:
    api, db = session.api, session.db
    hotel = await onboard(api, db, name, typed(3, 20), webhooks=False)
    rng = random.Random(23)
    slots = await book_slots(db, hotel, RESERVATIONS, "Soak")
    ids = list(slots)
    watch = Watch()
    stop_watching = asyncio.Event()
    watching = await asyncpg.connect(session.dsn)  # its own: one query at a time each
    watcher = asyncio.create_task(_watch(api, watching, hotel.account_id, watch, stop_watching))
    started = time.perf_counter()
    changes = 0
    writer = await asyncpg.connect(session.dsn)
    try:
        for phase in phases:
            if phase.lost_answers:
                await api.sandbox.inject_fault(
                    "lost_response", count=phase.lost_answers, method="POST", path="/bookings"
                )
            changes += await _write_at_rate(writer, rng, ids, slots, phase)
        written = time.perf_counter() - started
        await wait_settled(
            db,
            what="every outbound event settled",
            property_id=hotel.property_id,
            direction="outbound",
            timeout=3600,
        )
        settled_s = time.perf_counter() - started - written
    finally:
        await writer.close()
        stop_watching.set()
        await watcher
        await watching.close()
    credits = await api.sandbox.credits(hotel.account_id)
    calls = await api.account_calls(hotel.account_id)
    return Outcome(
        changes=changes + RESERVATIONS,
        written_s=written,
        settled_s=settled_s,
        spent=credits_spent(calls),
        calls=len(calls),
        refused=int(credits["refused"]),
        lost=sum(1 for c in calls if c.get("fault")),
        differences=await compare(api, db, hotel),
        watch=watch,
    )


async def _write_at_rate(
    conn: asyncpg.Connection,
    rng: random.Random,
    ids: list[UUID],
    slots: dict[UUID, date],
    phase: Phase,
) -> int:
    """PMS changes, each its own transaction, on schedule at `phase.rate` per second."""
    loop = asyncio.get_running_loop()
    begun = loop.time()
    total = int(phase.seconds * phase.rate)
    for n in range(total):
        due = begun + n / phase.rate
        if due > loop.time():
            await asyncio.sleep(due - loop.time())  # sleep-ok: an open-loop writer's schedule
        await change_one(conn, rng, slots, ids)
    return total


async def _watch(
    api: StackApi,
    db: asyncpg.Connection,
    account_id: int,
    watch: Watch,
    stop: asyncio.Event,
) -> None:
    http, ports = api.http, api.ports
    health = {
        "outbound-worker": f"{ports.url(ports.outbound)}/healthz",
        "inbound-worker": f"{ports.url(ports.inbound)}/healthz",
    }
    previous_credits: float | None = None
    while not stop.is_set():
        watch.samples += 1
        for name, url in health.items():
            try:
                answer = await http.get(url, timeout=5)
                if answer.status_code != 200:
                    watch.not_live.append(f"{name}: {answer.text[:300]}")
            except httpx.HTTPError as exc:
                watch.not_live.append(f"{name}: no answer ({type(exc).__name__})")
        oldest = await db.fetchval(
            "SELECT coalesce(extract(epoch FROM now() - min(received_at)), 0)::float8 "
            "FROM channel_events WHERE direction = 'outbound' "
            "AND status IN ('received', 'processing')"
        )
        watch.oldest_held_s = max(watch.oldest_held_s, oldest)
        credits = await api.sandbox.credits(account_id)
        remaining = float(credits.get("remaining", 0))
        if previous_credits is not None and remaining > previous_credits + 10:
            watch.resets_seen += 1
        previous_credits = remaining
        low = watch.lowest_credits
        watch.lowest_credits = remaining if low is None else min(low, remaining)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 2)


def report(outcome: Outcome, label: str) -> None:
    w = outcome.watch
    say(f"    {label}: {outcome.changes} PMS changes written in {outcome.written_s:.0f} s")
    say(
        f"    settled {outcome.settled_s:.1f} s after the last change "
        f"(bound: {outcome.spent:.1f} credits / 100 x 300 s + 60 s = "
        f"{outcome.settle_bound_s:.0f} s)"
    )
    say(
        f"    credits spent {outcome.spent:.2f} in {outcome.calls} calls -> "
        f"{outcome.changes / max(outcome.spent, 0.01):.0f} changes per credit; "
        f"refused {outcome.refused}; answers lost on purpose {outcome.lost}"
    )
    say(
        f"    watched {w.samples} times: lowest credits left {w.lowest_credits}, "
        f"window resets seen {w.resets_seen}, oldest event held {w.oldest_held_s:.0f} s "
        f"(bound {HELD_BOUND_S:.0f} s), liveness failures {len(w.not_live)}"
    )
    say(f"    Beds24 equals the PMS: {'yes' if not outcome.differences else 'NO'}")


async def main() -> int:
    minutes = float(os.environ.get("SOAK_MINUTES", "16"))
    burst = float(os.environ.get("SOAK_BURST_RATE", "80"))
    calm = float(os.environ.get("SOAK_CALM_RATE", "2"))
    phase_s = float(os.environ.get("SOAK_PHASE_S", "60"))
    pairs = max(1, int(minutes * 60 / (2 * phase_s)))
    phases: list[Phase] = []
    for n in range(pairs):
        lost = 2 if n in (0, pairs // 2) else 0
        phases += [Phase(phase_s, burst, lost_answers=lost), Phase(phase_s, calm)]
    say(
        f"soak: {pairs} bursts of {phase_s:.0f} s at {burst:.0f} changes/s, each followed by "
        f"{phase_s:.0f} s at {calm:.0f}/s ({pairs * 2 * phase_s / 60:.0f} min), "
        "100 credits per 5 minutes, answers lost at the start and half way"
    )
    async with stack_session("soak", ADMIN_TOKEN, RETRY_DELAYS_MS="1000,2000,4000") as session:
        outcome = await credit_pressure(session, phases, "Soak Hotel")
    report(outcome, "soak")
    failures = outcome.failures()
    for line in failures:
        say(f"    FAILED: {line}")
    for line in outcome.differences[:10]:
        say(f"      differs: {line}")
    stalls = len(outcome.watch.not_live)
    say(
        f"soak verdict: stalls {stalls} · held past bound "
        f"{int(outcome.watch.oldest_held_s > HELD_BOUND_S)} · refused {outcome.refused} · "
        f"differing {len(outcome.differences)} · {'PASSED' if not failures else 'FAILED'}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
