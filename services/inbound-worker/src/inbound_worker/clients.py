"""Reaching Beds24 for a property: its link (Beds24 property id, account, refresh token) and
one client per account, kept for the worker's life so its token stays cached (a token
costs credits)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from channel_sync.beds24 import Beds24Client, Beds24CreditsExhausted, CreditStatus
from channel_sync.db import Connection
from channel_sync.errors import PermanentError

from inbound_worker.credits import Credits


@dataclass(frozen=True)
class Link:
    beds24_property_id: int
    account_id: str
    refresh_token: str


async def link_of(conn: Connection, property_id: UUID) -> Link | None:
    record = await conn.fetchrow(
        """SELECT beds24_property_id, account_id, refresh_token FROM beds24_properties
           WHERE property_id = $1""",
        property_id,
    )
    if record is None:
        return None
    return Link(record["beds24_property_id"], record["account_id"], record["refresh_token"])


class Beds24Clients:
    def __init__(
        self, base_url: str, pool: asyncpg.Pool, credits: Credits, *, timeout_s: float
    ) -> None:
        self._base_url = base_url
        self._pool = pool
        self._credits = credits
        self._timeout_s = timeout_s
        self._http = httpx.AsyncClient()
        self._clients: dict[str, tuple[str, Beds24Client]] = {}

    def for_link(self, link: Link) -> Beds24Client:
        """The account's client; a new one once its refresh token was replaced."""
        known = self._clients.get(link.account_id)
        if known is not None and known[0] == link.refresh_token:
            return known[1]

        async def record(status: CreditStatus) -> None:
            await self._credits.record(link.account_id, status)

        client = Beds24Client(
            self._base_url,
            link.refresh_token,
            http=self._http,
            timeout_s=self._timeout_s,
            on_credits=record,
        )
        self._clients[link.account_id] = (link.refresh_token, client)
        return client

    async def get_bookings(self, link: Link, **query: Any) -> list[dict[str, Any]]:
        """`client.get_bookings(**query)` within the account's shared credit budget."""
        await self._credits.check(link.account_id)
        try:
            return await self.for_link(link).get_bookings(**query)
        except Beds24CreditsExhausted as exc:
            await self._credits.exhausted(link.account_id, exc.not_before)
            raise

    async def fetch_booking(self, property_id: UUID, booking_id: int) -> dict[str, Any]:
        """The booking's current state (for a V1 ping, which names only the booking)."""
        async with self._pool.acquire() as conn:
            link = await link_of(conn, property_id)
        if link is None:
            raise PermanentError(
                f"cannot fetch Beds24 booking {booking_id}: property {property_id} has no "
                "Beds24 link (beds24_properties)"
            )
        found = await self.get_bookings(link, ids=[booking_id], statuses="all")
        for booking in found:
            if booking.get("id") == booking_id:
                return booking
        raise PermanentError(f"Beds24 has no booking {booking_id} (deleted, or not ours)")

    async def aclose(self) -> None:
        self._clients.clear()
        await self._http.aclose()
