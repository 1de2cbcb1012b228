"""Drift made on purpose on both sides after the initial sync, and what each change
should have become once reconciled."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from channel_sync.pms_availability import free_units

from channel_sync_tools.onboard_real_hotel.catalogue import OTA, Catalogue, Unit
from channel_sync_tools.onboard_real_hotel.hotel import Meridian, pick
from channel_sync_tools.onboard_real_hotel.rules import Sides, booking_of
from channel_sync_tools.output import evidence, say
from channel_sync_tools.stack import StackFailed


@dataclass
class Targets:
    renamed: Unit
    new_name: str
    fewer_rooms: Unit
    deleted: Unit
    edited: Unit
    direct: Unit
    at_connection: list[Unit]


async def make_drift(hotel: Meridian, cat: Catalogue) -> Targets:
    async def lost(sql: str, *args: Any) -> int:
        async with hotel.pool.acquire() as conn, conn.transaction():
            await conn.execute(sql, *args)
            deleted: str = await conn.execute(
                "DELETE FROM channel_events WHERE direction = 'outbound' AND received_at = now()"
            )
        return int(deleted.split()[-1])

    renamed = pick(cat, lambda u: u.kind == "desk" and u.block > 0)
    new_name = renamed.last + "-Smyth"
    n = await lost(
        "UPDATE reservations SET guest_last_name = $2 WHERE id = $1",
        renamed.reservation_ids[0],
        new_name,
    )
    renamed.changes.append(f"guest name corrected in the PMS to {new_name!r}, {n} event(s) lost")
    say(
        f"    PMS: reservation {renamed.reservation_ids[0]} renamed {renamed.last!r} → "
        f"{new_name!r}; its {n} outbound event(s) deleted in the same transaction"
    )

    fewer = pick(cat, lambda u: u.kind == "ota roomQty" and u.rooms == 2)
    await hotel.api.sandbox.modify_guest_booking(
        fewer.beds24_ids[0], roomQty=1, delivery={"drop": True}
    )
    fewer.changes.append("roomQty 2 → 1 in Beds24, webhook dropped")
    say(f"    Beds24: booking {fewer.beds24_ids[0]} roomQty 2 → 1; its webhook dropped")

    deleted = next(u for u in cat.units if u.kind == "ota in a full room type")
    async with hotel.pool.acquire() as conn:
        held = await conn.fetchval(
            "SELECT id FROM reservations WHERE beds24_booking_id = $1", deleted.beds24_ids[0]
        )
    if held is None:
        raise StackFailed(f"Beds24 booking {deleted.beds24_ids[0]} was never imported")
    n = await lost("DELETE FROM reservations WHERE id = $1", held)
    deleted.deleted_in_pms = True
    deleted.changes.append(f"reservation {held} deleted in the PMS, {n} event(s) lost")
    say(
        f"    PMS: reservation {held} (Beds24 booking {deleted.beds24_ids[0]}, Family, "
        f"{deleted.arrival}..{deleted.departure}, all 6 Family rooms taken) deleted; its {n} "
        "outbound event(s) deleted in the same transaction"
    )

    # An OTA booking the PMS holds linked: one matched by its code if the sync linked any,
    # else one it imported.
    async with hotel.pool.acquire() as conn:
        linked = {
            r["beds24_booking_id"]: r["id"]
            for r in await conn.fetch(
                "SELECT id, beds24_booking_id FROM reservations WHERE property_id = $1 "
                "AND beds24_booking_id IS NOT NULL AND status = 'confirmed'",
                hotel.property_id,
            )
        }

    def matched_by_code(u: Unit) -> bool:
        return (
            u.match == "code"
            and not u.pms_diff
            and u.block > 0
            and linked.get(u.beds24_ids[0]) == u.reservation_ids[0]
        )

    if any(matched_by_code(u) and not u.reserved and not u.changes for u in cat.units):
        edited = pick(cat, matched_by_code)
    else:
        edited = pick(cat, lambda u: u.kind == "ota" and u.beds24_ids[0] in linked)
    edited_reservation = linked[edited.beds24_ids[0]]
    await hotel.desk_update(edited_reservation, "adults = 3, comments = $2", "Cot requested")
    edited.changes.append("desk edit: adults 3, comments")
    say(
        f"    PMS: OTA booking {edited.beds24_ids[0]} ({edited.kind}, code {edited.code}), "
        f"reservation {edited_reservation}, edited once at the desk: adults 2 → 3, a comment "
        "(its event delivered)"
    )

    direct = next(u for u in cat.units if u.kind == "direct linked by Beds24 id" and u.pms_diff)
    say(
        f"    (at connection) direct booking {direct.beds24_ids[0]}: Beds24 departs "
        f"{direct.departure}, the PMS a night later"
    )
    return Targets(
        renamed,
        new_name,
        fewer,
        deleted,
        edited,
        direct,
        [u for u in cat.units if u.pms_diff and u is not direct],
    )


async def check_targets(
    hotel: Meridian,
    cat: Catalogue,
    t: Targets,
    drift: list[dict[str, Any]],
    sides: Sides,
) -> list[str]:
    """One line per change made on purpose: what it became; lines starting '!' break rule 2."""
    lines: list[str] = []

    def records(booking_id: int) -> list[dict[str, Any]]:
        return [d for d in drift if booking_of(d["subject"]) == booking_id]

    def line(ok: bool, text: str) -> None:
        lines.append(("  ok " if ok else "! ") + text)

    def brief(rs: list[dict[str, Any]]) -> str:
        return "; ".join(f"{d['kind']}/{d['status']}: {d['resolution']}" for d in rs) or "no record"

    b = sides.bookings
    # the name correction
    bid = _beds24_id_of(sides, t.renamed.reservation_ids[0])
    rs = records(bid) if bid else []
    now = b.get(bid, {}).get("lastName") if bid else None
    line(
        now == t.new_name and any(d["status"] == "repaired" for d in rs),
        f"PMS name correction (events lost) on booking {bid}: Beds24 lastName {now!r} "
        f"(want {t.new_name!r}); {brief(rs)}",
    )
    # roomQty lowered in Beds24, webhook dropped
    bid = t.fewer_rooms.beds24_ids[0]
    rooms = [
        (r["beds24_qty_index"] or 1, r["status"])
        for r in await hotel.reservations()
        if bid in (r["beds24_booking_id"], r["beds24_qty_booking_id"])
    ]
    held = sum(1 for _, s in rooms if s != "cancelled")
    rs = records(bid)
    line(
        held == 1 and any(d["status"] == "repaired" for d in rs),
        f"Beds24 roomQty 2 → 1 (webhook dropped) on booking {bid}: PMS rooms {sorted(rooms)}; "
        f"{brief(rs)}",
    )
    # deleted in the PMS, still in Beds24, no spare room
    bid = t.deleted.beds24_ids[0]
    rs = records(bid)
    booking = b.get(bid) or {}
    open_missing = any(d["kind"] == "missing_in_pms" and d["status"] == "open" for d in rs)
    nights = [t.deleted.arrival + timedelta(days=n) for n in range(t.deleted.nights)]
    assert hotel.property_id is not None
    async with hotel.pool.acquire() as conn:
        free = await free_units(conn, hotel.property_id, str(hotel.beds24_rooms["Family"]), nights)
    avail = [
        d
        for d in drift
        if d["kind"] == "availability_differs"
        and d["subject"].startswith(f"room {hotel.beds24_rooms['Family']} ")
    ]
    line(
        open_missing
        and booking.get("status") not in (None, "cancelled")
        and all(v == 0 for v in free.values()),
        f"reservation deleted in the PMS (events lost), booking {bid} still in Beds24 "
        f"({booking.get('status')}), Family full: PMS free units those nights "
        f"{[free[n] for n in nights]} (want 0s); {brief(rs)}; Family availability drift: "
        f"{[d['subject'] + '/' + d['status'] for d in avail]}",
    )
    # the OTA booking edited once at the desk
    bid = t.edited.beds24_ids[0]
    now_b = b.get(bid, {})
    rs = records(bid)
    line(
        now_b.get("numAdult") == 3
        and now_b.get("comments") == "Cot requested"
        and now_b.get("apiReference") == t.edited.code
        and not rs,
        f"OTA booking {bid} edited at the desk: Beds24 numAdult {now_b.get('numAdult')}, "
        f"comments {now_b.get('comments')!r}, apiReference {now_b.get('apiReference')!r} "
        f"(code {t.edited.code}); {brief(rs)}",
    )
    # the direct booking held differently at connection
    bid = t.direct.beds24_ids[0]
    rs = records(bid)
    both = sides.values(bid)
    kept = both is not None and both[0]["departure"] != both[1]["departure"]
    line(
        kept and any(d["status"] == "open" for d in rs),
        f"direct booking {bid} held a night longer in the PMS at connection: departures "
        f"{both and (both[0]['departure'], both[1]['departure'])} (Beds24, PMS); {brief(rs)}",
    )
    # the other stays held differently at connection
    for unit in t.at_connection:
        bid = unit.beds24_ids[0]
        rs = records(bid)
        both = sides.values(bid)
        owner = "beds24" if unit.channel in OTA else "pms"
        agree = both is not None and not sides.differing(bid)
        winner_said = any(
            d["status"] == "repaired"
            and (("Beds24 wins" in (d["resolution"] or "")) == (owner == "beds24"))
            for d in rs
        )
        detail = ""
        if both is not None:
            keys = [k.lstrip("+") for k in unit.pms_diff]
            keys = ["departure" if k == "night" else k for k in keys]
            detail = json.dumps({k: (both[0].get(k), both[1].get(k)) for k in keys}, default=str)
        line(
            agree and winner_said,
            f"{unit.label} (key {unit.match}) held differently at connection "
            f"{unit.pms_diff}, owner {owner}: now {detail} (Beds24, PMS); {brief(rs)}",
        )
    return lines


def _beds24_id_of(sides: Sides, reservation: UUID) -> int | None:
    for booking_id, r in sides.room1.items():
        if r["id"] == reservation:
            return int(booking_id)
    return None


async def calendar_check(hotel: Meridian, t: Targets) -> None:
    """Beds24's calendar for the Family room on the deleted booking's nights (read after the
    last phase, so its credits count nowhere)."""
    room = hotel.beds24_rooms["Family"]
    async with hotel.api.beds24(hotel.beds24.account.refresh_token) as client:
        [calendar] = await client.get_calendar(
            [room], t.deleted.arrival, t.deleted.departure - timedelta(days=1)
        )
    evidence(f"Beds24 calendar, Family room {room}, {t.deleted.arrival}..", calendar["calendar"])
