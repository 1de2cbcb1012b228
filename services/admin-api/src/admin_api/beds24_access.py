"""What the admin-api asks of Beds24: exchange an invite code, look at one property, read
one room's calendar.

Thin over `channel_sync.beds24.Beds24Client`; one shared httpx client for every call. The
refresh token passes through here and is never logged or returned. What the calls leave of
the account's credits goes into the budget the workers share (`CreditBudget`), once the
account is known; for a known account, a call the budget knows it cannot pay is not sent
(503 with Retry-After).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from channel_sync.beds24 import Beds24Client, Beds24CreditsExhausted, SetupResult
from channel_sync.beds24.credit_budget import CreditBudget

logger = logging.getLogger(__name__)

DEVICE_NAME = "channel-sync admin-api"


@dataclass(frozen=True)
class PropertyView:
    """The property with its room types (None: not visible with these credentials), and the
    Beds24 account owning the credentials when it was asked for."""

    found: dict[str, Any] | None
    owner_id: str | None = None


class Beds24Access:
    def __init__(
        self, base_url: str, budget: CreditBudget, *, http: httpx.AsyncClient, timeout_s: float
    ) -> None:
        self._base_url = base_url
        self._budget = budget
        self._http = http
        self._timeout_s = timeout_s

    async def exchange_invite(self, invite_code: str) -> SetupResult:
        return await Beds24Client.setup_from_invite(
            self._base_url, invite_code, DEVICE_NAME, http=self._http, timeout_s=self._timeout_s
        )

    async def look_up(
        self,
        refresh_token: str,
        beds24_property_id: int,
        *,
        account_id: str | None = None,
        setup: SetupResult | None = None,
        with_owner: bool = False,
    ) -> PropertyView:
        """`account_id`: the account the credentials are known to belong to, if any (with
        `with_owner`, the one Beds24 names wins): its budget records the credits spent."""
        client = Beds24Client(
            self._base_url,
            refresh_token,
            http=self._http,
            timeout_s=self._timeout_s,
            # A token just issued by the invite exchange saves buying another one.
            token=setup.token if setup else None,
            token_expires_in=setup.expires_in if setup else None,
            before_send=self._budget.gate(account_id) if account_id and not with_owner else None,
        )
        async with client:
            try:
                listed = await client.get_properties(
                    include_all_rooms=True, ids=[beds24_property_id]
                )
                found = next((p for p in listed if _int(p.get("id")) == beds24_property_id), None)
                owner = await _owner(client) if with_owner and found is not None else None
            except Beds24CreditsExhausted as exc:
                if account_id is not None and not with_owner:
                    await _bookkeeping(self._budget.exhausted(account_id, exc.not_before))
                raise
        account = owner or account_id
        if account is not None and client.credits is not None:
            # The latest answer's count is the account's whole state: record it once.
            await _bookkeeping(self._budget.record(account, client.credits))
        return PropertyView(found, owner)

    async def calendar(
        self, refresh_token: str, account_id: str, room_id: int, start: date, end: date
    ) -> list[dict[str, Any]]:
        """Beds24's calendar of one room, `start`..`end` inclusive, with every include flag
        (availability, prices, stay limits, override): ONE `GET /inventory/rooms/calendar`.
        Per room `{"roomId", "calendar": [{"from", "to", ...}]}`, as Beds24 compresses it."""
        client = Beds24Client(
            self._base_url,
            refresh_token,
            http=self._http,
            timeout_s=self._timeout_s,
            before_send=self._budget.gate(account_id),
        )
        async with client:
            try:
                shown = await client.get_calendar(
                    [room_id],
                    start,
                    end,
                    include_num_avail=True,
                    include_prices=True,
                    include_min_stay=True,
                    include_max_stay=True,
                    include_override=True,
                )
            except Beds24CreditsExhausted as exc:
                await _bookkeeping(self._budget.exhausted(account_id, exc.not_before))
                raise
        if client.credits is not None:
            await _bookkeeping(self._budget.record(account_id, client.credits))
        return shown


async def _bookkeeping(record: Awaitable[None]) -> None:
    """Recording credits must not fail the operator's request."""
    try:
        await record
    except Exception:
        logger.exception("recording Beds24 credits failed")


async def _owner(client: Beds24Client) -> str | None:
    """The account id behind the token (`GET /authentication/details`: token.ownerId)."""
    details = await client.get_details()
    token = details.get("token")
    owner = token.get("ownerId") if isinstance(token, dict) else None
    return None if owner in (None, "") else str(owner)


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return None
