"""How the chaos run judges: Beds24 against the PMS once everything settled (lost, doubled,
differing, availability, groups against stays, holds), and the summary it prints."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
from channel_sync.db import DATABASE_ERRORS

from channel_sync_tools.api import StackApi
from channel_sync_tools.calendar import nights_shown
from channel_sync_tools.chaos.load import HORIZON_DAYS, ChaosHotel, Load, Plan, with_connection
from channel_sync_tools.onboarding import open_events
from channel_sync_tools.output import say
from channel_sync_tools.stack import StackFailed, wait_until

RECOVERY_LIMIT_S = 30.0


@dataclass
class Verdict:
    lost: int = 0
    doubled: int = 0
    duplicate_in_beds24: int = 0
    differing: int = 0
    stuck: int = 0
    failed: int = 0
    availability_mismatches: int = 0
    groups_split: int = 0  # a Beds24 group not exactly one PMS stay, or the other way round
    groups_compared: int = 0
    waiting_for_room: int = 0  # Beds24 bookings the PMS holds without a room (flagged)
    waiting_beside_a_free_room: int = 0  # of those, one whose Beds24 room maps a free PMS room
    holds_confirmed_late: int = 0  # confirmed after their expiry: never allowed
    holds_not_reaped: int = 0  # still held more than 5 s past their expiry
    holds_ended_twice: int = 0  # a hold whose unit was given back more than once
    deadlocks: int = 0  # in Postgres's log: retried, but a sign of unordered locking
    bookings_compared: int = 0
    reservations_compared: int = 0
    nights_compared: int = 0
    examples: list[str] = field(default_factory=list)
    failure_reasons: dict[str, int] = field(default_factory=dict)

    def note(self, text: str) -> None:
        if len(self.examples) < 15:
            self.examples.append(text)


BEDS24_CANCELLED = "cancelled"


async def compare_bookings(
    api: StackApi, db: asyncpg.Connection, hotel: ChaosHotel, v: Verdict
) -> None:
    in_beds24 = await api.sandbox.bookings(hotel.hotel.beds24.id)
    rows = await db.fetch(
        "SELECT id, beds24_booking_id, arrival, departure, status, guest_last_name, stay_id "
        "FROM reservations WHERE property_id = $1",
        hotel.property_id,
    )
    by_booking = {r["beds24_booking_id"]: r for r in rows if r["beds24_booking_id"]}
    by_name = Counter(r["guest_last_name"] for r in rows)
    # A group's rooms share the guest's name: doubled means more PMS stays than bookings.
    booked_as = Counter(b.get("lastName") for b in in_beds24)
    ours: dict[str, list[dict[str, Any]]] = {}
    for booking in in_beds24:
        reference = str(booking.get("apiReference") or "")
        if reference.startswith("pms-"):
            ours.setdefault(reference[4:], []).append(booking)
            continue
        v.bookings_compared += 1
        row = by_booking.get(booking["id"])
        if row is None:
            v.lost += 1
            v.note(f"Beds24 booking {booking['id']} ({booking['status']}) has no PMS reservation")
            continue
        if by_name[booking.get("lastName")] > booked_as[booking.get("lastName")]:
            v.doubled += 1
            v.note(f"Beds24 booking {booking['id']} is {by_name[booking['lastName']]} PMS stays")
        _same(v, f"Beds24 booking {booking['id']}", booking, row)
    for row in rows:
        if not str(row["guest_last_name"]).startswith("Pms"):
            continue
        v.reservations_compared += 1
        found = ours.get(str(row["id"]), [])
        if len(found) > 1:
            v.duplicate_in_beds24 += len(found) - 1
            v.note(f"reservation {row['id']} exists {len(found)} times in Beds24")
        if not found:
            if row["status"] == "cancelled" and row["beds24_booking_id"] is None:
                continue  # cancelled before it was ever sent: Beds24 never needs it
            v.lost += 1
            v.note(f"reservation {row['id']} ({row['status']}) never reached Beds24")
            continue
        _same(v, f"reservation {row['id']}", found[0], row)
    _compare_groups(in_beds24, rows, v)


def _compare_groups(
    in_beds24: list[dict[str, Any]], rows: list[asyncpg.Record], v: Verdict
) -> None:
    """Every Beds24 booking group is exactly one PMS stay, and every PMS stay's rooms in
    Beds24 are exactly one group (a stay or group split or merged is counted)."""
    by_booking = {r["beds24_booking_id"]: r for r in rows if r["beds24_booking_id"]}
    by_reservation = {str(r["id"]): r for r in rows}
    stays_of_group: dict[int, set[UUID | None]] = {}
    groups_of_stay: dict[UUID, list[int | None]] = {}
    for booking in in_beds24:
        reference = str(booking.get("apiReference") or "")
        row = (
            by_reservation.get(reference[4:])
            if reference.startswith("pms-")
            else by_booking.get(booking["id"])
        )
        if row is None:
            continue  # counted as lost above
        master = booking.get("masterId")
        if master is not None:
            stays_of_group.setdefault(master, set()).add(row["stay_id"])
        if row["stay_id"] is not None:
            groups_of_stay.setdefault(row["stay_id"], []).append(master)
    for master, stays in stays_of_group.items():
        if len(stays) != 1 or None in stays:
            v.groups_split += 1
            v.note(f"Beds24 group {master} is PMS stays {sorted(map(str, stays))}")
    for stay, masters in groups_of_stay.items():
        # One room in Beds24 (the others cancelled before they were sent) needs no group.
        if len(masters) > 1 and (len(set(masters)) != 1 or None in masters):
            v.groups_split += 1
            v.note(f"PMS stay {stay}: its {len(masters)} Beds24 bookings are groups {masters}")
    v.groups_compared += len(stays_of_group)


def _same(v: Verdict, what: str, booking: dict[str, Any], row: asyncpg.Record) -> None:
    cancelled = booking["status"] == BEDS24_CANCELLED
    if (booking["arrival"], booking["departure"]) != (str(row["arrival"]), str(row["departure"])):
        v.differing += 1
        v.note(
            f"{what}: Beds24 {booking['arrival']}..{booking['departure']}, "
            f"PMS {row['arrival']}..{row['departure']}"
        )
    elif cancelled != (row["status"] == "cancelled"):
        v.differing += 1
        v.note(f"{what}: Beds24 {booking['status']}, PMS {row['status']}")


async def compare_availability(
    api: StackApi, db: asyncpg.Connection, hotel: ChaosHotel, v: Verdict
) -> None:
    first, last = date.today(), date.today() + timedelta(days=HORIZON_DAYS)
    async with api.beds24(hotel.hotel.refresh_token) as client:
        shown = await nights_shown(client, [hotel.guest_room, hotel.pms_room], first, last)
    # The PMS's free units: mapped rooms minus reservations in them, minus bookings Beds24
    # sold in that room that still wait for a PMS room, minus live holds; never below 0.
    free = await db.fetch(
        """SELECT m.beds24_room_id::int AS room, d::date AS night,
                  GREATEST(0, count(DISTINCT m.room_id) - count(DISTINCT x.id) - (
                      SELECT count(*) FROM reservations w
                      WHERE w.property_id = $1 AND w.room_id IS NULL
                        AND w.beds24_room_id = m.beds24_room_id
                        AND channel_sync_occupies(w.status)
                        AND w.arrival <= d AND d < w.departure) - (
                      SELECT count(*) FROM inventory_holds h
                      WHERE h.property_id = $1 AND h.beds24_room_id = m.beds24_room_id
                        AND h.status = 'held' AND h.expires_at > now()
                        AND h.arrival <= d AND d < h.departure)) AS free
           FROM channel_sync_room_map m
           CROSS JOIN generate_series($2::date, $3::date, '1 day') d
           LEFT JOIN reservations x ON x.room_id = m.room_id
                AND channel_sync_occupies(x.status) AND x.arrival <= d AND d < x.departure
           WHERE m.property_id = $1 AND m.is_active
           GROUP BY m.beds24_room_id, d""",
        hotel.property_id,
        first,
        last,
    )
    for row in free:
        v.nights_compared += 1
        got = shown.get((row["room"], row["night"]), {}).get("numAvail")
        if got != row["free"]:
            v.availability_mismatches += 1
            v.note(f"room {row['room']} night {row['night']}: Beds24 {got}, PMS {row['free']}")


async def judge(api: StackApi, dsn: str, hotels: list[ChaosHotel]) -> Verdict:
    v = Verdict()
    db = await asyncpg.connect(dsn)
    try:
        for hotel in hotels:
            await compare_bookings(api, db, hotel, v)
            await compare_availability(api, db, hotel, v)
        v.stuck = await open_events(db)
        await judge_holds(db, v)
        v.waiting_for_room = await db.fetchval(
            "SELECT count(*) FROM reservations WHERE room_id IS NULL "
            "AND channel_sync_occupies(status) AND departure > current_date"
        )
        v.waiting_beside_a_free_room = await db.fetchval(
            """SELECT count(*) FROM reservations w
               WHERE w.room_id IS NULL AND channel_sync_occupies(w.status)
                 AND w.departure > current_date
                 AND EXISTS (
                     SELECT 1 FROM channel_sync_room_map m
                     WHERE m.property_id = w.property_id AND m.is_active
                       AND m.beds24_room_id = w.beds24_room_id
                       AND NOT EXISTS (
                           SELECT 1 FROM reservations x
                           WHERE x.room_id = m.room_id AND channel_sync_occupies(x.status)
                             AND x.arrival < w.departure AND x.departure > w.arrival))"""
        )
        failures = await db.fetch(
            "SELECT left(coalesce(last_error, '?'), 120) AS why, count(*) AS n "
            "FROM channel_events WHERE status = 'failed' GROUP BY 1"
        )
        v.failed = sum(r["n"] for r in failures)
        v.failure_reasons = {r["why"]: r["n"] for r in failures}
    finally:
        await db.close()
    return v


async def judge_holds(db: asyncpg.Connection, v: Verdict) -> None:
    """Each hold ends once and on time: never confirmed after its expiry, reaped within
    5 s of it, its unit taken and given back by exactly one availability change each."""
    v.holds_confirmed_late = await db.fetchval(
        "SELECT count(*) FROM inventory_holds WHERE status = 'confirmed' AND ended_at > expires_at"
    )
    v.holds_not_reaped = await db.fetchval(
        "SELECT count(*) FROM inventory_holds WHERE status = 'held' "
        "AND expires_at < now() - interval '5 seconds'"
    )
    v.holds_ended_twice = await db.fetchval(
        """SELECT count(*) FROM (
               SELECT h.id FROM inventory_holds h
               JOIN channel_events e ON e.entity_internal_id = h.id
                    AND e.event_type = 'pms.availability.update'
               GROUP BY h.id HAVING count(*) > 2) twice"""
    )


async def settle(
    api: StackApi, dsn: str, hotels: list[ChaosHotel], plan: Plan
) -> tuple[Verdict, float]:
    """Wait until nothing is open and Beds24 equals the PMS (dropped webhooks come back with
    the next poll), or the deadline; then judge."""
    started = time.monotonic()

    async def agreed() -> Verdict | None:
        try:
            if await with_connection(dsn, open_events):
                return None
        except DATABASE_ERRORS:
            return None
        verdict = await judge(api, dsn, hotels)
        clean = verdict.lost + verdict.differing + verdict.availability_mismatches == 0
        return verdict if clean and verdict.stuck == 0 else None

    try:
        # Every 2 s at most: each judgement reads Beds24's calendar (it costs credits).
        verdict = await wait_until(
            "Beds24 equal to the PMS", agreed, plan.settle_timeout_s, quiet=True, interval=2
        )
    except StackFailed:
        verdict = await judge(api, dsn, hotels)
    return verdict, time.monotonic() - started


def report(
    v: Verdict,
    recovery: list[tuple[str, float | None]],
    load: Load,
    settled_in: float,
    json_path: Path | None,
) -> int:
    say(
        f"  settled after {settled_in:.0f} s; compared {v.bookings_compared} guest bookings, "
        f"{v.reservations_compared} PMS reservations, {v.groups_compared} Beds24 groups, "
        f"{v.nights_compared} room-nights; "
        f"{v.waiting_for_room} booking(s) still waiting for a PMS room "
        f"({v.waiting_beside_a_free_room} of them beside a free room of their Beds24 room)"
    )
    for example in v.examples:
        say(f"    ! {example}")
    for reason, n in v.failure_reasons.items():
        say(f"    failed x{n}: {reason}")
    slowest = max((t if t is not None else float("inf")) for _, t in recovery)
    say(
        f"\nchaos: lost {v.lost} · doubled {v.doubled} · duplicate in Beds24 "
        f"{v.duplicate_in_beds24} · differing {v.differing} · stuck {v.stuck} · failed "
        f"{v.failed} · availability mismatches {v.availability_mismatches} · groups split "
        f"{v.groups_split} · holds confirmed late {v.holds_confirmed_late} · holds not reaped "
        f"{v.holds_not_reaped} · holds ended twice {v.holds_ended_twice} · deadlocks "
        f"{v.deadlocks} · slowest recovery {slowest:.1f} s"
    )
    if json_path is not None:
        json_path.write_text(
            json.dumps(
                {
                    "lost": v.lost,
                    "doubled": v.doubled,
                    "duplicate_in_beds24": v.duplicate_in_beds24,
                    "differing": v.differing,
                    "stuck": v.stuck,
                    "failed": v.failed,
                    "availability_mismatches": v.availability_mismatches,
                    "groups_split": v.groups_split,
                    "holds_confirmed_late": v.holds_confirmed_late,
                    "holds_not_reaped": v.holds_not_reaped,
                    "holds_ended_twice": v.holds_ended_twice,
                    "groups_compared": v.groups_compared,
                    "deadlocks": v.deadlocks,
                    "waiting_for_room": v.waiting_for_room,
                    "waiting_beside_a_free_room": v.waiting_beside_a_free_room,
                    "bookings_compared": v.bookings_compared,
                    "reservations_compared": v.reservations_compared,
                    "nights_compared": v.nights_compared,
                    "recovery_s": dict(recovery),
                    "inbound_changes": load.inbound_changes,
                    "outbound_changes": load.outbound_changes,
                    "examples": v.examples,
                },
                indent=2,
            )
        )
    bad = (
        v.lost
        + v.doubled
        + v.duplicate_in_beds24
        + v.stuck
        + v.availability_mismatches
        + v.groups_split
        + v.holds_confirmed_late
        + v.holds_not_reaped
        + v.holds_ended_twice
    )
    return 1 if bad or slowest > RECOVERY_LIMIT_S else 0
