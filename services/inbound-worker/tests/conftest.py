"""Inbound worker fixtures: a hotel linked to Beds24 and the handler on the test database."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import pytest
from inbound_worker.handler import InboundHandler

from .support import Hotel, insert_hotel


class NoBeds24:
    """For tests whose events carry the booking: any Beds24 call is a test failure."""

    async def fetch_booking(self, property_id: UUID, booking_id: int) -> dict[str, Any]:
        raise AssertionError(f"unexpected Beds24 fetch of booking {booking_id}")


@pytest.fixture
async def hotel(db: asyncpg.Pool) -> Hotel:
    async with db.acquire() as conn:
        return await insert_hotel(conn)


@pytest.fixture
def handler(db: asyncpg.Pool) -> InboundHandler:
    return InboundHandler(db, NoBeds24())
