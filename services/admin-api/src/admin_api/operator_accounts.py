"""Creating, listing and revoking operator accounts: the rules the API and the command line
share. Revoking ends the account's console sessions in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from admin_api.errors import Conflict, NotFound
from admin_api.identity import ADMIN_TOKEN_NAME, Role
from admin_api.operator_secrets import make_secret
from admin_api.queries import operators
from admin_api.queries.operators import OperatorRow


@dataclass(frozen=True)
class Created:
    row: OperatorRow
    secret: str  # shown once


async def create_operator(pool: asyncpg.Pool, name: str, role: Role, *, created_by: str) -> Created:
    if name.lower() == ADMIN_TOKEN_NAME:
        raise Conflict(f"the name {name!r} is the admin token's; choose another")
    made = make_secret()
    async with pool.acquire() as conn:
        row = await operators.create(
            conn,
            name=name,
            role=role,
            key_id=made.key_id,
            secret_hash=made.secret_hash,
            created_by=created_by,
        )
    if row is None:
        raise Conflict(f"an operator named {name!r} exists (names are never reused)")
    return Created(row, made.secret)


async def revoke_operator(pool: asyncpg.Pool, operator_id: UUID, *, revoked_by: str) -> OperatorRow:
    """Idempotent: a revoked account stays as it was revoked."""
    async with pool.acquire() as conn, conn.transaction():
        row = await operators.revoke(conn, operator_id, revoked_by=revoked_by)
    if row is None:
        raise NotFound(f"no operator {operator_id}")
    return row


async def find_by_name(pool: asyncpg.Pool, name: str) -> OperatorRow:
    async with pool.acquire() as conn:
        row = await operators.by_name(conn, name)
    if row is None:
        raise NotFound(f"no operator named {name!r}")
    return row


async def list_operators(pool: asyncpg.Pool, *, include_revoked: bool = True) -> list[OperatorRow]:
    async with pool.acquire() as conn:
        return await operators.list_all(conn, include_revoked=include_revoked)
