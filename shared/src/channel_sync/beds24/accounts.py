"""One Beds24 client per account, kept for the service's life so its token stays cached (a
token costs credits), every request planned by the account's shared budget (which may hold
it until the reset) and every answer's credits recorded into it."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from channel_sync.beds24.client import Beds24Client
from channel_sync.beds24.credit_budget import CreditBudget


@dataclass(frozen=True)
class Account:
    """A Beds24 account and the refresh token we hold for it."""

    account_id: str
    refresh_token: str

    def __repr__(self) -> str:  # never print credentials by accident
        return f"Account({self.account_id!r}, refresh_token=***)"


class Beds24Clients:
    """Close with `aclose()` (or `async with contextlib.aclosing(...)`)."""

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
        client = Beds24Client(
            self._base_url,
            account.refresh_token,
            http=self._http,
            timeout_s=self._timeout_s,
            on_credits=self._budget.recorder(account.account_id),
            before_send=self._budget.gate(account.account_id),
        )
        self._clients[account.account_id] = (account.refresh_token, client)
        return client

    async def aclose(self) -> None:
        self._clients.clear()
        await self._http.aclose()
