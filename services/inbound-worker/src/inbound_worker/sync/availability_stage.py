"""Availability over the horizon (the last stage of a run).

A property's first initial sync sends every mapped Beds24 room's availability for the whole
horizon (one outbound availability event per room; the outbound worker computes and sends
it). A reconciliation (or a later initial sync) reads Beds24's calendar for every room in
ONE call and compares each night with the PMS's free units; each run of differing nights
of a room is a drift record, repaired by an availability event for those nights (the PMS's
count is the truth). It compares once the property's events in flight are done (or after
`settle_s` anyway), so a change on its way is not reported as drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from channel_sync.beds24.links import PropertyLink
from channel_sync.db import Connection
from channel_sync.pms_availability import free_units
from channel_sync.pms_changes import record_room_availability_change

from inbound_worker.beds24_bookings import Beds24Bookings
from inbound_worker.sync import drift, pms_side
from inbound_worker.sync.drift import Drift
from inbound_worker.sync.metrics import count_drift
from inbound_worker.sync.runs import Run


class AvailabilityStage:
    def __init__(self, beds24: Beds24Bookings, *, horizon_days: int, settle_s: float) -> None:
        self._beds24 = beds24
        self._horizon = horizon_days
        self._settle = timedelta(seconds=settle_s)

    async def step(self, conn: Connection, run: Run, link: PropertyLink, today: date) -> bool:
        """True when the stage is done; False: events still in flight, try again later."""
        rooms = await conn.fetch(
            """SELECT beds24_room_id, (array_agg(room_id ORDER BY room_id))[1] AS room_id
               FROM channel_sync_room_map WHERE property_id = $1 AND is_active
               GROUP BY beds24_room_id ORDER BY beds24_room_id""",
            run.property_id,
        )
        if run.kind == "initial" and not await _synced_before(conn, run):
            for room in rooms:
                await record_room_availability_change(
                    conn, room["room_id"], today, None, correlation_id=f"sync-run:{run.id}"
                )
                run.count("availability_events")
            return True
        if not self._settled(run, await pms_side.events_in_flight(conn, run.property_id)):
            return False
        numbered = [r for r in rooms if r["beds24_room_id"].isdigit()]
        last = today + timedelta(days=self._horizon - 1)
        calendar = await self._beds24.get_calendar(
            link, [int(r["beds24_room_id"]) for r in numbered], today, last
        )
        held = _nights(calendar)
        nights = [today + timedelta(days=n) for n in range(self._horizon)]
        for room in numbered:
            beds24_room = room["beds24_room_id"]
            free = await free_units(conn, run.property_id, beds24_room, nights)
            differing = [
                n
                for n in nights
                if (beds24_room, n) in held and max(held[beds24_room, n], 0) != free[n]
            ]
            for first, final in _runs(differing):
                span = [first + timedelta(days=d) for d in range((final - first).days + 1)]
                found = Drift(
                    "availability_differs",
                    f"room {beds24_room} {first}..{final}",
                    {"numAvail": {str(n): held[beds24_room, n] for n in span}},
                    {"free": {str(n): free[n] for n in span}},
                )
                event_id = await record_room_availability_change(
                    conn, room["room_id"], first, final, correlation_id=f"sync-run:{run.id}"
                )
                await drift.record_repaired(
                    conn,
                    run.property_id,
                    run.id,
                    found,
                    resolution="the PMS's availability is sent to Beds24",
                    event_id=event_id,
                )
                run.count("availability_events")
                run.count("drift_found")
                run.count("drift_repaired")
                count_drift(found.kind, "repaired")
        return True

    def _settled(self, run: Run, in_flight: int) -> bool:
        now = datetime.now(UTC)
        since = datetime.fromisoformat(run.cursor.setdefault("settling_since", now.isoformat()))
        return in_flight == 0 or now - since >= self._settle


async def _synced_before(conn: Connection, run: Run) -> bool:
    """An initial sync done before: a second one compares, as a reconciliation does."""
    done: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM sync_runs WHERE property_id = $1 AND id <> $2
                          AND kind = 'initial' AND status = 'done')""",
        run.property_id,
        run.id,
    )
    return done


def _nights(calendar: list[dict[str, Any]]) -> dict[tuple[str, date], int]:
    """`numAvail` per (Beds24 room, night) from the calendar's compressed ranges."""
    held: dict[tuple[str, date], int] = {}
    for item in calendar:
        room = str(item.get("roomId"))
        for span in item.get("calendar") or []:
            value = span.get("numAvail")
            if not isinstance(value, int) or isinstance(value, bool):
                continue
            first = date.fromisoformat(str(span["from"]))
            final = date.fromisoformat(str(span.get("to") or span["from"]))
            for d in range((final - first).days + 1):
                held[room, first + timedelta(days=d)] = value
    return held


def _runs(nights: list[date]) -> Iterator[tuple[date, date]]:
    """Consecutive nights as (first, last) pairs."""
    start = prev = None
    for night in nights:
        if start is None or prev is None or night != prev + timedelta(days=1):
            if start is not None and prev is not None:
                yield start, prev
            start = night
        prev = night
    if start is not None and prev is not None:
        yield start, prev
