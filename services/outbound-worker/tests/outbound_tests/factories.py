"""PMS rows the outbound tests need, inserted over a real connection (plain SQL, as any
program writing the PMS would)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class Hotel:
    property_id: UUID
    room_type_id: UUID
    room_ids: list[UUID]
    beds24_room_id: str


async def insert_hotel(
    conn: asyncpg.Connection,
    *,
    beds24_property_id: int | None = None,
    beds24_room_id: str = "5001",
    rooms: int = 2,
    account_id: str = "acct-1",
    refresh_token: str = "rt-test",
    connected: bool = True,
) -> Hotel:
    """A property with one room type of `rooms` rooms, mapped (by type) to one Beds24 room."""
    prop: UUID = await conn.fetchval(
        "INSERT INTO hotel_settings (name) VALUES ('Outbound Test Hotel') RETURNING id"
    )
    if connected:
        await conn.execute(
            """INSERT INTO beds24_properties (property_id, beds24_property_id, account_id,
                   refresh_token) VALUES ($1, $2, $3, $4)""",
            prop,
            beds24_property_id or uuid.uuid4().int % 10**9,
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
        beds24_room_id,
    )
    room_ids = [
        await conn.fetchval(
            "INSERT INTO rooms (property_id, room_type_id, name) VALUES ($1, $2, $3) RETURNING id",
            prop,
            room_type,
            f"{100 + n}",
        )
        for n in range(rooms)
    ]
    return Hotel(prop, room_type, room_ids, beds24_room_id)


async def insert_reservation(
    conn: asyncpg.Connection,
    hotel: Hotel,
    *,
    arrival: date,
    departure: date,
    room: int = 0,
    **fields: Any,
) -> UUID:
    values: dict[str, Any] = {
        "property_id": hotel.property_id,
        "room_id": hotel.room_ids[room],
        "arrival": arrival,
        "departure": departure,
        "guest_first_name": "Ada",
        "guest_last_name": "Lovelace",
        "guest_email": "ada@example.org",
        "adults": 2,
    }
    values.update(fields)
    columns = ", ".join(values)
    params = ", ".join(f"${n}" for n in range(1, len(values) + 1))
    reservation: UUID = await conn.fetchval(
        f"INSERT INTO reservations ({columns}) VALUES ({params}) RETURNING id", *values.values()
    )
    return reservation


async def outbound_events(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT event_type, entity_type, entity_internal_id, entity_external_id,
                  idempotency_key, payload, status
           FROM channel_events WHERE direction = 'outbound'
           ORDER BY split_part(idempotency_key, ':', 4)::bigint"""
    )
