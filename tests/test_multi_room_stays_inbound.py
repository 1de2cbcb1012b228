"""Multi-room stays from Beds24: one OTA reservation of several rooms holds as many PMS rooms,
kept together as one stay. Gateway and both workers run in this process against the Beds24
sandbox."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from beds24_sandbox.handle import SandboxHandle
from channel_sync_testing.waiting import wait_for

from tests.conftest import Site, connect, stack

ARRIVAL = date.today() + timedelta(days=40)
DEPARTURE = ARRIVAL + timedelta(days=3)


async def rooms_of(db: asyncpg.Pool, property_id: UUID) -> list[asyncpg.Record]:
    """Every reservation of the property with its stay and room name, oldest first."""
    async with db.acquire() as conn:
        return list(
            await conn.fetch(
                """SELECT r.*, rm.name AS room FROM reservations r
                   LEFT JOIN rooms rm ON rm.id = r.room_id
                   WHERE r.property_id = $1
                   ORDER BY coalesce(r.beds24_booking_id, r.beds24_qty_booking_id),
                            coalesce(r.beds24_qty_index, 1)""",
                property_id,
            )
        )


async def settled(db: asyncpg.Pool, property_id: UUID, inbound: int) -> bool:
    """At least `inbound` inbound events, and every event of the property settled."""
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT direction, status FROM channel_events WHERE property_id = $1", property_id
        )
    ins = [r for r in rows if r["direction"] == "inbound"]
    return len(ins) >= inbound and all(r["status"] == "done" for r in rows)


async def held(db: asyncpg.Pool, property_id: UUID, count: int) -> list[asyncpg.Record] | None:
    found = [r for r in await rooms_of(db, property_id) if r["status"] != "cancelled"]
    return found if len(found) == count and all(r["stay_id"] for r in found) else None


def group_rooms(site: Site, count: int) -> list[dict[str, Any]]:
    return [{"roomId": site.room_id} for _ in range(count)]


async def test_a_group_whose_members_arrive_out_of_order_is_one_stay_and_cancels_by_room(
    settings_env: dict[str, str], db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    async with stack(beds24_sandbox) as gateway_url:
        site = await connect(
            db,
            beds24_sandbox,
            gateway_url,
            name="Group Hotel",
            rooms=("101", "102", "103", "104"),
            credit_limit=1000,
        )
        # The OTA's webhooks are lost; they come again out of order: the last member first,
        # the second twice, and the master last, without its group (as one read apart).
        made = await beds24_sandbox.guest_group(
            group_rooms(site, 3), ARRIVAL, DEPARTURE, delivery={"drop": True}
        )
        master, second, third = (b["id"] for b in made)
        await beds24_sandbox.replay_webhook(third)
        await wait_for(lambda: held(db, site.property_id, 1), what="the third member")
        await beds24_sandbox.replay_webhook(second, duplicates=1)
        await beds24_sandbox.replay_webhook(
            master, delay_s=0.5, snapshot={"masterId": None, "bookingGroup": None}
        )
        stay = await wait_for(lambda: held(db, site.property_id, 3), what="three rooms held")
        await wait_for(lambda: settled(db, site.property_id, 3), what="every event settled")

        assert len({r["stay_id"] for r in stay}) == 1
        assert sorted(r["beds24_booking_id"] for r in stay) == [master, second, third]
        assert len({r["room_id"] for r in stay}) == 3  # never one room where three were sold
        async with db.acquire() as conn:
            record = await conn.fetchrow("SELECT * FROM stays WHERE id = $1", stay[0]["stay_id"])
        assert record["beds24_master_id"] == master
        assert sorted(record["beds24_group_ids"]) == [master, second, third]
        assert record["channel_reference"] == made[0]["apiReference"]

        # The guest cancels one room: that room only is freed, and its nights pushed.
        await beds24_sandbox.cancel_guest_booking(second)
        await wait_for(lambda: held(db, site.property_id, 2), what="two rooms left")
        await wait_for(lambda: settled(db, site.property_id, 4), what="the cancel settled")
        after = {r["beds24_booking_id"]: r for r in await rooms_of(db, site.property_id)}
        assert after[second]["status"] == "cancelled"
        assert after[second]["stay_id"] == stay[0]["stay_id"]  # still shown in the stay
        for kept in (master, third):
            assert after[kept]["status"] == "confirmed"
            assert after[kept]["room_id"] == next(
                r["room_id"] for r in stay if r["beds24_booking_id"] == kept
            )
        freed = after[second]["id"]
        async with db.acquire() as conn:
            pushed = await conn.fetch(
                """SELECT payload FROM channel_events WHERE entity_internal_id = $1
                     AND event_type = 'pms.availability.update'""",
                freed,
            )
            booking_events = await conn.fetchval(
                """SELECT count(*) FROM channel_events WHERE property_id = $1
                     AND direction = 'outbound' AND entity_type = 'booking'""",
                site.property_id,
            )
        assert len(pushed) == 2  # taken, then freed
        assert booking_events == 0  # nothing echoed back to Beds24

        # The guest adds a room to the reservation: a new member of the same group.
        added = await beds24_sandbox.guest_booking(
            site.room_id, ARRIVAL, DEPARTURE, masterId=master
        )
        grown = await wait_for(lambda: held(db, site.property_id, 3), what="the added room")
        assert added["id"] in {r["beds24_booking_id"] for r in grown}
        assert {r["stay_id"] for r in grown} == {stay[0]["stay_id"]}
        assert len({r["room_id"] for r in grown}) == 3


async def test_a_booking_beds24_moves_to_another_group_moves_to_that_stay(
    settings_env: dict[str, str], db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    async with stack(beds24_sandbox) as gateway_url:
        site = await connect(
            db,
            beds24_sandbox,
            gateway_url,
            name="Regroup Hotel",
            rooms=("101", "102", "103", "104"),
            credit_limit=1000,
        )
        first = await beds24_sandbox.guest_group(group_rooms(site, 2), ARRIVAL, DEPARTURE)
        other = await beds24_sandbox.guest_group(group_rooms(site, 2), ARRIVAL, DEPARTURE)
        rooms = await wait_for(lambda: held(db, site.property_id, 4), what="four rooms held")
        stay_of = {r["beds24_booking_id"]: r["stay_id"] for r in rooms}
        first_stay, other_stay = stay_of[first[0]["id"]], stay_of[other[0]["id"]]
        assert first_stay != other_stay

        # Beds24 (its own screens, or the OTA) puts the first group's second room into the
        # other group: the room follows, into the other group's stay, and stays booked.
        moved = first[1]["id"]
        await beds24_sandbox.modify_guest_booking(moved, masterId=other[0]["id"])

        async def regrouped() -> bool:
            now = {r["beds24_booking_id"]: r for r in await rooms_of(db, site.property_id)}
            return now[moved]["stay_id"] == other_stay

        await wait_for(regrouped, what="the moved room in the other stay")
        after = {r["beds24_booking_id"]: r for r in await rooms_of(db, site.property_id)}
        assert after[moved]["status"] == "confirmed"
        assert after[moved]["room_id"] == next(
            r["room_id"] for r in rooms if r["beds24_booking_id"] == moved
        )
        assert after[first[0]["id"]]["stay_id"] == first_stay
        assert {after[b["id"]]["stay_id"] for b in other} == {other_stay}
        async with db.acquire() as conn:
            masters = dict(
                await conn.fetch(
                    "SELECT id, beds24_master_id FROM stays WHERE property_id = $1",
                    site.property_id,
                )
            )
        assert masters == {first_stay: first[0]["id"], other_stay: other[0]["id"]}
        await wait_for(lambda: settled(db, site.property_id, 5), what="every event settled")


async def test_a_room_qty_booking_holds_a_room_per_unit_and_follows_its_count(
    settings_env: dict[str, str], db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    async with stack(beds24_sandbox) as gateway_url:
        site = await connect(
            db,
            beds24_sandbox,
            gateway_url,
            name="Quantity Hotel",
            rooms=("101", "102", "103"),
            credit_limit=1000,
        )
        made = await beds24_sandbox.guest_booking(site.room_id, ARRIVAL, DEPARTURE, roomQty=3)
        stay = await wait_for(lambda: held(db, site.property_id, 3), what="three rooms held")
        assert [r["beds24_qty_index"] for r in stay] == [None, 2, 3]
        assert stay[0]["beds24_booking_id"] == made["id"]
        assert {r["beds24_qty_booking_id"] for r in stay[1:]} == {made["id"]}
        assert len({r["room_id"] for r in stay}) == 3
        assert len({r["stay_id"] for r in stay}) == 1
        assert [r["price"] is None for r in stay] == [False, True, True]  # the total: once

        await beds24_sandbox.modify_guest_booking(made["id"], roomQty=2)
        left = await wait_for(lambda: held(db, site.property_id, 2), what="two rooms left")
        assert [r["beds24_qty_index"] for r in left] == [None, 2]

        await beds24_sandbox.cancel_guest_booking(made["id"])

        async def all_cancelled() -> bool:
            found = await rooms_of(db, site.property_id)
            return {r["status"] for r in found} == {"cancelled"} and len(found) == 3

        await wait_for(all_cancelled, what="all three rooms freed")
        await wait_for(lambda: settled(db, site.property_id, 3), what="every event settled")


async def test_a_member_without_a_free_room_waits_flagged_while_the_others_are_placed(
    settings_env: dict[str, str], db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    async with stack(beds24_sandbox) as gateway_url:
        site = await connect(
            db,
            beds24_sandbox,
            gateway_url,
            name="Full Hotel",
            rooms=("101", "102"),
            credit_limit=1000,
        )
        async with db.acquire() as conn:  # room 102 out of service in the PMS only
            await conn.execute(
                "UPDATE rooms SET is_active = false WHERE property_id = $1 AND name = '102'",
                site.property_id,
            )
        await beds24_sandbox.guest_group(group_rooms(site, 2), ARRIVAL, DEPARTURE)

        async def both() -> list[asyncpg.Record] | None:
            found = await rooms_of(db, site.property_id)
            return found if len(found) == 2 else None

        stay = await wait_for(both, what="both members kept")
        await wait_for(lambda: settled(db, site.property_id, 2), what="every event settled")
        stay = await rooms_of(db, site.property_id)
        placed = [r for r in stay if r["room_id"] is not None]
        waiting = [r for r in stay if r["room_id"] is None]
        assert len(placed) == 1 and len(waiting) == 1
        assert waiting[0]["needs_attention"]
        assert waiting[0]["beds24_room_id"] == str(site.room_id)
        assert stay[0]["stay_id"] == stay[1]["stay_id"] is not None

        # The room comes back: the next booking of the property places the waiting member.
        async with db.acquire() as conn:
            await conn.execute(
                "UPDATE rooms SET is_active = true WHERE property_id = $1", site.property_id
            )
        await beds24_sandbox.modify_guest_booking(placed[0]["beds24_booking_id"], numAdult=1)

        async def placed_all() -> bool:
            return all(r["room_id"] for r in await rooms_of(db, site.property_id))

        await wait_for(placed_all, what="the waiting member placed")


async def test_a_room_of_a_room_qty_booking_cancelled_in_the_pms_lowers_its_count_in_beds24(
    settings_env: dict[str, str], db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    async with stack(beds24_sandbox) as gateway_url:
        site, made, (first, second, third) = await _room_qty_booking_of_three(
            db, beds24_sandbox, gateway_url, "Count Hotel"
        )
        async with db.acquire() as conn:  # the front desk cancels room 2 only
            await conn.execute(
                "UPDATE reservations SET status = 'cancelled' WHERE id = $1", second["id"]
            )

        await wait_for(
            lambda: _room_qty_is(beds24_sandbox, made["id"], 2), what="roomQty 2 in Beds24"
        )
        assert (await beds24_sandbox.booking(made["id"]))["status"] != "cancelled"

        # A later change in Beds24 (roomQty 2) keeps room 2 cancelled and rooms 1 and 3 held.
        await beds24_sandbox.modify_guest_booking(made["id"], numAdult=3)

        async def adults_applied() -> bool:
            rows = await rooms_of(db, site.property_id)
            return rows[0]["adults"] == 3

        await wait_for(adults_applied, what="the Beds24 change applied")
        after = await rooms_of(db, site.property_id)
        assert [(r["beds24_qty_index"], r["status"]) for r in after] == [
            (None, "confirmed"),
            (2, "cancelled"),
            (3, "confirmed"),
        ]
        assert after[2]["room_id"] == third["room_id"]
        assert after[0]["room_id"] == first["room_id"]


async def _room_qty_booking_of_three(
    db: asyncpg.Pool, beds24_sandbox: SandboxHandle, gateway_url: str, name: str
) -> tuple[Site, dict[str, Any], list[asyncpg.Record]]:
    """A connected hotel of three rooms, a guest's roomQty-3 booking of it, and the three
    PMS rooms it holds once applied (room 1 first)."""
    site = await connect(
        db, beds24_sandbox, gateway_url, name=name, rooms=("101", "102", "103"), credit_limit=1000
    )
    made = await beds24_sandbox.guest_booking(site.room_id, ARRIVAL, DEPARTURE, roomQty=3)
    rooms = await wait_for(lambda: held(db, site.property_id, 3), what="three rooms held")
    return site, made, rooms


async def _room_qty_is(beds24_sandbox: SandboxHandle, booking_id: int, expected: int) -> bool:
    return int((await beds24_sandbox.booking(booking_id))["roomQty"]) == expected


async def test_rooms_deleted_in_the_pms_from_a_room_qty_booking_lower_its_count_in_beds24(
    settings_env: dict[str, str], db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    """A front desk that deletes a room instead of cancelling it: room 2..n of a roomQty
    booking has no Beds24 booking of its own, so only the booking's count can say it."""
    async with stack(beds24_sandbox) as gateway_url:
        site, made, (_, second, third) = await _room_qty_booking_of_three(
            db, beds24_sandbox, gateway_url, "Delete Hotel"
        )

        async with db.acquire() as conn:
            await conn.execute("DELETE FROM reservations WHERE id = $1", third["id"])
        await wait_for(
            lambda: _room_qty_is(beds24_sandbox, made["id"], 2), what="roomQty 2 in Beds24"
        )
        async with db.acquire() as conn:
            await conn.execute("DELETE FROM reservations WHERE id = $1", second["id"])
        await wait_for(
            lambda: _room_qty_is(beds24_sandbox, made["id"], 1), what="roomQty 1 in Beds24"
        )
        assert (await beds24_sandbox.booking(made["id"]))["status"] != "cancelled"
        await wait_for(lambda: settled(db, site.property_id, 1), what="every event settled")

        # A later change in Beds24 (roomQty 1) leaves the one room the PMS still holds.
        await beds24_sandbox.modify_guest_booking(made["id"], numAdult=3)

        async def adults_applied() -> list[asyncpg.Record] | None:
            rows = await rooms_of(db, site.property_id)
            return rows if rows and rows[0]["adults"] == 3 else None

        rows = await wait_for(adults_applied, what="the Beds24 change applied")
        assert [(r["beds24_qty_index"], r["status"]) for r in rows] == [(None, "confirmed")]
