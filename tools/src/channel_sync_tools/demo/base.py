"""What every demo scenario works with: the stack's clients, the demo database and the demo
hotel (onboarded at the start); dates counted from today; reservations as the front desk
makes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

import asyncpg

from channel_sync_tools.api import StackApi
from channel_sync_tools.onboarding import Hotel


@dataclass(frozen=True)
class Demo:
    api: StackApi
    db: asyncpg.Connection
    hotel: Hotel


def day(n: int) -> date:
    return date.today() + timedelta(days=n)


async def desk_booking(
    db: asyncpg.Connection,
    property_id: UUID,
    room: UUID,
    arrival: date,
    departure: date,
    last_name: str,
    *,
    first_name: str | None = None,
    adults: int = 2,
) -> UUID:
    """A reservation typed in at the front desk (its own transaction)."""
    reservation: UUID = await db.fetchval(
        "INSERT INTO reservations (property_id, room_id, arrival, departure, "
        "guest_first_name, guest_last_name, adults) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        property_id,
        room,
        arrival,
        departure,
        first_name,
        last_name,
        adults,
    )
    return reservation
