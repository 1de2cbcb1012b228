"""Webhook secret rotation without a gap, for the JSON routes and the console alike.

Create a new secret (both work), paste it into Beds24, then revoke the old one. At most two
are active at once, and the last active one is revoked only when forced (without a secret
every webhook of the property would be refused).
"""

from __future__ import annotations

import logging
from uuid import UUID

import asyncpg

from admin_api.errors import Conflict, NotFound
from admin_api.queries import properties, secrets
from admin_api.schemas.properties import SecretInfo
from admin_api.webhook_secret import NewSecret

logger = logging.getLogger(__name__)

MAX_ACTIVE = 2


async def add_secret(
    pool: asyncpg.Pool, property_id: UUID
) -> tuple[NewSecret, UUID, list[SecretInfo]]:
    """The new secret (shown once), its id, and every secret of the property now."""
    secret = NewSecret.generate()
    async with pool.acquire() as conn, conn.transaction():
        if not await properties.lock(conn, property_id):
            raise NotFound(f"no property {property_id}")
        if await secrets.count_active(conn, property_id) >= MAX_ACTIVE:
            raise Conflict(f"{MAX_ACTIVE} secrets are active already; revoke one first")
        secret_id = await secrets.add(conn, property_id, secret.digest)
        listed = await secrets.list_for(conn, property_id)
    logger.info("webhook secret %s added to property %s", secret_id, property_id)
    return secret, secret_id, listed


async def revoke_secret(
    pool: asyncpg.Pool, property_id: UUID, secret_id: UUID, *, force: bool
) -> SecretInfo:
    """Idempotent: revoking a revoked secret answers it unchanged."""
    async with pool.acquire() as conn, conn.transaction():
        if not await properties.lock(conn, property_id):
            raise NotFound(f"no property {property_id}")
        found = await secrets.get(conn, property_id, secret_id)
        if found is None:
            raise NotFound(f"property {property_id} has no webhook secret {secret_id}")
        if found.revoked_at is None:
            if not force and await secrets.count_active(conn, property_id) <= 1:
                raise Conflict(
                    "this is the last active secret: Beds24 webhooks would be "
                    "refused; add a new one first, or pass force=true"
                )
            await secrets.revoke(conn, property_id, secret_id)
            logger.info("webhook secret %s of property %s revoked", secret_id, property_id)
        revoked = await secrets.get(conn, property_id, secret_id)
    assert revoked is not None
    return revoked
