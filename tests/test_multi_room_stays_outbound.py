"""Multi-room stays from the PMS: a stay of several rooms is created in Beds24 as ONE booking
group in ONE call, each member carrying our reference; a room added later joins that group;
moving or cancelling one room changes that member only; a lost answer is resolved for every
member at once, with no member made twice. Gateway and both workers run in this process
against the Beds24 sandbox."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from beds24_sandbox.handle import SandboxHandle
from channel_sync_testing.waiting import wait_for

from tests.conftest import connect, stack

ARRIVAL = date.today() + timedelta(days=50)
DEPARTURE = ARRIVAL + timedelta(days=2)
ROOMS = ("101", "102", "103", "104")
SIX_ROOMS = ("101", "102", "103", "104", "105", "106")


async def book_stay(db: asyncpg.Pool, property_id: UUID, rooms: tuple[str, ...]) -> list[UUID]:
    """The front desk books one guest into `rooms` as one stay, in one PMS transaction."""
    async with db.acquire() as conn, conn.transaction():
        return await new_stay(conn, property_id, rooms)


async def new_stay(
    conn: asyncpg.Connection, property_id: UUID, rooms: tuple[str, ...]
) -> list[UUID]:
    stay = await conn.fetchval(
        "INSERT INTO stays (property_id) VALUES ($1) RETURNING id", property_id
    )
    return [await add_room(conn, property_id, stay, room) for room in rooms]


async def add_room(conn: asyncpg.Connection, property_id: UUID, stay: UUID, room: str) -> UUID:
    reservation: UUID = await conn.fetchval(
        """INSERT INTO reservations (property_id, room_id, stay_id, arrival, departure,
               guest_last_name, adults)
           SELECT $1, id, $2, $3, $4, 'Group', 2 FROM rooms
           WHERE property_id = $1 AND name = $5
           RETURNING id""",
        property_id,
        stay,
        ARRIVAL,
        DEPARTURE,
        room,
    )
    return reservation


async def linked(db: asyncpg.Pool, ids: list[UUID]) -> dict[UUID, int] | None:
    """Each reservation's Beds24 id, once all have one."""
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, beds24_booking_id FROM reservations WHERE id = ANY($1::uuid[])", ids
        )
    found = {r["id"]: r["beds24_booking_id"] for r in rows if r["beds24_booking_id"]}
    return found if len(found) == len(ids) else None


async def outbound_settled(db: asyncpg.Pool, property_id: UUID) -> bool:
    async with db.acquire() as conn:
        open_events: int = await conn.fetchval(
            """SELECT count(*) FROM channel_events
               WHERE property_id = $1 AND status NOT IN ('done')""",
            property_id,
        )
    return open_events == 0


def ours(bookings: list[dict[str, Any]], ids: list[UUID]) -> list[dict[str, Any]]:
    references = {f"pms-{r}" for r in ids}
    return [b for b in bookings if b.get("apiReference") in references]


async def test_a_pms_stay_leaves_as_one_group_and_changes_room_by_room(
    settings_env: dict[str, str], db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    async with stack(beds24_sandbox) as gateway_url:
        site = await connect(
            db, beds24_sandbox, gateway_url, name="Stay Hotel", rooms=ROOMS, credit_limit=1000
        )
        await beds24_sandbox.clear_calls()
        stay = await book_stay(db, site.property_id, ROOMS[:3])
        ids = await wait_for(lambda: linked(db, stay), what="three bookings made")
        await wait_for(lambda: outbound_settled(db, site.property_id), what="all sent")

        posts = await beds24_sandbox.calls(method="POST", path="/bookings")
        assert [p["items"] for p in posts] == [3]  # one call for the whole group
        made = ours(await beds24_sandbox.bookings(site.beds24.id), stay)
        assert len(made) == 3
        master = made[0]["bookingGroup"]["master"]
        assert {b["bookingGroup"]["master"] for b in made} == {master}
        assert sorted(made[0]["bookingGroup"]["ids"]) == sorted(ids.values())
        async with db.acquire() as conn:
            stay_id = await conn.fetchval("SELECT stay_id FROM reservations WHERE id = $1", stay[0])
            stored_master = await conn.fetchval(
                "SELECT beds24_master_id FROM stays WHERE id = $1", stay_id
            )
        assert stored_master == master

        # A fourth room joins the stay: created alone, into the same group.
        async with db.acquire() as conn:
            fourth = await add_room(conn, site.property_id, stay_id, ROOMS[3])
        [added] = (await wait_for(lambda: linked(db, [fourth]), what="the added room")).values()
        assert (await beds24_sandbox.booking(added))["bookingGroup"]["master"] == master

        # One room cancelled, another moved a day later: those members only change.
        before = {b["id"]: b for b in await beds24_sandbox.bookings(site.beds24.id)}
        await beds24_sandbox.clear_calls()
        async with db.acquire() as conn:
            await conn.execute(
                "UPDATE reservations SET status = 'cancelled' WHERE id = $1", stay[1]
            )
            await conn.execute(
                """UPDATE reservations SET arrival = arrival + 1, departure = departure + 1
                   WHERE id = $1""",
                stay[2],
            )

        async def changed() -> bool:
            now = await beds24_sandbox.bookings(site.beds24.id)
            return sum(1 for b in now if b != before.get(b["id"])) == 2

        await wait_for(changed, what="two members changed")
        await wait_for(lambda: outbound_settled(db, site.property_id), what="all sent")
        after = {b["id"]: b for b in await beds24_sandbox.bookings(site.beds24.id)}
        assert after[ids[stay[1]]]["status"] == "cancelled"
        assert after[ids[stay[2]]]["arrival"] == (ARRIVAL + timedelta(days=1)).isoformat()
        for untouched in (ids[stay[0]], added):
            assert after[untouched] == before[untouched]
        posts = await beds24_sandbox.calls(method="POST", path="/bookings")
        assert sum(p["items"] for p in posts) == 2  # the two members, nothing else


async def test_a_lost_answer_to_a_group_create_is_resolved_for_every_member_at_once(
    settings_env: dict[str, str], db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    async with stack(beds24_sandbox) as gateway_url:
        site = await connect(
            db, beds24_sandbox, gateway_url, name="Lost Hotel", rooms=ROOMS, credit_limit=1000
        )
        await beds24_sandbox.clear_calls()
        await beds24_sandbox.inject_fault("lost_response", method="POST", path="/bookings")
        stay = await book_stay(db, site.property_id, ROOMS[:3])
        await wait_for(lambda: linked(db, stay), timeout=20, what="three bookings adopted")
        await wait_for(lambda: outbound_settled(db, site.property_id), what="all settled")

        made = ours(await beds24_sandbox.bookings(site.beds24.id), stay)
        assert len(made) == 3  # no member made twice
        assert len({b["bookingGroup"]["master"] for b in made}) == 1
        posts = await beds24_sandbox.calls(method="POST", path="/bookings")
        searches = await beds24_sandbox.calls(method="GET", path="/bookings")
        assert posts[0]["items"] == 3  # the lost create, with every member
        assert len(searches) == 1  # one search resolved all three members
        # The retry sent the members' state as modifies of the adopted bookings (the count
        # of bookings above shows no member was created twice).
        assert len(posts) == 2


async def test_several_new_stays_in_one_batch_cost_two_calls_not_one_each(
    settings_env: dict[str, str], db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    # A wide batch window: the three stays' events reach the worker as one batch.
    async with stack(beds24_sandbox, batch_window_ms=1000) as gateway_url:
        site = await connect(
            db, beds24_sandbox, gateway_url, name="Tour Hotel", rooms=SIX_ROOMS, credit_limit=1000
        )
        await beds24_sandbox.clear_calls()
        async with db.acquire() as conn, conn.transaction():  # a tour operator's three groups
            stays = [
                await new_stay(conn, site.property_id, SIX_ROOMS[n : n + 2]) for n in (0, 2, 4)
            ]
        every = [r for stay in stays for r in stay]
        ids = await wait_for(lambda: linked(db, every), what="six bookings made")
        await wait_for(lambda: outbound_settled(db, site.property_id), what="all sent")

        posts = await beds24_sandbox.calls(method="POST", path="/bookings")
        # Each stay's first room, then the other three joined by masterId: 2 calls, not 3.
        assert [p["items"] for p in posts] == [3, 3]
        async with db.acquire() as conn:
            masters = {
                r["stay_id"]: r["beds24_master_id"]
                for r in await conn.fetch(
                    """SELECT r.stay_id, s.beds24_master_id FROM reservations r
                       JOIN stays s ON s.id = r.stay_id WHERE r.id = ANY($1::uuid[])""",
                    every,
                )
            }
        assert len(masters) == 3 and all(masters.values())
        for stay in stays:
            members = [await beds24_sandbox.booking(ids[r]) for r in stay]
            groups = {m["bookingGroup"]["master"] for m in members}
            assert len(groups) == 1  # both rooms in one group, no other stay's room in it
            assert sorted(members[0]["bookingGroup"]["ids"]) == sorted(ids[r] for r in stay)
        assert (
            len(
                {
                    b["bookingGroup"]["master"]
                    for b in ours(await beds24_sandbox.bookings(site.beds24.id), every)
                }
            )
            == 3
        )


async def test_a_lost_answer_to_the_first_rooms_of_several_stays_doubles_no_room(
    settings_env: dict[str, str], db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    async with stack(beds24_sandbox, batch_window_ms=1000) as gateway_url:
        site = await connect(
            db, beds24_sandbox, gateway_url, name="Lost Tour", rooms=SIX_ROOMS, credit_limit=1000
        )
        await beds24_sandbox.clear_calls()
        await beds24_sandbox.inject_fault("lost_response", method="POST", path="/bookings")
        async with db.acquire() as conn, conn.transaction():
            stays = [
                await new_stay(conn, site.property_id, SIX_ROOMS[n : n + 2]) for n in (0, 2, 4)
            ]
        every = [r for stay in stays for r in stay]
        ids = await wait_for(lambda: linked(db, every), timeout=30, what="six bookings")
        await wait_for(lambda: outbound_settled(db, site.property_id), what="all settled")

        made = ours(await beds24_sandbox.bookings(site.beds24.id), every)
        assert len(made) == 6  # the three first rooms were adopted, not made again
        for stay in stays:
            members = [await beds24_sandbox.booking(ids[r]) for r in stay]
            assert len({m["bookingGroup"]["master"] for m in members}) == 1
            assert sorted(members[0]["bookingGroup"]["ids"]) == sorted(ids[r] for r in stay)
        searches = await beds24_sandbox.calls(method="GET", path="/bookings")
        assert len(searches) == 1  # one search resolved the three lost creates


async def _beds24_master(sandbox: SandboxHandle, booking_id: int) -> int | None:
    master: int | None = (await sandbox.booking(booking_id)).get("masterId")
    return master


async def test_rooms_the_desk_moves_between_stays_move_between_groups_in_beds24(
    settings_env: dict[str, str], db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    async with stack(beds24_sandbox) as gateway_url:
        site = await connect(
            db, beds24_sandbox, gateway_url, name="Desk Hotel", rooms=ROOMS, credit_limit=1000
        )
        stay = await book_stay(db, site.property_id, ROOMS[:2])
        [single] = await book_stay(db, site.property_id, ROOMS[2:3])
        async with db.acquire() as conn:  # a one-room "stay" is a plain reservation
            await conn.execute("UPDATE reservations SET stay_id = NULL WHERE id = $1", single)
        ids = await wait_for(lambda: linked(db, [*stay, single]), what="bookings made")
        await wait_for(lambda: outbound_settled(db, site.property_id), what="all sent")
        group_master = await _beds24_master(beds24_sandbox, ids[stay[0]])
        assert group_master is not None
        assert await _beds24_master(beds24_sandbox, ids[single]) is None

        # The desk puts the single reservation into the stay: Beds24 joins it to the group.
        async with db.acquire() as conn:
            await conn.execute(
                "UPDATE reservations SET stay_id = (SELECT stay_id FROM reservations "
                "WHERE id = $2) WHERE id = $1",
                single,
                stay[0],
            )

        async def joined() -> bool:
            return await _beds24_master(beds24_sandbox, ids[single]) == group_master

        await wait_for(joined, what="the room joined the group in Beds24")
        group = (await beds24_sandbox.booking(ids[stay[0]]))["bookingGroup"]
        assert sorted(group["ids"]) == sorted(ids.values())

        # Then takes a room of the stay out of it: it leaves the group in Beds24.
        async with db.acquire() as conn:
            await conn.execute("UPDATE reservations SET stay_id = NULL WHERE id = $1", stay[1])

        async def left() -> bool:
            return await _beds24_master(beds24_sandbox, ids[stay[1]]) is None

        await wait_for(left, what="the room left the group in Beds24")
        await wait_for(lambda: outbound_settled(db, site.property_id), what="all sent")
        async with db.acquire() as conn:
            held = await conn.fetch(
                "SELECT id, stay_id FROM reservations WHERE id = ANY($1::uuid[])",
                [*stay, single],
            )
        stays = {r["id"]: r["stay_id"] for r in held}
        assert stays[stay[1]] is None and stays[single] == stays[stay[0]] is not None


async def test_a_single_booking_that_becomes_a_stay_stores_its_groups_master(
    settings_env: dict[str, str], db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    async with stack(beds24_sandbox) as gateway_url:
        site = await connect(
            db, beds24_sandbox, gateway_url, name="Grow Hotel", rooms=ROOMS, credit_limit=1000
        )
        [first] = await book_stay(db, site.property_id, ROOMS[:1])
        async with db.acquire() as conn:
            await conn.execute("UPDATE reservations SET stay_id = NULL WHERE id = $1", first)
        [booking_id] = (await wait_for(lambda: linked(db, [first]), what="made")).values()
        await wait_for(lambda: outbound_settled(db, site.property_id), what="all sent")

        # The guest takes a second room: the desk makes a stay of both.
        async with db.acquire() as conn, conn.transaction():
            stay_id = await conn.fetchval(
                "INSERT INTO stays (property_id) VALUES ($1) RETURNING id", site.property_id
            )
            await conn.execute("UPDATE reservations SET stay_id = $2 WHERE id = $1", first, stay_id)
            second = await add_room(conn, site.property_id, stay_id, ROOMS[1])
        [made] = (await wait_for(lambda: linked(db, [second]), what="second room")).values()
        await wait_for(lambda: outbound_settled(db, site.property_id), what="all sent")

        assert await _beds24_master(beds24_sandbox, made) == booking_id
        async with db.acquire() as conn:
            stored = await conn.fetchval(
                "SELECT beds24_master_id FROM stays WHERE id = $1", stay_id
            )
        assert stored == booking_id
