"""Inbound worker fixtures: a hotel linked to Beds24 and the handler on the test database."""

from __future__ import annotations

import asyncpg
import pytest
from inbound_worker.handler import InboundHandler

from .support import Hotel, NoBeds24, insert_hotel


@pytest.fixture
async def hotel(db: asyncpg.Pool) -> Hotel:
    async with db.acquire() as conn:
        return await insert_hotel(conn)


@pytest.fixture
def handler(db: asyncpg.Pool) -> InboundHandler:
    return InboundHandler(db, NoBeds24())
