"""Reading bookings from Beds24 for a property: its link (Beds24 property id and account) and
the account's shared client, every call within the account's shared credit budget."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
from channel_sync.beds24.accounts import Beds24Clients
from channel_sync.beds24.credit_budget import CreditBudget
from channel_sync.beds24.links import PropertyLink, link_of
from channel_sync.errors import PermanentError


class Beds24Bookings:
    def __init__(self, pool: asyncpg.Pool, clients: Beds24Clients, budget: CreditBudget) -> None:
        self._pool = pool
        self._clients = clients
        self._budget = budget

    async def get_bookings(self, link: PropertyLink, **query: Any) -> list[dict[str, Any]]:
        """`client.get_bookings(**query)` within the account's shared credit budget, with
        info items (one may carry our own reference, `channel_sync.references`) and the
        booking group: the fields a V2 webhook carries, so a polled version of a booking
        reads the same as the webhook's."""
        client = self._clients.for_account(link.account)
        return await self._budget.call(
            link.account.account_id,
            lambda: client.get_bookings(
                include_info_items=True, include_booking_group=True, **query
            ),
        )

    async def get_bookings_page(
        self, link: PropertyLink, page: int, **query: Any
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of `get_bookings` (same fields), and whether a next page exists."""
        client = self._clients.for_account(link.account)
        return await self._budget.call(
            link.account.account_id,
            lambda: client.get_bookings_page(
                page, include_info_items=True, include_booking_group=True, **query
            ),
        )

    async def get_calendar(
        self, link: PropertyLink, room_ids: list[int], start: date, end: date, *, ari: bool
    ) -> list[dict[str, Any]]:
        """Free units per night of these Beds24 rooms, `start`..`end` inclusive, with prices,
        stay limits and overrides when `ari`: ONE call for every room (Beds24 pages it only
        past its page size)."""
        client = self._clients.for_account(link.account)
        return await self._budget.call(
            link.account.account_id,
            lambda: client.get_calendar(
                room_ids,
                start,
                end,
                include_num_avail=True,
                include_prices=ari,
                include_min_stay=ari,
                include_max_stay=ari,
                include_override=ari,
            ),
        )

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
