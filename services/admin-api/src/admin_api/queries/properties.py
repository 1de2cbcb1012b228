"""hotel_settings and beds24_properties."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from channel_sync.db import Connection

from admin_api.schemas.properties import PropertyInfo

_INFO = """
    SELECT h.id AS property_id, h.name, h.timezone, b.beds24_property_id, b.account_id,
           b.poll_enabled, b.last_polled_at,
           (SELECT count(*) FROM webhook_secrets s
            WHERE s.property_id = h.id AND s.revoked_at IS NULL) AS active_webhook_secrets,
           (SELECT count(*) FROM channel_mappings m WHERE m.property_id = h.id) AS mappings
    FROM hotel_settings h LEFT JOIN beds24_properties b ON b.property_id = h.id
"""


def _info(record: asyncpg.Record) -> PropertyInfo:
    return PropertyInfo.model_validate(dict(record))


async def get(conn: Connection, property_id: UUID) -> PropertyInfo | None:
    record = await conn.fetchrow(_INFO + " WHERE h.id = $1", property_id)
    return None if record is None else _info(record)


async def list_page(conn: Connection, *, limit: int, offset: int) -> list[PropertyInfo]:
    records = await conn.fetch(_INFO + " ORDER BY h.name, h.id LIMIT $1 OFFSET $2", limit, offset)
    return [_info(r) for r in records]


async def lock(conn: Connection, property_id: UUID) -> bool:
    """Lock the property row for this transaction (serialises secret changes); False if absent."""
    found = await conn.fetchval(
        "SELECT true FROM hotel_settings WHERE id = $1 FOR UPDATE", property_id
    )
    return bool(found)


async def create(conn: Connection, name: str, timezone: str) -> UUID:
    property_id: UUID = await conn.fetchval(
        "INSERT INTO hotel_settings (name, timezone) VALUES ($1, $2) RETURNING id", name, timezone
    )
    return property_id


async def registered_to(conn: Connection, beds24_property_id: int) -> UUID | None:
    """The PMS property a Beds24 property is registered to, if any."""
    found: UUID | None = await conn.fetchval(
        "SELECT property_id FROM beds24_properties WHERE beds24_property_id = $1",
        beds24_property_id,
    )
    return found


async def is_registered(conn: Connection, property_id: UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM beds24_properties WHERE property_id = $1", property_id
        )
    )


async def register(
    conn: Connection,
    property_id: UUID,
    *,
    beds24_property_id: int,
    account_id: str,
    refresh_token: str,
    poll_enabled: bool,
) -> None:
    """Raises asyncpg.UniqueViolationError when either side is registered already."""
    await conn.execute(
        """INSERT INTO beds24_properties (property_id, beds24_property_id, account_id,
               refresh_token, poll_enabled)
           VALUES ($1, $2, $3, $4, $5)""",
        property_id,
        beds24_property_id,
        account_id,
        refresh_token,
        poll_enabled,
    )


async def replace_credentials(
    conn: Connection, property_id: UUID, refresh_token: str, account_id: str | None
) -> bool:
    result = await conn.execute(
        """UPDATE beds24_properties
           SET refresh_token = $2, account_id = COALESCE($3, account_id), updated_at = now()
           WHERE property_id = $1""",
        property_id,
        refresh_token,
        account_id,
    )
    return result.endswith(" 1")
