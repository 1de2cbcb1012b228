"""Rows the shared tests need, inserted over a real connection."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def insert_property(conn: asyncpg.Connection, name: str = "Test Hotel") -> UUID:
    value: UUID = await conn.fetchval(
        "INSERT INTO hotel_settings (name) VALUES ($1) RETURNING id", name
    )
    return value
