"""SQL for operator accounts (table `operators`). Secrets are never read back: only the hash,
to check a secret given at login or on an API call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
from channel_sync.db import Connection

from admin_api.identity import Role

_COLUMNS = "id, name, role, key_id, created_at, created_by, revoked_at, revoked_by"


@dataclass(frozen=True)
class OperatorRow:
    id: UUID
    name: str
    role: Role
    key_id: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None


def _row(record: asyncpg.Record) -> OperatorRow:
    values = dict(record)
    values["role"] = Role(values["role"])
    return OperatorRow(**values)


async def create(
    conn: Connection, *, name: str, role: Role, key_id: str, secret_hash: str, created_by: str
) -> OperatorRow | None:
    """None when the name is taken (by any account, revoked ones too)."""
    record = await conn.fetchrow(
        f"""INSERT INTO operators (name, role, key_id, secret_hash, created_by)
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING {_COLUMNS}""",  # noqa: S608 - constant columns
        name,
        str(role),
        key_id,
        secret_hash,
        created_by,
    )
    return None if record is None else _row(record)


async def list_all(conn: Connection, *, include_revoked: bool = True) -> list[OperatorRow]:
    records = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM operators WHERE $1 OR revoked_at IS NULL
            ORDER BY lower(name)""",  # noqa: S608 - constant columns
        include_revoked,
    )
    return [_row(r) for r in records]


async def get(conn: Connection, operator_id: UUID) -> OperatorRow | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM operators WHERE id = $1",  # noqa: S608 - constant columns
        operator_id,
    )
    return None if record is None else _row(record)


async def by_name(conn: Connection, name: str) -> OperatorRow | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM operators WHERE lower(name) = lower($1)",  # noqa: S608
        name,
    )
    return None if record is None else _row(record)


async def active_by_key(conn: Connection, key_id: str) -> tuple[OperatorRow, str] | None:
    """The account (not revoked) with this key id, and its secret's hash."""
    record = await conn.fetchrow(
        f"""SELECT {_COLUMNS}, secret_hash FROM operators
            WHERE key_id = $1 AND revoked_at IS NULL""",  # noqa: S608 - constant columns
        key_id,
    )
    if record is None:
        return None
    values = dict(record)
    secret_hash = values.pop("secret_hash")
    values["role"] = Role(values["role"])
    return OperatorRow(**values), secret_hash


async def revoke(conn: Connection, operator_id: UUID, *, revoked_by: str) -> OperatorRow | None:
    """Revoke the account and end its console sessions, in the caller's transaction;
    revoking a revoked account changes nothing. None: no such account."""
    await conn.execute(
        """UPDATE operators SET revoked_at = now(), revoked_by = $2
           WHERE id = $1 AND revoked_at IS NULL""",
        operator_id,
        revoked_by,
    )
    await conn.execute("DELETE FROM console_sessions WHERE operator_id = $1", operator_id)
    return await get(conn, operator_id)
