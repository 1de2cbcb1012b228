"""The many-hotels run's world: accounts of Beds24 properties connected through the admin
API as an operator connects them, each property's PMS reservations booked before the day
starts, and the plan of who may book what, so that nothing the day does overbooks a room.

Stays keep to slots of SLOT_DAYS nights of a room (`channel_sync_testing.pms_changes`):
Beds24's guests book the even slots of a room type, the PMS books the odd slots of a room.
Whatever either side changes within a stay's slot, no night is sold twice, so every
difference at the end is the sync's.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

import asyncpg
from beds24_sandbox.handle import SandboxAccount, SandboxProperty
from channel_sync_testing.pms_changes import SLOT_DAYS
from channel_sync_tools.api import StackApi
from channel_sync_tools.onboarding import Hotel, RoomPlan, onboard, wait_settled

ROOM_PLAN: RoomPlan = {
    "Double": [f"D{n}" for n in range(1, 6)],
    "Twin": [f"T{n}" for n in range(1, 6)],
}
SLOTS = 40  # slots of SLOT_DAYS nights from FIRST_NIGHT on: 160 nights ahead
FIRST_NIGHT = date.today() + timedelta(days=30)
CONNECTING_AT_ONCE = 32  # properties connected side by side
SETUP_CREDITS = 100_000  # per 5 minutes while connecting (the day before, so to speak)
DAY_CREDITS = 100  # Beds24's default limit per 5 minutes


def slot_start(slot: int) -> date:
    return FIRST_NIGHT + timedelta(days=SLOT_DAYS * slot)


@dataclass
class Site:
    """One property and what the day may still do with it."""

    hotel: Hotel
    noisy: bool
    # Beds24's side: guests left per (room type, even slot); bookings made, by id.
    beds24_free: dict[tuple[str, int], int] = field(default_factory=dict)
    beds24_live: dict[int, tuple[str, int]] = field(default_factory=dict)
    # The PMS's side: (room, odd slot) pairs free; reservations it made, by id, with slot.
    pms_free: list[tuple[UUID, int]] = field(default_factory=list)
    pms_made: dict[UUID, date] = field(default_factory=dict)

    @classmethod
    def planned(cls, hotel: Hotel, noisy: bool, rng: random.Random) -> Site:
        site = cls(hotel, noisy)
        for kind, rooms in hotel.pms.rooms.items():
            for slot in range(0, SLOTS, 2):
                site.beds24_free[kind, slot] = len(rooms)
            site.pms_free += [(room, slot) for room in rooms for slot in range(1, SLOTS, 2)]
        rng.shuffle(site.pms_free)
        return site

    @property
    def account_id(self) -> int:
        return self.hotel.account_id


@dataclass(frozen=True)
class World:
    sites: list[Site]
    accounts: list[SandboxAccount]
    noisy_account: int | None

    def of_account(self, account_id: int) -> list[Site]:
        return [s for s in self.sites if s.account_id == account_id]


async def connect_accounts(
    api: StackApi,
    db: asyncpg.Pool,
    accounts: int,
    per_account: int,
    *,
    noisy: bool,
    rng: random.Random,
) -> World:
    """`accounts` Beds24 accounts, each with `per_account` properties of ROOM_PLAN connected
    through the admin API (the first with an invite code, the rest with the account's
    refresh token; CONNECTING_AT_ONCE at a time); the first account is the noisy one when
    `noisy`. Set up at SETUP_CREDITS: `start_day` gives each Beds24's own limit."""
    made = [await api.sandbox.create_account(credit_limit=SETUP_CREDITS) for _ in range(accounts)]
    gate = asyncio.Semaphore(CONNECTING_AT_ONCE)

    async def connect(n: int, account: SandboxAccount, p: int) -> Hotel:
        async with gate:
            name = f"Hotel {n:02d}-{p:02d}"
            prop = await api.sandbox.create_property(
                account.account_id,
                name=name,
                rooms=[{"name": kind, "qty": len(rooms)} for kind, rooms in ROOM_PLAN.items()],
            )
            beds24 = SandboxProperty(prop["id"], account, prop["rooms"])
            return await onboard(
                api, db, name, ROOM_PLAN, beds24=beds24, invite=p == 0, ready_timeout=600
            )

    hotels = await asyncio.gather(
        *(connect(n, a, p) for p in range(per_account) for n, a in enumerate(made))
    )
    noisy_account = made[0].account_id if noisy else None
    sites = [Site.planned(h, h.account_id == noisy_account, rng) for h in hotels]
    sites.sort(key=lambda site: site.hotel.name)  # the same order every run
    return World(sites, made, noisy_account)


async def start_day(api: StackApi, world: World) -> None:
    """Every account's credits whole, at Beds24's default limit; the calls log emptied."""
    for account in world.accounts:
        await api.sandbox.new_credit_window(account.account_id, credit_limit=DAY_CREDITS)
    await api.sandbox.clear_calls()


async def book_ahead(db: asyncpg.Pool, world: World, quiet_each: int, noisy_each: int) -> None:
    """The PMS's reservations made before the day (an account's in one transaction, as an
    import makes them), then every event settled."""

    async def book(sites: list[Site]) -> None:
        async with db.acquire() as conn, conn.transaction():
            for site in sites:
                for _ in range(noisy_each if site.noisy else quiet_each):
                    await make_pms_reservation(conn, site, "Ahead")

    await asyncio.gather(*(book(world.of_account(a.account_id)) for a in world.accounts))
    await wait_settled(db, what="the reservations booked ahead in Beds24", timeout=900)


async def make_pms_reservation(
    conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy, site: Site, guest: str
) -> UUID | None:
    """A two-night PMS reservation in a free (room, slot) of the site; None when full."""
    if not site.pms_free:
        return None
    room, slot = site.pms_free.pop()
    arrival = slot_start(slot)
    reservation: UUID = await conn.fetchval(
        "INSERT INTO reservations (property_id, room_id, arrival, departure, "
        "guest_first_name, guest_last_name, guest_email, adults) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, 2) RETURNING id",
        site.hotel.property_id,
        room,
        arrival,
        arrival + timedelta(days=2),
        guest,
        f"{guest}{len(site.pms_made)}",
        f"{guest.lower()}@example.org",
    )
    site.pms_made[reservation] = arrival
    return reservation
