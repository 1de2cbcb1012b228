"""The rules the onboarding check judges by: every stay exactly once on each side (a census
of both sides against the catalogue), and each conflict repaired by the policy with both
values kept, or open for an operator with both sides kept."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from channel_sync import pms_fields
from channel_sync.references import REFERENCE_INFO_CODE, reservation_of_reference
from inbound_worker.booking import PMS_STATUS

from channel_sync_tools.onboard_real_hotel.catalogue import Catalogue
from channel_sync_tools.onboard_real_hotel.hotel import Meridian


@dataclass
class Rule:
    name: str
    count: int
    failures: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures


# -- rule 1: every stay exactly once on each side -------------------------------------------
def reference_of(booking: dict[str, Any]) -> UUID | None:
    ours = reservation_of_reference(booking.get("apiReference"))
    if ours is not None:
        return ours
    for item in booking.get("infoItems") or []:
        if isinstance(item, dict) and item.get("code") == REFERENCE_INFO_CODE:
            return reservation_of_reference(item.get("text"))
    return None


@dataclass
class Census:
    checked: int = 0
    wrong: list[str] = field(default_factory=list)
    stray_bookings: list[int] = field(default_factory=list)
    stray_reservations: list[UUID] = field(default_factory=list)
    links_checked: int = 0
    unlinked: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    totals: dict[str, int] = field(default_factory=dict)
    tally: Counter[str] = field(default_factory=Counter)
    linked: Counter[str] = field(default_factory=Counter)  # per key: linked as expected
    keyed: Counter[str] = field(default_factory=Counter)  # per key: stays

    def figures(self) -> dict[str, Any]:
        return {
            **self.totals,
            "stays": self.checked,
            **{k: self.tally[k] for k in sorted(self.tally)},
            "linked by key": {k: f"{self.linked[k]}/{self.keyed[k]}" for k in sorted(self.keyed)},
        }

    @property
    def bad_links(self) -> list[str]:
        """One line per key whose stays are not all linked to their own Beds24 booking."""
        return [
            f"key {key}: {len(missed)} of {self.keyed[key]} PMS reservations not linked to "
            f"their Beds24 booking (booking → linked to): {', '.join(missed[:8])}"
            + (f", … {len(missed) - 8} more" if len(missed) > 8 else "")
            for key, missed in sorted(self.unlinked.items())
        ]

    def rule(self, name: str) -> Rule:
        """Rule 1 as this census judges it: each stay held as expected, each key linked,
        nothing on either side that stands for no stay."""
        return Rule(
            name,
            self.checked + self.links_checked,
            self.wrong
            + self.bad_links
            + [f"Beds24 booking {b} stands for no stay" for b in self.stray_bookings]
            + [f"reservation {r} stands for no stay" for r in self.stray_reservations],
        )


def census(
    cat: Catalogue, bookings: list[dict[str, Any]], reservations: list[asyncpg.Record]
) -> Census:
    """Attribute every Beds24 booking and PMS reservation to the stay it stands for (by
    Beds24 id, by our reference, by the rooms of a roomQty booking), then count."""
    result = Census()
    by_ref: dict[UUID, list[int]] = defaultdict(list)
    for b in bookings:
        ref = reference_of(b)
        if ref is not None:
            by_ref[ref].append(b["id"])
    res_by_booking: dict[int, list[UUID]] = defaultdict(list)
    for r in reservations:
        for key in (r["beds24_booking_id"], r["beds24_qty_booking_id"]):
            if key is not None:
                res_by_booking[key].append(r["id"])
    existing = {r["id"] for r in reservations}
    beds24_ids = {b["id"] for b in bookings}
    seen_b: set[int] = set()
    seen_r: set[UUID] = set()
    for unit in cat.units:
        held_b = {i for i in unit.beds24_ids if i in beds24_ids}
        held_r = {i for i in unit.reservation_ids if i in existing}
        for _ in range(3):  # to a fixed point: each side names the other
            for reservation_id in list(held_r):
                held_b.update(by_ref.get(reservation_id, []))
            for booking_id in list(held_b):
                held_r.update(res_by_booking.get(booking_id, []))
        seen_b |= held_b
        seen_r |= held_r
        (b_lo, b_hi), (r_lo, r_hi) = unit.expected()
        result.checked += 1
        for side, n, lo, hi in (
            ("Beds24", len(held_b), b_lo, b_hi),
            ("PMS", len(held_r), r_lo, r_hi),
        ):
            if n > hi:
                result.tally[f"doubled in {side}"] += 1
            elif n < lo:
                result.tally[f"missing in {side}"] += 1
        if not (b_lo <= len(held_b) <= b_hi and r_lo <= len(held_r) <= r_hi):
            result.wrong.append(
                f"{unit.label} ({unit.room_type} {unit.arrival}..{unit.departure}, "
                f"Beds24 {unit.beds24_status}/PMS {unit.pms_status}): Beds24 holds "
                f"{len(held_b)} {sorted(held_b)} (expected {b_lo}..{b_hi}), PMS holds "
                f"{len(held_r)} (expected {r_lo}..{r_hi})"
                + (f"; changes: {'; '.join(unit.changes)}" if unit.changes else "")
            )
        if unit.match and unit.reservation_ids and unit.beds24_ids and not unit.deleted_in_pms:
            result.links_checked += 1
            result.keyed[unit.match] += 1
            linked = {
                r["beds24_booking_id"] for r in reservations if r["id"] == unit.reservation_ids[0]
            }
            if linked == {unit.beds24_ids[0]}:
                result.linked[unit.match] += 1
            else:
                now = next(iter(linked), None) if linked else None
                result.unlinked[unit.match].append(f"{unit.beds24_ids[0]} → {now or 'nothing'}")
    result.stray_bookings = sorted(beds24_ids - seen_b)
    result.stray_reservations = sorted(r["id"] for r in reservations if r["id"] not in seen_r)
    result.totals = {"Beds24 bookings": len(bookings), "PMS reservations": len(reservations)}
    return result


# -- rule 2: conflicts ------------------------------------------------------------------------
STAY_FIELDS = ("arrival", "departure", "status", "room", "adults", "children", "rooms")
SYNCED = {
    f.column: f.beds24
    for f in pms_fields.FIELDS
    if f.outbound and f.kind not in (pms_fields.Kind.PLACEMENT, pms_fields.Kind.GROUP)
}


def _plain(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


class Sides:
    """Both sides of a Beds24 booking as they are now, compared as the sync compares."""

    def __init__(
        self,
        hotel: Meridian,
        bookings: list[dict[str, Any]],
        reservations: list[asyncpg.Record],
    ) -> None:
        self.hotel = hotel
        self.bookings = {b["id"]: b for b in bookings}
        self.room1 = {r["beds24_booking_id"]: r for r in reservations if r["beds24_booking_id"]}
        self.extra_rooms: Counter[int] = Counter(
            r["beds24_qty_booking_id"]
            for r in reservations
            if r["beds24_qty_booking_id"] and r["status"] != "cancelled"
        )

    def beds24_room_of(self, r: asyncpg.Record) -> str | None:
        if r["room_id"] is not None:
            return str(self.hotel.beds24_rooms[self.hotel.room_type_of[r["room_id"]]])
        room: str | None = r["beds24_room_id"]
        return room

    def values(self, booking_id: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
        b, r = self.bookings.get(booking_id), self.room1.get(booking_id)
        if b is None or r is None:
            return None
        beds24 = {
            "arrival": b["arrival"],
            "departure": b["departure"],
            "status": PMS_STATUS[b["status"]],
            "room": str(b["roomId"]),
            "adults": _plain(b.get("numAdult")),
            "children": _plain(b.get("numChild")),
            "rooms": b.get("roomQty") or 1,
        }
        pms = {
            "arrival": r["arrival"].isoformat(),
            "departure": r["departure"].isoformat(),
            "status": r["status"],
            "room": self.beds24_room_of(r),
            "adults": _plain(r["adults"]),
            "children": _plain(r["children"]),
            "rooms": 1 + self.extra_rooms[booking_id],
        }
        for column, name in SYNCED.items():
            if column in beds24:
                continue
            value = b.get("country2") or b.get("country") if name == "country" else b.get(name)
            beds24[column] = _plain(value)
            pms[column] = _plain(r[column])
        return beds24, pms

    def differing(self, booking_id: int) -> list[str]:
        both = self.values(booking_id)
        if both is None:
            return []
        beds24, pms = both
        if beds24["status"] == "cancelled" and pms["status"] == "cancelled":
            return []
        return [
            k
            for k in beds24
            if beds24[k] != pms[k]
            and (k in STAY_FIELDS or (beds24[k] is not None and pms[k] is not None))
        ]


def booking_of(subject: str) -> int | None:
    parts = subject.split()
    return int(parts[1]) if len(parts) == 2 and parts[0] == "booking" else None


def judge_drift(records: list[dict[str, Any]], sides: Sides) -> tuple[int, list[str]]:
    """Each record against both sides now; (records judged, what is wrong)."""
    wrong: list[str] = []
    for d in records:
        kind, status, subject = d["kind"], d["status"], d["subject"]
        booking = booking_of(subject)
        where = f"{kind} {status} '{subject}'"
        if kind in ("booking_differs", "match_differs"):
            fields = sorted(set(d["beds24_value"] or {}) | set(d["pms_value"] or {}))
            if not d["beds24_value"] or not d["pms_value"] or not fields:
                wrong.append(f"{where}: does not hold both values ({d})")
                continue
            assert booking is not None
            now = sides.differing(booking)
            still = [f for f in fields if f in now]
            if status == "repaired" and still:
                wrong.append(
                    f"{where}: repaired ({d['resolution']}) but {still} still differ "
                    f"(now {sides.values(booking)})"
                )
            if status == "open" and not still:
                wrong.append(
                    f"{where}: open for an operator, but a side was overwritten: "
                    f"{fields} now agree; recorded Beds24 {d['beds24_value']} / PMS "
                    f"{d['pms_value']}"
                )
            if status == "resolved" and still:
                wrong.append(f"{where}: resolved as '{d['resolution']}' but {still} still differ")
        elif kind == "missing_in_pms" and booking is not None:
            b = sides.bookings.get(booking)
            held = booking in sides.room1
            if status == "open" and (b is None or b["status"] == "cancelled" or held):
                wrong.append(f"{where}: open, but Beds24 {b and b['status']}, PMS holds {held}")
            if status == "repaired" and not held:
                wrong.append(f"{where}: repaired, but no reservation holds it")
        elif status == "repaired" and not d.get("event_id"):
            wrong.append(f"{where}: repaired without an event")
    return len(records), wrong


def _open_names(records: list[dict[str, Any]], booking: int) -> bool:
    return any(
        r["status"] == "open" and booking_of(r["subject"]) == booking
        for r in records
        if r["kind"] in ("booking_differs", "match_differs")
    )


def uncovered(records: list[dict[str, Any]], sides: Sides) -> list[str]:
    """Linked stays that differ now with no open record naming them."""
    found = []
    for booking_id in sorted(sides.room1):
        fields = sides.differing(booking_id)
        if fields and not _open_names(records, booking_id):
            both = sides.values(booking_id)
            assert both is not None
            shown = {f: (both[0][f], both[1][f]) for f in fields}
            found.append(f"booking {booking_id}: {shown} (Beds24, PMS) and no open record")
    return found
