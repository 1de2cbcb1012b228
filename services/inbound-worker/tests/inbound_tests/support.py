"""PMS rows, Beds24 bookings and inbound events for the inbound worker's tests (plain SQL
over real connections, as the PMS and the gateway would write them)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from channel_sync.events import ChannelEvent, Direction, NewChannelEvent
from channel_sync.inbound import ENTITY_TYPE, booking_event_key
from channel_sync.repository import ChannelEventRepository

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
