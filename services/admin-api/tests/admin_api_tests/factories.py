"""Rows the admin-api tests need, written straight into the session database."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from admin_api.identity import Role
from admin_api.operator_accounts import create_operator
from channel_sync.events import ChannelEvent, Direction, EventStatus, NewChannelEvent
from channel_sync.repository import ChannelEventRepository

repo = ChannelEventRepository()


async def insert_property(conn: asyncpg.Connection, name: str = "Test Hotel") -> UUID:
    value: UUID = await conn.fetchval(
        "INSERT INTO hotel_settings (name) VALUES ($1) RETURNING id", name
    )
    return value


async def connect_beds24(
    conn: asyncpg.Connection, property_id: UUID, beds24_property_id: int
) -> None:
    await conn.execute(
        """INSERT INTO beds24_properties (property_id, beds24_property_id, account_id,
               refresh_token) VALUES ($1, $2, 'acct-1', 'rt-secret')""",
        property_id,
        beds24_property_id,
    )


async def insert_room(
    conn: asyncpg.Connection, property_id: UUID, name: str, room_type_id: UUID | None = None
) -> UUID:
    value: UUID = await conn.fetchval(
        "INSERT INTO rooms (property_id, name, room_type_id) VALUES ($1, $2, $3) RETURNING id",
        property_id,
        name,
        room_type_id,
    )
    return value


async def insert_room_type(conn: asyncpg.Connection, property_id: UUID, name: str) -> UUID:
    value: UUID = await conn.fetchval(
        "INSERT INTO room_types (property_id, name) VALUES ($1, $2) RETURNING id",
        property_id,
        name,
    )
    return value


async def insert_event(
    conn: asyncpg.Connection,
    property_id: UUID,
    *,
    status: EventStatus = EventStatus.RECEIVED,
    direction: Direction = Direction.OUTBOUND,
    event_type: str | None = None,
    last_error: str | None = None,
    attempts: int = 0,
    received_at: datetime | None = None,
    **fields: Any,
) -> ChannelEvent:
    default_type = (
        "pms.booking.update" if direction is Direction.OUTBOUND else ("beds24.booking.modified")
    )
    created = await repo.create(
        conn,
        NewChannelEvent(
            property_id=property_id,
            direction=direction,
            event_type=event_type or default_type,
            entity_type=fields.pop("entity_type", "booking"),
            entity_external_id=fields.pop("entity_external_id", "1001"),
            idempotency_key=f"test:{uuid.uuid4()}",
            payload=fields.pop("payload", {"booking": {"id": 1001}}),
            **fields,
        ),
    )
    assert created is not None
    await conn.execute(
        """UPDATE channel_events SET status = $2, last_error = $3, attempts = $4,
               received_at = COALESCE($5, received_at)
           WHERE id = $1""",
        created.id,
        str(status),
        last_error,
        attempts,
        received_at,
    )
    found = await repo.get(conn, created.id)
    assert found is not None
    return found


async def make_operator(pool: asyncpg.Pool, name: str, role: str = "operator") -> str:
    """A named account; answers its secret (shown once, as the API and CLI do)."""
    created = await create_operator(pool, name, Role(role), created_by="tests")
    return created.secret


@contextlib.asynccontextmanager
async def console_login(base_url: str, secret: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client logged in to the console with `secret`, as a browser would be (the
    login form's CSRF token read from the form)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        form = await client.get("/console/login")
        response = await client.post(
            "/console/login",
            data={"csrf_token": csrf_of(form.text), "token": secret, "next": "/console/events"},
        )
        assert response.status_code == 303, response.text
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "no CSRF token on the page"
    return found[1]
