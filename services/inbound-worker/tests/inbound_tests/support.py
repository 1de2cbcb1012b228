"""PMS rows, Beds24 bookings and inbound events for the inbound worker's tests (plain SQL
over real connections, as the PMS and the gateway would write them), and the whole inbound
path (sandbox → gateway process → worker) for the end-to-end ones."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from channel_sync.events import ChannelEvent, Direction, NewChannelEvent
from channel_sync.inbound import ENTITY_TYPE, booking_event_key
from channel_sync.repository import ChannelEventRepository
from channel_sync_testing.waiting import wait_for
from inbound_worker.app import run
from inbound_worker.settings import InboundSettings

from conftest import TEST_RETRY_DELAYS_MS

BEDS24_PROPERTY_ID = 515151
BEDS24_ROOM_ID = 5001
repo = ChannelEventRepository()


@dataclass(frozen=True)
class Hotel:
    property_id: UUID
    room_type_id: UUID
    rooms: dict[str, UUID]  # name → id


async def insert_hotel(
    conn: asyncpg.Connection,
    *,
    rooms: tuple[str, ...] = ("101", "102"),
    beds24_property_id: int = BEDS24_PROPERTY_ID,
    beds24_room_id: int = BEDS24_ROOM_ID,
    account_id: str = "acct-inbound",
    refresh_token: str = "rt-inbound",
) -> Hotel:
    """A property linked to Beds24, with one room type mapped to one Beds24 room."""
    prop: UUID = await conn.fetchval(
        "INSERT INTO hotel_settings (name) VALUES ('Inbound Test Hotel') RETURNING id"
    )
    await conn.execute(
        """INSERT INTO beds24_properties (property_id, beds24_property_id, account_id,
               refresh_token) VALUES ($1, $2, $3, $4)""",
        prop,
        beds24_property_id,
        account_id,
        refresh_token,
    )
    room_type: UUID = await conn.fetchval(
        "INSERT INTO room_types (property_id, name) VALUES ($1, 'Double') RETURNING id", prop
    )
    await conn.execute(
        """INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id)
           VALUES ($1, 'room_type', $2, $3)""",
        prop,
        room_type,
        str(beds24_room_id),
    )
    room_ids = {}
    for name in rooms:
        room_ids[name] = await conn.fetchval(
            "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, $3) RETURNING id",
            prop,
            room_type,
            name,
        )
    return Hotel(prop, room_type, room_ids)


async def map_unit(conn: asyncpg.Connection, hotel: Hotel, room: str, unit_id: int) -> None:
    await conn.execute(
        """INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id,
               external_unit_id) VALUES ($1, 'room', $2, $3, $4)""",
        hotel.property_id,
        hotel.rooms[room],
        str(BEDS24_ROOM_ID),
        str(unit_id),
    )


async def add_secret(conn: asyncpg.Connection, property_id: UUID, secret: str) -> None:
    await conn.execute(
        "INSERT INTO webhook_secrets (property_id, secret_sha256) VALUES ($1, $2)",
        property_id,
        hashlib.sha256(secret.encode()).hexdigest(),
    )


class NoBeds24:
    """For tests whose events carry the booking: any Beds24 call is a test failure."""

    async def fetch_booking(self, property_id: UUID, booking_id: int) -> dict[str, Any]:
        raise AssertionError(f"unexpected Beds24 fetch of booking {booking_id}")


def booking(booking_id: int = 80001, **fields: Any) -> dict[str, Any]:
    """A Beds24 booking as a V2 webhook or GET /bookings carries it."""
    return {
        "id": booking_id,
        "propertyId": BEDS24_PROPERTY_ID,
        "roomId": BEDS24_ROOM_ID,
        "unitId": 0,
        "status": "confirmed",
        "arrival": "2031-06-01",
        "departure": "2031-06-04",
        "numAdult": 2,
        "numChild": 1,
        "title": "Ms",
        "firstName": "Grace",
        "lastName": "Hopper",
        "email": "grace@example.com",
        "phone": "+1 555 0100",
        "mobile": "",
        "address": "1 Navy Way",
        "city": "Arlington",
        "postcode": "22201",
        "country": "United States",
        "country2": "US",
        "comments": "Late arrival",
        "notes": "VIP",
        "price": 420.5,
        "deposit": 100,
        "channel": "booking",
        "apiReference": "BDC-998877",
        "modifiedTime": "2031-05-01T09:00:00Z",
        **fields,
    }


async def store_event(
    db: asyncpg.Pool,
    property_id: UUID,
    raw: dict[str, Any] | None = None,
    *,
    payload: dict[str, Any] | None = None,
    key: str | None = None,
    max_attempts: int = 3,
) -> ChannelEvent:
    """An inbound event as the gateway stores it (V2 webhook unless `payload` says else)."""
    raw = raw if raw is not None else booking()
    async with db.acquire() as conn:
        event = await repo.create(
            conn,
            NewChannelEvent(
                property_id=property_id,
                direction=Direction.INBOUND,
                event_type="beds24.booking.modified",
                entity_type=ENTITY_TYPE,
                entity_external_id=str(raw.get("id")),
                idempotency_key=key or booking_event_key(property_id, raw),
                payload=payload if payload is not None else {"booking": raw, "retries": 0},
                max_attempts=max_attempts,
            ),
        )
    assert event is not None
    return event


async def reservations(db: asyncpg.Pool) -> list[asyncpg.Record]:
    async with db.acquire() as conn:
        return list(
            await conn.fetch(
                """SELECT r.*, rm.name AS room_name FROM reservations r
               LEFT JOIN rooms rm ON rm.id = r.room_id ORDER BY r.beds24_booking_id"""
            )
        )


async def event_row(db: asyncpg.Pool, event_id: UUID) -> asyncpg.Record:
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM channel_events WHERE id = $1", event_id)
    assert row is not None
    return row


async def outbound_count(db: asyncpg.Pool) -> int:
    """Outbound BOOKING events: an echo of what Beds24 told us. (Availability events are
    expected: what Beds24 books or frees changes what the PMS offers.)"""
    async with db.acquire() as conn:
        count: int = await conn.fetchval(
            """SELECT count(*) FROM channel_events
               WHERE direction = 'outbound' AND entity_type = 'booking'"""
        )
    return count


async def availability_events(db: asyncpg.Pool) -> list[tuple[str, str, str]]:
    """(Beds24 room, first night, last night) of each outbound availability event, in order."""
    async with db.acquire() as conn:
        rows = await conn.fetch(
            """SELECT payload FROM channel_events
               WHERE direction = 'outbound' AND event_type = 'pms.availability.update'
               ORDER BY received_at, idempotency_key"""
        )
    return [
        (r["payload"]["beds24_room_id"], r["payload"]["from"], r["payload"]["to"]) for r in rows
    ]


# The whole path: the gateway as a process, the worker in this one, a sandbox property.


@dataclass(frozen=True)
class Gateway:
    url: str


@asynccontextmanager
async def gateway_process(database_url: str, amqp_url: str, log: Path) -> AsyncIterator[Gateway]:
    """`webhook-gateway` as deployed: its own process, configured by environment only."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RABBITMQ_URL": amqp_url,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "RETRY_DELAYS_MS": ",".join(map(str, TEST_RETRY_DELAYS_MS)),
        "AMQP_RECONNECT_INTERVAL_S": "60",
        "AMQP_PUBLISH_TIMEOUT_S": "2",
    }
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "webhook_gateway.main", env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            await wait_for(
                lambda: _healthy(client, url, proc), timeout=30, what=f"gateway health (log: {log})"
            )
        yield Gateway(url)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _healthy(client: httpx.AsyncClient, url: str, proc: asyncio.subprocess.Process) -> bool:
    if proc.returncode is not None:
        raise AssertionError(f"gateway exited with {proc.returncode}")
    try:
        return (await client.get(f"{url}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@asynccontextmanager
async def worker(
    database_url: str, amqp_url: str, beds24_url: str, **overrides: Any
) -> AsyncIterator[None]:
    values: dict[str, Any] = {
        "database_url": database_url,
        "rabbitmq_url": amqp_url,
        "beds24_api_url": beds24_url,
        "retry_delays_ms": TEST_RETRY_DELAYS_MS,
        "relay_poll_interval_s": 0.2,
        "poll_enabled": False,
        **overrides,
    }
    stop = asyncio.Event()
    task = asyncio.create_task(run(InboundSettings(**values), stop, serve_health=False))
    try:
        yield
        assert not task.done(), "the worker stopped by itself"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@dataclass(frozen=True)
class Connected:
    hotel: Hotel
    beds24: SandboxProperty

    @property
    def room_id(self) -> int:
        return self.beds24.room_ids[0]


async def connect_hotel(
    db: asyncpg.Pool,
    sandbox: SandboxHandle,
    gateway_url: str,
    *,
    version: str = "twoWithPersonalData",
) -> Connected:
    """A Beds24 property and its PMS twin, its webhook pointed at the gateway."""
    beds24 = await sandbox.seed(rooms=[{"name": "Double", "qty": 2}])
    secret = f"e2e-{uuid.uuid4().hex}"
    async with db.acquire() as conn:
        hotel = await insert_hotel(
            conn,
            beds24_property_id=beds24.id,
            beds24_room_id=beds24.room_ids[0],
            account_id=str(beds24.account.account_id),
            refresh_token=beds24.account.refresh_token,
        )
        await add_secret(conn, hotel.property_id, secret)
    await sandbox.update_property(
        beds24.id,
        webhook={
            "urls": [f"{gateway_url}/webhooks/beds24/{hotel.property_id}"],
            "custom_header": f"Authorization: Bearer {secret}",
            "version": version,
        },
    )
    return Connected(hotel, beds24)


async def reservation_of(db: asyncpg.Pool, booking_id: int) -> asyncpg.Record | None:
    async with db.acquire() as conn:
        return await conn.fetchrow(
            "SELECT * FROM reservations WHERE beds24_booking_id = $1", booking_id
        )


async def inbound_events(db: asyncpg.Pool, booking_id: int) -> list[asyncpg.Record]:
    async with db.acquire() as conn:
        return list(
            await conn.fetch(
                """SELECT * FROM channel_events WHERE direction = 'inbound'
               AND entity_external_id = $1 ORDER BY received_at""",
                str(booking_id),
            )
        )


async def _all_done(db: asyncpg.Pool, booking_id: int, count: int) -> bool:
    events = await inbound_events(db, booking_id)
    return len(events) >= count and all(e["status"] == "done" for e in events)


async def _reservation_with(
    db: asyncpg.Pool, booking_id: int, expected: dict[str, Any]
) -> asyncpg.Record | None:
    row = await reservation_of(db, booking_id)
    if row is None or any(row[column] != value for column, value in expected.items()):
        return None
    return row


@dataclass(frozen=True)
class InboundPath:
    """The whole inbound path as one test sees it: the sandbox sending webhooks to a running
    gateway, the test database, and the worker started on demand."""

    db: asyncpg.Pool
    sandbox: SandboxHandle
    gateway_url: str
    database_url: str
    amqp_url: str

    async def connect(self, *, version: str = "twoWithPersonalData") -> Connected:
        return await connect_hotel(self.db, self.sandbox, self.gateway_url, version=version)

    def worker(self, **overrides: Any) -> AbstractAsyncContextManager[None]:
        return worker(self.database_url, self.amqp_url, self.sandbox.url, **overrides)

    async def reservation(
        self, booking_id: int, what: str = "reservation", **expected: Any
    ) -> asyncpg.Record:
        """Waits for the booking's reservation, with the `expected` column values."""
        row: asyncpg.Record = await wait_for(
            lambda: _reservation_with(self.db, booking_id, expected), what=what
        )
        return row

    async def all_done(self, booking_id: int, count: int, what: str = "every event done") -> None:
        """Waits for at least `count` inbound events of the booking, all done."""
        await wait_for(lambda: _all_done(self.db, booking_id, count), what=what)

    async def events(self, booking_id: int) -> list[asyncpg.Record]:
        return await inbound_events(self.db, booking_id)
