"""The onboarding check: see the package's description (`channel_sync_tools.onboard_real_hotel`)."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import asyncpg
from channel_sync_testing import infra

from channel_sync_tools.onboard_real_hotel.catalogue import ROOM_TYPES, Catalogue, counts, plan
from channel_sync_tools.onboard_real_hotel.drift import calendar_check, check_targets, make_drift
from channel_sync_tools.onboard_real_hotel.hotel import Meridian, SyncWaves
from channel_sync_tools.onboard_real_hotel.rules import (
    Rule,
    Sides,
    census,
    judge_drift,
    uncovered,
)
from channel_sync_tools.output import evidence, say
from channel_sync_tools.session import stack_session
from channel_sync_tools.stack import BASE_AMQP, Ports, StackFailed, wait_until

ADMIN_TOKEN = os.environ.get("ADMIN_API_TOKEN", "onboard-admin-token")
# Its own stack beside any other: ports 18280-18283, sandbox 18290 (ONBOARD_PORT_BASE).
PORTS = Ports.from_base(int(os.environ.get("ONBOARD_PORT_BASE", "18280")))
CREDIT_BOUNDS = {"initial sync": 20.0, "reconcile 1": 12.0, "reconcile 2": 10.0}


async def wait_for_stage(
    hotel: Meridian, run_id: str, wanted: Callable[[dict[str, Any]], bool]
) -> str:
    """The run's stage once `wanted` holds (polled often: the waves must land mid-run)."""

    async def reached() -> str | None:
        run = await hotel.run_of(run_id)
        if not wanted(run):
            return None
        return f"{run['status']}/{run['stage']} pages={run['progress'].get('pages', 0)}"

    return await wait_until("the initial sync's stage", reached, 60, quiet=True, interval=0.02)


async def scenario(hotel: Meridian, cat: Catalogue) -> list[Rule]:
    rules: list[Rule] = []
    beds24_n, pms_n, same_n = counts(cat)
    say("\n▶ The hotel before connecting")
    await hotel.seed_beds24()
    await hotel.seed_pms()
    kinds_b = Counter(u.kind for u in cat.units if u.origin != "pms")
    kinds_p = Counter(u.kind for u in cat.units if u.origin == "pms")
    evidence("rooms", {name: qty for name, qty, _ in ROOM_TYPES})
    evidence("Beds24 bookings", beds24_n)
    evidence("  by kind", dict(kinds_b))
    evidence("  by channel", dict(Counter(u.channel for u in cat.units if u.origin != "pms")))
    evidence("  by status", dict(Counter(u.beds24_status for u in cat.units if u.origin != "pms")))
    evidence("PMS reservations", pms_n)
    evidence("  PMS only, by kind", dict(kinds_p))
    evidence(
        "  the same stays",
        {**Counter(u.match for u in cat.units if u.origin == "both"), "total": same_n},
    )
    evidence(
        "  held differently at connection", {u.label: u.pms_diff for u in cat.units if u.pms_diff}
    )
    if (beds24_n, pms_n, same_n) != (307, 127, 57):
        raise StackFailed(f"the plan makes {(beds24_n, pms_n, same_n)}, not (307, 127, 57)")

    say("\n▶ Onboarding through the admin API (invite code, mappings)")
    await hotel.mark("onboarding")
    t0 = time.monotonic()
    await hotel.onboard()
    await hotel.quiet("onboarding")
    evidence("registered, webhook set, 4 room types mapped in", f"{time.monotonic() - t0:.1f}s")

    say("\n▶ Initial sync, with guests and the desk changing bookings meanwhile")
    await hotel.mark("initial sync")
    t0 = time.monotonic()
    run_id = await hotel.request_run("initial")
    waves = SyncWaves(hotel)
    at1 = f"{(await hotel.run_of(run_id))['status']}"
    await waves.wave1()
    at2 = await wait_for_stage(
        hotel, run_id, lambda r: r["progress"].get("pages", 0) >= 1 or r["status"] == "done"
    )
    await waves.wave2()
    at3 = await wait_for_stage(hotel, run_id, lambda r: r["status"] == "done")
    in_flight = await hotel.busy()
    await waves.wave3()
    for change in waves.done:
        say(f"    {change}")
    evidence(
        "the run when each wave began",
        {"wave 1": at1, "wave 2": at2, "wave 3": f"{at3}, {in_flight} events in flight"},
    )
    initial = await hotel.settle(run_id, "initial sync")
    evidence("GET /admin/sync-runs/{id}", {"status": initial["status"], **initial["progress"]})
    evidence("settled in", f"{time.monotonic() - t0:.1f}s")
    bookings, reservations = await hotel.beds24_bookings(), await hotel.reservations()
    after_initial = census(cat, bookings, reservations)
    evidence("after the initial sync", after_initial.figures())
    await show_failed_events(hotel)
    rules.append(
        after_initial.rule("1. every stay exactly once on each side after the initial sync")
    )
    initial_drift = await hotel.drift()
    evidence(
        "drift after the initial sync",
        dict(Counter(f"{d['kind']}/{d['status']}" for d in initial_drift)),
    )

    say("\n▶ Drift on both sides")
    await hotel.mark("drift")
    targets = await make_drift(hotel, cat)
    await hotel.quiet("drift")

    say("\n▶ Reconciliation 1")
    await hotel.mark("reconcile 1")
    t0 = time.monotonic()
    r1 = await hotel.settle(await hotel.request_run("reconcile"), "reconcile 1")
    evidence("GET /admin/sync-runs/{id}", {"status": r1["status"], **r1["progress"]})
    evidence("settled in", f"{time.monotonic() - t0:.1f}s")

    say("\n▶ Reconciliation 2")
    await hotel.mark("reconcile 2")
    events_before = await hotel.events_count()
    drift_before = {d["id"]: d for d in await hotel.drift()}
    t0 = time.monotonic()
    r2_id = await hotel.request_run("reconcile")
    r2 = await hotel.settle(r2_id, "reconcile 2")
    await hotel.mark("end")
    evidence("GET /admin/sync-runs/{id}", {"status": r2["status"], **r2["progress"]})
    evidence("settled in", f"{time.monotonic() - t0:.1f}s")
    events_after = await hotel.events_count()
    drift_now = await hotel.drift()
    new_drift = [d for d in drift_now if d["id"] not in drift_before]
    changed_drift = [
        d
        for d in drift_now
        if d["id"] in drift_before and d["status"] != drift_before[d["id"]]["status"]
    ]
    calls = await hotel.api.sandbox.calls()
    phases = phase_calls(hotel, calls)
    r2_writes = [c for c in phases["reconcile 2"] if c["method"] in ("POST", "DELETE")]

    say("\n▶ Both sides at the end")
    bookings, reservations = await hotel.beds24_bookings(), await hotel.reservations()
    final = census(cat, bookings, reservations)
    evidence("totals", final.figures())
    sides = Sides(hotel, bookings, reservations)
    evidence("drift records", dict(Counter(f"{d['kind']}/{d['status']}" for d in drift_now)))
    proposals: dict[str, list[str]] = defaultdict(list)
    for d in sorted(drift_now, key=lambda d: (d["status"], d["kind"], d["subject"])):
        if d["kind"] in ("availability_differs", "calendar_differs") and d["status"] != "open":
            continue
        if d["kind"] == "possible_match":  # one line for them all, below
            proposals[d["status"]].append(d["subject"].split()[-1])
            continue
        say(
            f"      {d['status']:9} {d['kind']:16} {d['subject']:18} "
            f"beds24={_short(d['beds24_value'])} pms={_short(d['pms_value'])} "
            f"— {_short(d['resolution'], 100)}"
        )
    for status, ids in proposals.items():
        say(f"      {status:9} possible_match   bookings {', '.join(ids)}")
    await show_failed_events(hotel)

    expectations = await check_targets(hotel, cat, targets, drift_now, sides)
    judged, drift_wrong = judge_drift(drift_now, sides)
    loose = uncovered(drift_now, sides)
    rules.append(final.rule("1b. every stay exactly once on each side at the end"))
    rules.append(
        Rule(
            "2. conflicts repaired by the policy (both values kept) or open with both sides kept",
            judged + len(sides.room1) + len(expectations),
            drift_wrong + loose + [e for e in expectations if e.startswith("!")],
        )
    )
    ota_codes = {u.beds24_ids[0]: u.code for u in cat.units if u.code and u.beds24_ids}
    codes_now = {b["id"]: b.get("apiReference") for b in bookings}
    overwritten = [
        f"Beds24 booking {i}: apiReference {codes_now.get(i)!r}, was the OTA's {code!r}"
        for i, code in sorted(ota_codes.items())
        if i in codes_now and codes_now[i] != code
    ]
    rules.append(
        Rule("3. the OTA's code in apiReference never overwritten", len(ota_codes), overwritten)
    )
    second = []
    if events_after != events_before:
        second.append(f"{events_after - events_before} new event(s)")
    if new_drift:
        second += [f"new drift {d['kind']} {d['status']} '{d['subject']}'" for d in new_drift]
    if changed_drift:
        second += [f"drift {d['kind']} '{d['subject']}' now {d['status']}" for d in changed_drift]
    if r2_writes:
        second.append(f"{len(r2_writes)} write(s) to Beds24: {[c['path'] for c in r2_writes]}")
    rules.append(Rule("4. the second reconciliation writes nothing", 1, second))

    say("\n▶ Beds24 credits per phase (GET /_sandbox/calls, this account)")
    credit_failures = []
    for phase, phase_list in phases.items():
        spent = sum(c["cost"] for c in phase_list)
        by_path = Counter(_call_kind(c) for c in phase_list)
        bound = CREDIT_BOUNDS.get(phase)
        verdict = "" if bound is None else f" (bound {bound:.0f})"
        say(
            f"    {phase:13} {spent:6.2f} credits in {len(phase_list):3} calls{verdict}: "
            f"{dict(by_path)}"
        )
        if bound is not None and spent > bound:
            credit_failures.append(f"{phase}: {spent:.2f} credits > {bound:.0f}")
    rules.append(Rule("5. credits per phase within bounds", len(CREDIT_BOUNDS), credit_failures))

    say("\n▶ What each change made on purpose became")
    for line in expectations:
        say(f"    {line}")
    await calendar_check(hotel, targets)
    return rules


def _short(value: Any, width: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= width else text[: width - 3] + "..."


def _call_kind(call: dict[str, Any]) -> str:
    """`METHOD path`, and for GET /bookings what it asked for."""
    kind = f"{call['method']} {call['path']}"
    if kind == "GET /bookings":
        query = call.get("query") or ""
        if "modifiedFrom" in query:
            kind += " (modified since: poll, or a create search)"
        elif "apiReference" in query:
            kind += " (by reference)"
        elif "id=" in query.replace("propertyId=", "").replace("roomId=", ""):
            kind += " (by id)"
        else:
            kind += " (a page)"
    return kind


def phase_calls(hotel: Meridian, calls: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    account = hotel.account_id
    phases: dict[str, list[dict[str, Any]]] = {}
    marks = hotel.marks
    for (phase, start), (_, end) in itertools.pairwise(marks):
        phases[phase] = [c for c in calls[start:end] if c.get("account_id") == account]
    return phases


async def show_failed_events(hotel: Meridian) -> None:
    """How many of the property's events failed, and why (the first ten)."""
    rows = await hotel.pool.fetch(
        """SELECT event_type, entity_external_id, entity_internal_id, last_error
           FROM channel_events WHERE property_id = $1 AND status = 'failed'
           ORDER BY received_at""",
        hotel.property_id,
    )
    evidence("events failed", len(rows))
    for r in rows[:10]:
        thing = r["entity_external_id"] or r["entity_internal_id"]
        say(f"      ! {r['event_type']} {thing}: {r['last_error']}")


async def main(seed: int, poll: bool, keep: bool) -> int:
    say(
        f"onboard_real_hotel: seed {seed}, poller {'on' if poll else 'off'}, ports "
        f"{PORTS.gateway}-{PORTS.outbound}, sandbox {PORTS.sandbox}"
    )
    cat = plan(seed)
    vhost = infra.create_vhost()
    if vhost is None:
        raise StackFailed("rabbitmqctl is needed for a private vhost")
    rules: list[Rule] = []
    try:
        async with stack_session(
            "onboard",
            ADMIN_TOKEN,
            PORTS,
            RABBITMQ_URL=infra.with_vhost(BASE_AMQP, vhost),
            RETRY_DELAYS_MS="1000,2000,4000",
            SYNC_EVERY_S="1",
            SYNC_SETTLE_S="30",
            RECONCILE_INTERVAL_S="0",
            POLL_ENABLED="true" if poll else "false",
        ) as session:
            pool = await asyncpg.create_pool(session.dsn, min_size=2, max_size=6)
            try:
                rules = await scenario(Meridian(session.api, pool, cat), cat)
            finally:
                await pool.close()
    finally:
        if not keep:
            infra.delete_vhost(vhost)
    say("\n▶ Verdict")
    for rule in rules:
        say(
            f"  {'PASS' if rule.ok else 'FAIL'}  {rule.name} — checked {rule.count}, "
            f"broken {len(rule.failures)}"
        )
        for failure in rule.failures[:15]:
            say(f"          {failure}")
        if len(rule.failures) > 15:
            say(f"          … and {len(rule.failures) - 15} more")
    broken = [r for r in rules if not r.ok]
    say(f"\nonboard_real_hotel: {len(rules) - len(broken)} of {len(rules)} rules hold")
    return 1 if broken or not rules else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m channel_sync_tools.onboard_real_hotel",
        description="a real hotel onboarded under change; a verdict per rule",
    )
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--poll", action="store_true", help="run the poller as in production")
    parser.add_argument("--keep", action="store_true", help="keep the RabbitMQ vhost")
    args = parser.parse_args()
    try:
        sys.exit(asyncio.run(main(args.seed, args.poll, args.keep)))
    except StackFailed as exc:
        print(f"onboard_real_hotel failed: {exc}", file=sys.stderr)
        sys.exit(1)
