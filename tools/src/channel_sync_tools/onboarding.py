"""The one way the tools connect a hotel, as an operator does, and wait until it is ready.

`onboard` does it all for a hotel that has nothing yet: a Beds24 account and property in the
sandbox; the property registered through the admin API with the account's invite code (the
admin API trades it for a refresh token and answers the webhook URL and secret header); that
webhook set in Beds24; the PMS's room types and rooms; each room type mapped to the Beds24
room of its name; then it waits until no event of the property is in flight. A run that
fills either side before connecting makes it first (`create_beds24_property`,
`create_pms_hotel`) and hands it over.

Then `sync_run` asks the admin API for an initial sync or a reconciliation and waits until
it and its events are done; `wait_settled` waits until events are.

`register_directly` is for runs of the gateway alone (no admin API, no Beds24): a property,
its Beds24 link and its webhook secret written straight into the database.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from beds24_sandbox.handle import SandboxProperty

from channel_sync_tools.api import StackApi
from channel_sync_tools.stack import StackFailed, wait_until

# Room type name -> the names of its PMS rooms; its Beds24 room has one unit per PMS room.
RoomPlan = Mapping[str, Sequence[str]]
Db = asyncpg.Connection | asyncpg.Pool | PoolConnectionProxy


@dataclass(frozen=True)
class PmsHotel:
    property_id: UUID
    room_types: dict[str, UUID]  # by name
    rooms: dict[str, list[UUID]]  # by room type name, in the plan's order


@dataclass(frozen=True)
class Hotel:
    """A hotel connected on both sides."""

    name: str
    property_id: UUID
    beds24: SandboxProperty
    pms: PmsHotel
    webhook_url: str
    webhook_header: str  # "Authorization: Bearer <secret>", as pasted into Beds24
    next_step: str | None  # what the mappings answer offers next (the initial sync)

    @property
    def account_id(self) -> int:
        return self.beds24.account.account_id

    @property
    def refresh_token(self) -> str:
        return self.beds24.account.refresh_token

    @property
    def beds24_rooms(self) -> dict[str, int]:
        """Beds24 room id by room type name."""
        return {str(r["name"]): int(r["id"]) for r in self.beds24.rooms}

    def beds24_room(self, room_type: str | None = None) -> int:
        """The Beds24 room of `room_type` (default: the first)."""
        return self.beds24_rooms[room_type] if room_type else self.beds24.room_ids[0]

    def rooms(self, room_type: str | None = None) -> list[UUID]:
        """The PMS rooms of `room_type` (default: every room)."""
        if room_type is not None:
            return self.pms.rooms[room_type]
        return [room for rooms in self.pms.rooms.values() for room in rooms]

    def room_units(self) -> list[tuple[UUID, int]]:
        """Every PMS room with its Beds24 room."""
        return [
            (room, self.beds24_rooms[kind])
            for kind, rooms in self.pms.rooms.items()
            for room in rooms
        ]

    @property
    def webhook_headers(self) -> dict[str, str]:
        name, value = self.webhook_header.split(":", 1)
        return {name.strip(): value.strip()}

    @property
    def webhook_secret(self) -> str:
        return self.webhook_header.split("Bearer", 1)[1].strip()


async def create_beds24_property(
    api: StackApi, name: str, rooms: RoomPlan, *, credit_limit: float = 100, window_s: float = 300
) -> SandboxProperty:
    """A fresh Beds24 account (`credit_limit` credits per `window_s`) owning a property with
    a room per room type of `rooms`."""
    account = await api.sandbox.create_account(credit_limit=credit_limit, window_s=window_s)
    prop = await api.sandbox.create_property(
        account.account_id,
        name=name,
        rooms=[{"name": kind, "qty": len(names)} for kind, names in rooms.items()],
    )
    return SandboxProperty(prop["id"], account, prop["rooms"])


async def create_pms_hotel(
    db: Db, rooms: RoomPlan, *, name: str | None = None, property_id: UUID | None = None
) -> PmsHotel:
    """The PMS's room types and rooms of the property (made first, named `name`, unless
    `property_id` is given)."""
    if property_id is None:
        property_id = await db.fetchval(
            "INSERT INTO hotel_settings (name) VALUES ($1) RETURNING id", name
        )
    assert property_id is not None
    room_types: dict[str, UUID] = {}
    made: dict[str, list[UUID]] = {}
    for kind, names in rooms.items():
        room_types[kind] = await db.fetchval(
            "INSERT INTO room_types (property_id, name) VALUES ($1, $2) RETURNING id",
            property_id,
            kind,
        )
        made[kind] = [
            await db.fetchval(
                "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, $3) "
                "RETURNING id",
                property_id,
                room_types[kind],
                room,
            )
            for room in names
        ]
    return PmsHotel(property_id, room_types, made)


async def onboard(
    api: StackApi,
    db: Db,
    name: str,
    rooms: RoomPlan,
    *,
    credit_limit: float = 100,
    window_s: float = 300,
    webhooks: bool = True,
    beds24: SandboxProperty | None = None,
    pms: PmsHotel | None = None,
    ready_timeout: float = 120,
    invite: bool = True,
) -> Hotel:
    """Connect the hotel through the admin API (see the module's description). Without
    `webhooks`, Beds24 sends none: the run posts them itself, or wants none. Without
    `invite`, the account's refresh token is given instead of an invite code (as an
    operator connects further properties of an account already connected)."""
    if beds24 is None:
        beds24 = await create_beds24_property(
            api, name, rooms, credit_limit=credit_limit, window_s=window_s
        )
    body: dict[str, Any] = {"beds24_property_id": beds24.id}
    if invite:
        body["invite_code"] = beds24.account.invite_code
    else:
        body["refresh_token"] = beds24.account.refresh_token
    body.update({"property_id": str(pms.property_id)} if pms else {"name": name})
    registered = await api.admin("POST", "/admin/properties", json=body)
    property_id = UUID(registered["property"]["property_id"])
    if pms is None:
        pms = await create_pms_hotel(db, rooms, property_id=property_id)
    webhook = registered["webhook"]
    if webhooks:
        await api.sandbox.update_property(
            beds24.id,
            webhook={
                "urls": [webhook["url"]],
                "custom_header": webhook["custom_header"],
                "version": "twoWithPersonalData",
            },
        )
    beds24_rooms = {str(r["name"]): r["id"] for r in beds24.rooms}
    mapped = await api.admin(
        "PUT",
        f"/admin/properties/{property_id}/mappings",
        json={
            "mappings": [
                {
                    "mapping_type": "room_type",
                    "internal_id": str(pms.room_types[kind]),
                    "external_id": str(beds24_rooms[kind]),
                }
                for kind in rooms
            ]
        },
    )
    await wait_settled(db, property_id=property_id, what=f"{name} onboarded", timeout=ready_timeout)
    return Hotel(
        name,
        property_id,
        beds24,
        pms,
        webhook["url"],
        webhook["custom_header"],
        mapped.get("next_step"),
    )


async def open_events(
    db: Db, *, property_id: UUID | None = None, direction: str | None = None
) -> int:
    """Events received or processing (of the property, in the direction, where given)."""
    count: int = await db.fetchval(
        "SELECT count(*) FROM channel_events WHERE status IN ('received', 'processing') "
        "AND ($1::uuid IS NULL OR property_id = $1) "
        "AND ($2::varchar IS NULL OR direction = $2)",
        property_id,
        direction,
    )
    return count


async def wait_settled(
    db: Db,
    *,
    what: str,
    property_id: UUID | None = None,
    direction: str | None = None,
    timeout: float = 120,
    quiet: bool = True,
    steady_s: float = 0,
    also: Callable[[], Awaitable[bool]] | None = None,
) -> None:
    """Until `also` holds (where given) and no event (of the property, in the direction)
    has been open for `steady_s` seconds."""
    steady_since: float | None = None

    async def settled() -> bool:
        nonlocal steady_since
        if (also is not None and not await also()) or await open_events(
            db, property_id=property_id, direction=direction
        ):
            steady_since = None
            return False
        now = time.monotonic()
        if steady_since is None:
            steady_since = now
        return now - steady_since >= steady_s

    await wait_until(what, settled, timeout=timeout, quiet=quiet)


SyncKind = Literal["initial", "reconcile"]


async def request_sync(api: StackApi, property_id: UUID, kind: SyncKind) -> str:
    """Ask for the property's initial sync or a reconciliation; the run's id."""
    path = "initial-sync" if kind == "initial" else "reconcile"
    run = await api.admin("POST", f"/admin/properties/{property_id}/{path}")
    return str(run["id"])


async def finish_sync(
    api: StackApi,
    db: Db,
    property_id: UUID,
    run_id: str,
    *,
    what: str,
    timeout: float = 120,
    quiet: bool = False,
    steady_s: float = 0,
) -> dict[str, Any]:
    """Wait until the run has ended (done or failed) and the property's events are done;
    the run as the admin API shows it then."""
    run: dict[str, Any] = {}

    async def ended() -> bool:
        run.update(await api.admin("GET", f"/admin/sync-runs/{run_id}"))
        return run["status"] in ("done", "failed")

    await wait_settled(
        db,
        what=what,
        property_id=property_id,
        timeout=timeout,
        quiet=quiet,
        steady_s=steady_s,
        also=ended,
    )
    return run


async def sync_run(
    api: StackApi,
    db: Db,
    property_id: UUID,
    kind: SyncKind,
    *,
    timeout: float = 120,
    quiet: bool = False,
) -> dict[str, Any]:
    """Request the run and wait for it and its events; StackFailed if the run failed."""
    run_id = await request_sync(api, property_id, kind)
    what = f"the {kind} run and its events"
    run = await finish_sync(api, db, property_id, run_id, what=what, timeout=timeout, quiet=quiet)
    if run["status"] != "done":
        raise StackFailed(f"the {kind} run ended {run['status']}: {run}")
    return run


async def register_directly(dsn: str, name: str, beds24_property_id: int, secret: str) -> UUID:
    """A property the gateway accepts webhooks for with `secret`, written straight into the
    database (no admin API, no Beds24 account behind it)."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            prop: UUID = await conn.fetchval(
                "INSERT INTO hotel_settings (name) VALUES ($1) RETURNING id", name
            )
            await conn.execute(
                "INSERT INTO beds24_properties (property_id, beds24_property_id, account_id, "
                "refresh_token) VALUES ($1, $2, 'direct', 'direct')",
                prop,
                beds24_property_id,
            )
            await conn.execute(
                "INSERT INTO webhook_secrets (property_id, secret_sha256) VALUES ($1, $2)",
                prop,
                hashlib.sha256(secret.encode()).hexdigest(),
            )
    finally:
        await conn.close()
    return prop
