"""Availability over the horizon (the last stage of a run).

A property's first initial sync sends every mapped Beds24 room's availability for the whole
horizon (one outbound availability event per room; the outbound worker computes and sends
it). A reconciliation (or a later initial sync) reads Beds24's calendar for every room in
ONE call and compares each night with the PMS's free units; each run of differing nights
of a room is a drift record, repaired by an availability event for those nights (the PMS's
count is the truth). Where the property manages rates and restrictions from the PMS
(`channel_sync.pms_calendar`), the same call reads prices, stay limits and overrides, and each
run of nights where one differs is a `calendar_differs` record, repaired the same way (the
event sends the room's whole calendar for those nights). It compares once the property's
events in flight are done (or after `settle_s` anyway), so a change on its way is not
reported as drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from channel_sync.beds24.links import PropertyLink
from channel_sync.db import Connection
from channel_sync.pms_availability import free_units
from channel_sync.pms_calendar import calendar_values, closed, differences, price_slots, unpriced
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
        ari = bool(await price_slots(conn, run.property_id))
        calendar = await self._beds24.get_calendar(
            link, [int(r["beds24_room_id"]) for r in numbered], today, last, ari=ari
        )
        held = _nights(calendar)
        shown = _days(calendar) if ari else {}
        nights = [today + timedelta(days=n) for n in range(self._horizon)]
        for room in numbered:
            beds24_room = room["beds24_room_id"]
            free = await free_units(conn, run.property_id, beds24_room, nights)
            pms = await calendar_values(conn, run.property_id, beds24_room, nights) if ari else {}
            for night in nights:
                if closed(pms.get(night, {})):
                    free[night] = 0
            differing = [
                n
                for n in nights
                if (beds24_room, n) in held
                and max(held[beds24_room, n], 0) != free[n]
                and not (held[beds24_room, n] == 0 and unpriced(pms.get(n, {})))
            ]
            for first, final in _runs(differing):
                span = _span(first, final)
                found = Drift(
                    "availability_differs",
                    f"room {beds24_room} {first}..{final}",
                    {"numAvail": {str(n): held[beds24_room, n] for n in span}},
                    {"free": {str(n): free[n] for n in span}},
                )
                await self._repair(conn, run, room["room_id"], found, first, final)
            if ari:
                await self._compare_ari(conn, run, room["room_id"], beds24_room, pms, shown)
        return True

    async def _compare_ari(
        self,
        conn: Connection,
        run: Run,
        room_id: Any,
        beds24_room: str,
        pms: dict[date, dict[str, Any]],
        shown: dict[tuple[str, date], dict[str, Any]],
    ) -> None:
        """Prices and restrictions Beds24 shows that differ from the PMS's (a hand edit in
        Beds24, or a write lost on the way): each run of such nights is repaired."""
        differing = {
            n: fields
            for n in sorted(pms)
            if (beds24_room, n) in shown and (fields := differences(pms[n], shown[beds24_room, n]))
        }
        for first, final in _runs(sorted(differing)):
            span = _span(first, final)
            found = Drift(
                "calendar_differs",
                f"room {beds24_room} {first}..{final}",
                {str(n): {k: v[0] for k, v in differing[n].items()} for n in span},
                {str(n): {k: v[1] for k, v in differing[n].items()} for n in span},
            )
            await self._repair(conn, run, room_id, found, first, final)

    async def _repair(
        self,
        conn: Connection,
        run: Run,
        room_id: Any,
        found: Drift,
        first: date,
        final: date,
    ) -> None:
        event_id = await record_room_availability_change(
            conn, room_id, first, final, correlation_id=f"sync-run:{run.id}"
        )
        await drift.record_repaired(
            conn,
            run.property_id,
            run.id,
            found,
            resolution="the PMS's calendar (availability, prices, restrictions) is sent to Beds24",
            event_id=event_id,
        )
        run.count("availability_events")
        run.count("drift_found")
        run.count("drift_repaired")
        count_drift(found.kind, "repaired")

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


def _days(calendar: list[dict[str, Any]]) -> dict[tuple[str, date], dict[str, Any]]:
    """Every field Beds24 shows per (Beds24 room, night) from the compressed ranges."""
    shown: dict[tuple[str, date], dict[str, Any]] = {}
    for item in calendar:
        room = str(item.get("roomId"))
        for span in item.get("calendar") or []:
            values = {k: v for k, v in span.items() if k not in ("from", "to")}
            first = date.fromisoformat(str(span["from"]))
            final = date.fromisoformat(str(span.get("to") or span["from"]))
            for night in _span(first, final):
                shown[room, night] = values
    return shown


def _span(first: date, final: date) -> list[date]:
    return [first + timedelta(days=d) for d in range((final - first).days + 1)]


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
