"""Typed async helpers over the control API, for tests (see README for the routes)."""

from __future__ import annotations

import contextlib
import functools
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx


@dataclass(frozen=True)
class SandboxAccount:
    account_id: int
    refresh_token: str
    invite_code: str


@dataclass(frozen=True)
class SandboxProperty:
    """A seeded property: its id, rooms (`[{id, name, qty, units}]`) and owning account."""

    id: int
    account: SandboxAccount
    rooms: list[dict[str, Any]]

    @property
    def room_ids(self) -> list[int]:
        return [int(r["id"]) for r in self.rooms]


@dataclass(frozen=True)
class ApiSession:
    """Raw HTTP on the sandbox's Beds24 API with a token of `prop`'s account."""

    http: httpx.AsyncClient
    prop: SandboxProperty
    token: str


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One SSL context for every test client: building one per httpx client costs ~50 ms."""
    return ssl.create_default_context()


def _day(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else value


class SandboxHandle:
    def __init__(self, base: str, http: httpx.AsyncClient):
        self.base = base
        self.url = f"{base}/api/v2"
        self.control_url = f"{base}/_sandbox"
        self._http = http

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, self.control_url + path, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(
                f"sandbox {method} {path} answered {response.status_code}: {response.text}"
            )
        return response.json()

    # -- state ------------------------------------------------------------------------------
    async def reset(self) -> None:
        await self._request("POST", "/reset")

    async def configure(self, **values: Any) -> dict[str, Any]:
        """page_size, credit_headers (live|openapi|both|none), api_webhooks, ..."""
        result: dict[str, Any] = await self._request("POST", "/config", json=values)
        return result

    async def create_account(
        self, *, credit_limit: float = 100, window_s: float = 300, token_ttl_s: float = 86_400
    ) -> SandboxAccount:
        body = await self._request(
            "POST",
            "/accounts",
            json={"credit_limit": credit_limit, "window_s": window_s, "token_ttl_s": token_ttl_s},
        )
        return SandboxAccount(body["account_id"], body["refresh_token"], body["invite_code"])

    async def new_invite_code(self, account_id: int) -> str:
        body = await self._request("POST", f"/accounts/{account_id}/invite-codes")
        return str(body["invite_code"])

    async def credits(self, account_id: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", f"/accounts/{account_id}/credits")
        return result

    async def new_credit_window(
        self, account_id: int, *, credit_limit: float | None = None
    ) -> dict[str, Any]:
        """The account's credits as if its window had just run out (nothing used or
        refused), at `credit_limit` from then on where given."""
        body = {} if credit_limit is None else {"credit_limit": credit_limit}
        result: dict[str, Any] = await self._request(
            "POST", f"/accounts/{account_id}/credits/new-window", json=body
        )
        return result

    async def expire_tokens(self, account_id: int) -> int:
        body = await self._request("POST", f"/accounts/{account_id}/expire-tokens")
        return int(body["expired"])

    async def create_property(
        self,
        account_id: int,
        *,
        name: str = "Sandbox Hotel",
        rooms: list[dict[str, Any]] | None = None,
        webhook: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "account_id": account_id,
            "name": name,
            "rooms": rooms or [{"name": "Double", "qty": 2}],
        }
        if webhook is not None:
            payload["webhook"] = webhook
        result: dict[str, Any] = await self._request("POST", "/properties", json=payload)
        return result

    async def update_property(self, property_id: int, **changes: Any) -> dict[str, Any]:
        """e.g. `update_property(pid, webhook={"urls": [...], "custom_header": "..."})`."""
        result: dict[str, Any] = await self._request(
            "PATCH", f"/properties/{property_id}", json=changes
        )
        return result

    async def seed(
        self,
        *,
        rooms: list[dict[str, Any]] | None = None,
        webhook: dict[str, Any] | None = None,
        credit_limit: float = 100,
        window_s: float = 300,
        token_ttl_s: float = 86_400,
    ) -> SandboxProperty:
        """An account with one property: the usual start of a test."""
        account = await self.create_account(
            credit_limit=credit_limit, window_s=window_s, token_ttl_s=token_ttl_s
        )
        prop = await self.create_property(account.account_id, rooms=rooms, webhook=webhook)
        return SandboxProperty(prop["id"], account, prop["rooms"])

    async def token(self, refresh_token: str) -> str:
        """A fresh API token for the account owning `refresh_token` (costs it 1 credit)."""
        response = await self._http.get(
            f"{self.url}/authentication/token", headers={"refreshToken": refresh_token}
        )
        if response.status_code != 200:
            raise AssertionError(f"sandbox token answered {response.status_code}: {response.text}")
        return str(response.json()["token"])

    @contextlib.asynccontextmanager
    async def api_session(self, prop: SandboxProperty) -> AsyncIterator[ApiSession]:
        """An httpx client on the API base, sending a token of `prop`'s account."""
        token = await self.token(prop.account.refresh_token)
        async with httpx.AsyncClient(
            base_url=self.url, headers={"token": token}, timeout=10, verify=shared_ssl_context()
        ) as http:
            yield ApiSession(http, prop, token)

    # -- bookings -----------------------------------------------------------------------------
    async def calendar(
        self, property_id: int, room_id: int, first: date | str, last: date | str | None = None
    ) -> list[dict[str, Any]]:
        """The room's calendar per day, every field, without spending the account's credits."""
        found: list[dict[str, Any]] = await self._request(
            "GET",
            f"/properties/{property_id}/rooms/{room_id}/calendar",
            params={"from": _day(first), "to": _day(last if last is not None else first)},
        )
        return found

    async def bookings(self, property_id: int | None = None) -> list[dict[str, Any]]:
        """Every booking (cancelled too), as stored."""
        params = {"propertyId": property_id} if property_id is not None else None
        result: list[dict[str, Any]] = await self._request("GET", "/bookings", params=params)
        return result

    async def booking(self, booking_id: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", f"/bookings/{booking_id}")
        return result

    async def guest_booking(
        self,
        room_id: int,
        arrival: date | str,
        departure: date | str,
        *,
        delivery: dict[str, Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A booking made by a guest on an OTA; fires the property's webhooks."""
        payload = {
            "roomId": room_id,
            "arrival": _day(arrival),
            "departure": _day(departure),
            **fields,
        }
        if delivery is not None:
            payload["delivery"] = delivery
        result: dict[str, Any] = await self._request("POST", "/guest-bookings", json=payload)
        return result

    async def guest_group(
        self,
        rooms: list[dict[str, Any]],
        arrival: date | str,
        departure: date | str,
        *,
        delivery: dict[str, Any] | None = None,
        **fields: Any,
    ) -> list[dict[str, Any]]:
        """One OTA reservation for several rooms: a booking per entry of `rooms` (each
        `{roomId, ...fields}`), grouped under the first as master; fires webhooks."""
        payload: dict[str, Any] = {
            "rooms": rooms,
            "arrival": _day(arrival),
            "departure": _day(departure),
            **fields,
        }
        if delivery is not None:
            payload["delivery"] = delivery
        result: list[dict[str, Any]] = await self._request("POST", "/guest-groups", json=payload)
        return result

    async def modify_guest_booking(
        self, booking_id: int, *, delivery: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        payload = {k: _day(v) if isinstance(v, date) else v for k, v in fields.items()}
        if delivery is not None:
            payload["delivery"] = delivery
        result: dict[str, Any] = await self._request(
            "PATCH", f"/guest-bookings/{booking_id}", json=payload
        )
        return result

    async def cancel_guest_booking(
        self, booking_id: int, *, delivery: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        payload = {"delivery": delivery} if delivery is not None else {}
        result: dict[str, Any] = await self._request(
            "POST", f"/guest-bookings/{booking_id}/cancel", json=payload
        )
        return result

    # -- webhooks -----------------------------------------------------------------------------
    async def replay_webhook(
        self,
        booking_id: int,
        *,
        version: str = "v2",
        status: str | None = None,
        delay_s: float = 0,
        snapshot: dict[str, Any] | None = None,
        duplicates: int = 0,
        array_wrapped: bool = False,
    ) -> int:
        payload: dict[str, Any] = {
            "booking_id": booking_id,
            "version": version,
            "delay_s": delay_s,
            "duplicates": duplicates,
            "array_wrapped": array_wrapped,
        }
        if status is not None:
            payload["status"] = status
        if snapshot is not None:
            payload["snapshot"] = snapshot
        body = await self._request("POST", "/webhooks/replay", json=payload)
        return int(body["scheduled"])

    async def webhooks(self, booking_id: int | None = None) -> list[dict[str, Any]]:
        """The delivery log: one entry per attempt (or dropped delivery)."""
        params = {"booking_id": booking_id} if booking_id is not None else None
        result: list[dict[str, Any]] = await self._request("GET", "/webhooks", params=params)
        return result

    # -- faults and calls ----------------------------------------------------------------------
    async def inject_fault(
        self,
        kind: str,
        *,
        count: int = 1,
        method: str | None = None,
        path: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """kind: http_500 | timeout | credits | lost_response; extra: status, delay_s, apply."""
        payload = {"kind": kind, "count": count, **extra}
        if method is not None:
            payload["method"] = method
        if path is not None:
            payload["path"] = path
        result: dict[str, Any] = await self._request("POST", "/faults", json=payload)
        return result

    async def clear_faults(self) -> None:
        await self._request("DELETE", "/faults")

    async def calls(
        self, *, method: str | None = None, path: str | None = None
    ) -> list[dict[str, Any]]:
        """Beds24 API calls received: [{method, path, status, cost, items, fault, ...}]."""
        params = {k: v for k, v in (("method", method), ("path", path)) if v is not None}
        result: list[dict[str, Any]] = await self._request("GET", "/calls", params=params)
        return result

    async def clear_calls(self) -> None:
        await self._request("DELETE", "/calls")
