"""One Beds24 client per account, kept for the worker's life so its token stays cached."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import httpx
from channel_sync.beds24 import Beds24Client, CreditStatus
from channel_sync.db import Connection

from outbound_worker.credits import CreditBudget


@dataclass(frozen=True)
class Account:
    account_id: str
    refresh_token: str


@dataclass(frozen=True)
class PropertyLink:
    """A PMS property's Beds24 side: its Beds24 property id and the account it draws on."""

    beds24_property_id: int
    account: Account


async def links_of(conn: Connection, property_ids: list[UUID]) -> dict[UUID, PropertyLink]:
    """The Beds24 side of each connected property among `property_ids`."""
    rows = await conn.fetch(
        # One token per account (the latest stored), so its client is not swapped back
        # and forth between properties sharing the account.
        """SELECT property_id, beds24_property_id, account_id, refresh_token FROM (
               SELECT property_id, beds24_property_id, account_id,
                      first_value(refresh_token) OVER (
                          PARTITION BY account_id ORDER BY updated_at DESC, property_id
                      ) AS refresh_token
               FROM beds24_properties) accounts
           WHERE property_id = ANY($1::uuid[])""",
        property_ids,
    )
    return {
        r["property_id"]: PropertyLink(
            r["beds24_property_id"], Account(r["account_id"], r["refresh_token"])
        )
        for r in rows
    }


class Beds24Clients:
    def __init__(self, base_url: str, budget: CreditBudget, *, timeout_s: float) -> None:
        self._base_url = base_url
        self._budget = budget
        self._timeout_s = timeout_s
        self._http = httpx.AsyncClient()
        self._clients: dict[str, tuple[str, Beds24Client]] = {}

    def for_account(self, account: Account) -> Beds24Client:
        """The account's client; a new one when its refresh token was replaced."""
        known = self._clients.get(account.account_id)
        if known is not None and known[0] == account.refresh_token:
            return known[1]

        async def record(status: CreditStatus) -> None:
            await self._budget.record(account.account_id, status)

        client = Beds24Client(
            self._base_url,
            account.refresh_token,
            http=self._http,
            timeout_s=self._timeout_s,
            on_credits=record,
        )
        self._clients[account.account_id] = (account.refresh_token, client)
        return client

    async def aclose(self) -> None:
        self._clients.clear()
        await self._http.aclose()
