"""webhook_secrets: only SHA-256 digests are stored; two may be active during a rotation."""

from __future__ import annotations

from uuid import UUID

from channel_sync.db import Connection

from admin_api.schemas.properties import SecretInfo


async def add(conn: Connection, property_id: UUID, digest: str) -> UUID:
    secret_id: UUID = await conn.fetchval(
        "INSERT INTO webhook_secrets (property_id, secret_sha256) VALUES ($1, $2) RETURNING id",
        property_id,
        digest,
    )
    return secret_id


async def list_for(conn: Connection, property_id: UUID) -> list[SecretInfo]:
    records = await conn.fetch(
        """SELECT id, created_at, revoked_at FROM webhook_secrets WHERE property_id = $1
           ORDER BY created_at, id""",
        property_id,
    )
    return [SecretInfo.model_validate(dict(r)) for r in records]


async def count_active(conn: Connection, property_id: UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM webhook_secrets WHERE property_id = $1 AND revoked_at IS NULL",
        property_id,
    )
    return count


async def get(conn: Connection, property_id: UUID, secret_id: UUID) -> SecretInfo | None:
    record = await conn.fetchrow(
        """SELECT id, created_at, revoked_at FROM webhook_secrets
           WHERE property_id = $1 AND id = $2""",
        property_id,
        secret_id,
    )
    return None if record is None else SecretInfo.model_validate(dict(record))


async def revoke(conn: Connection, property_id: UUID, secret_id: UUID) -> None:
    await conn.execute(
        """UPDATE webhook_secrets SET revoked_at = now()
           WHERE property_id = $1 AND id = $2 AND revoked_at IS NULL""",
        property_id,
        secret_id,
    )
