"""Registering a property with Beds24: credentials, the property check, the first secret.

Beds24 is asked before anything is written: an invite code is exchanged for a refresh token
and the property must be visible with it. Checks that need no Beds24 call come first, since
an invite code works only once.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

import asyncpg
from channel_sync.beds24 import SetupResult
from channel_sync.db import Connection

from admin_api.beds24_access import Beds24Access
from admin_api.errors import Conflict, NotFound, Unprocessable
from admin_api.queries import properties, secrets
from admin_api.schemas.properties import Beds24Room, Credentials, RegisterProperty
from admin_api.webhook_secret import NewSecret

logger = logging.getLogger(__name__)


class Onboarding:
    def __init__(self, pool: asyncpg.Pool, beds24: Beds24Access) -> None:
        self._pool = pool
        self._beds24 = beds24

    async def register(
        self, request: RegisterProperty
    ) -> tuple[UUID, NewSecret, UUID, list[Beds24Room]]:
        """Returns the property id, its first webhook secret and that secret's id, and the
        Beds24 room types found."""
        async with self._pool.acquire() as conn:
            await self._precheck(conn, request)
        refresh_token, setup = await self.credentials(request)
        view = await self._beds24.look_up(
            refresh_token,
            request.beds24_property_id,
            account_id=request.account_id,
            setup=setup,
            with_owner=request.account_id is None,
        )
        if view.found is None:
            raise Unprocessable(
                f"Beds24 property {request.beds24_property_id} is not visible "
                "with these credentials"
            )
        account_id = request.account_id or view.owner_id
        if account_id is None:
            raise Unprocessable(
                "Beds24 did not say which account owns these credentials; give "
                "account_id (an invite code is spent: use a new one)"
            )
        secret = NewSecret.generate()
        async with self._pool.acquire() as conn, conn.transaction():
            property_id = await self._property(conn, request)
            try:
                await properties.register(
                    conn,
                    property_id,
                    beds24_property_id=request.beds24_property_id,
                    account_id=account_id,
                    refresh_token=refresh_token,
                    poll_enabled=request.poll_enabled,
                )
            except asyncpg.UniqueViolationError:
                raise Conflict(
                    "this property or Beds24 property was registered meanwhile"
                ) from None
            secret_id = await secrets.add(conn, property_id, secret.digest)
        logger.info(
            "property %s registered with Beds24 property %s (account %s)",
            property_id,
            request.beds24_property_id,
            account_id,
        )
        return property_id, secret, secret_id, rooms_of(view.found)

    async def credentials(self, given: Credentials) -> tuple[str, SetupResult | None]:
        """The refresh token to store (exchanging an invite code when that is what we got)."""
        if given.invite_code is not None:
            setup = await self._beds24.exchange_invite(given.invite_code.get_secret_value())
            return setup.refresh_token, setup
        assert given.refresh_token is not None
        return given.refresh_token.get_secret_value(), None

    async def _precheck(self, conn: Connection, request: RegisterProperty) -> None:
        if request.property_id is not None:
            if await properties.get(conn, request.property_id) is None:
                raise NotFound(f"no property {request.property_id}")
            if await properties.is_registered(conn, request.property_id):
                raise Conflict(
                    "this property is registered with Beds24 already; use "
                    "PUT /admin/properties/{id}/credentials to change credentials"
                )
        owner = await properties.registered_to(conn, request.beds24_property_id)
        if owner is not None:
            raise Conflict(
                f"Beds24 property {request.beds24_property_id} is registered to "
                f"property {owner} already"
            )

    async def _property(self, conn: Connection, request: RegisterProperty) -> UUID:
        if request.property_id is None:
            assert request.name is not None  # the request model insists
            return await properties.create(conn, request.name, request.timezone)
        if not await properties.lock(conn, request.property_id):
            raise NotFound(f"no property {request.property_id}")
        return request.property_id


def rooms_of(found: dict[str, Any]) -> list[Beds24Room]:
    rooms = found.get("roomTypes") or []
    return [
        Beds24Room(
            id=int(r["id"]),
            name=r.get("name"),
            qty=r.get("qty"),
            units=[u for u in r.get("units") or [] if isinstance(u, dict)],
            mapped_to=[],
        )
        for r in rooms
        if isinstance(r, dict) and str(r.get("id", "")).isdigit()
    ]
