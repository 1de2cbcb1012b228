"""The sandbox's whole world in memory: accounts, credentials, properties, rooms, bookings,
calendar settings, faults and logs. One re-entrant lock guards every change, and no code
awaits while holding it, so concurrent requests see consistent state."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from beds24_sandbox.credits import CreditPool

INVITE_TTL_S = 24 * 3600


@dataclass
class Config:
    """Knobs a test may turn with `POST /_sandbox/config`."""

    page_size: int = 100
    credit_headers: str = "live"  # live | openapi | both | none
    api_webhooks: str = "allowWebhooks"  # allowWebhooks | always | never
    zero_without_price: bool = False  # Beds24 shows 0 inventory on days without a price
    api_reference_writable: bool = True  # False: API writes ignore apiReference (unconfirmed)
    webhook_retry_delays_s: list[float] = field(default_factory=lambda: [1.0, 2.0, 4.0])
    webhook_timeout_s: float = 5.0
    # Set (`YYYY-MM-DDTHH:MM:SSZ`): every change gets this modifiedTime, as two versions
    # saved within one second do on Beds24 (whole seconds). None: the clock, always later.
    frozen_modified_time: str | None = None

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise ValueError(f"unknown config key {key!r}")
            if key == "frozen_modified_time" and value is not None:
                datetime.fromisoformat(str(value).replace("Z", "+00:00"))  # ValueError: 400
            setattr(self, key, value)


@dataclass
class Account:
    id: int
    refresh_token: str
    token_ttl_s: float
    pool: CreditPool
    device_name: str = ""  # the `deviceName` given when the invite code was redeemed


@dataclass
class Token:
    account_id: int
    expires_at: float
    created: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))


@dataclass
class Room:
    id: int
    property_id: int
    name: str
    qty: int
    units: list[dict[str, Any]]
    # The room's own stay limits: the calendar shows them on days that set none.
    min_stay: int = 1
    max_stay: int = 365

    def public(self) -> dict[str, Any]:
        """As `GET /properties?includeAllRooms=true` lists it in `roomTypes`."""
        return {
            "id": self.id,
            "propertyId": self.property_id,
            "name": self.name,
            "qty": self.qty,
            "minStay": self.min_stay,
            "maxStay": self.max_stay,
            "units": list(self.units),
        }


@dataclass
class WebhookConfig:
    urls: list[str] = field(default_factory=list)
    custom_header: str = ""
    version: str = "twoWithPersonalData"  # twoWithPersonalData | twoNoPersonalData | one

    def public(self) -> dict[str, Any]:
        return {
            "urls": list(self.urls),
            "custom_header": self.custom_header,
            "version": self.version,
        }


@dataclass
class Property:
    id: int
    account_id: int
    name: str
    currency: str
    rooms: dict[int, Room]
    webhook: WebhookConfig

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "account_id": self.account_id,
            "name": self.name,
            "currency": self.currency,
            "rooms": [r.public() for r in self.rooms.values()],
            "webhook": self.webhook.public(),
        }


class SandboxState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        with self.lock:
            self.config = Config()
            self._account_ids = itertools.count(1)
            self._property_ids = itertools.count(100_001)
            self._room_ids = itertools.count(200_001)
            self._booking_ids = itertools.count(50_000_001)
            self._info_item_ids = itertools.count(9_000_001)
            self.accounts: dict[int, Account] = {}
            self.refresh_tokens: dict[str, int] = {}
            self.invite_codes: dict[str, tuple[int, float]] = {}
            self.tokens: dict[str, Token] = {}
            self.properties: dict[int, Property] = {}
            self.rooms: dict[int, Room] = {}
            self.bookings: dict[int, dict[str, Any]] = {}
            # Pushed calendar settings per (roomId, day).
            self.calendar: dict[tuple[int, date], dict[str, Any]] = {}
            self.calls: list[dict[str, Any]] = []

    # -- accounts and credentials ---------------------------------------------------------
    def create_account(self, credit_limit: float, window_s: float, token_ttl_s: float) -> Account:
        with self.lock:
            account = Account(
                id=next(self._account_ids),
                refresh_token=secrets.token_urlsafe(24),
                token_ttl_s=token_ttl_s,
                pool=CreditPool(limit=Decimal(str(credit_limit)), window_s=window_s),
            )
            self.accounts[account.id] = account
            self.refresh_tokens[account.refresh_token] = account.id
            return account

    def new_invite_code(self, account_id: int) -> str:
        with self.lock:
            code = secrets.token_urlsafe(16)
            self.invite_codes[code] = (account_id, time.monotonic() + INVITE_TTL_S)
            return code

    def redeem_invite_code(self, code: str) -> Account | None:
        """One use per code; a redeemed code answers with the account's refresh token."""
        with self.lock:
            entry = self.invite_codes.pop(code, None)
            if entry is None or entry[1] < time.monotonic():
                return None
            return self.accounts.get(entry[0])

    def issue_token(self, account: Account) -> tuple[str, int]:
        with self.lock:
            token = secrets.token_urlsafe(24)
            self.tokens[token] = Token(account.id, time.monotonic() + account.token_ttl_s)
            return token, int(account.token_ttl_s)

    def account_for_token(self, token: str | None) -> Account | None:
        with self.lock:
            entry = self.tokens.get(token or "")
            if entry is None or entry.expires_at <= time.monotonic():
                return None
            return self.accounts.get(entry.account_id)

    def expire_tokens(self, account_id: int) -> int:
        with self.lock:
            doomed = [t for t, e in self.tokens.items() if e.account_id == account_id]
            for token in doomed:
                del self.tokens[token]
            return len(doomed)

    def revoke_refresh_token(self, refresh_token: str) -> bool:
        with self.lock:
            return self.refresh_tokens.pop(refresh_token, None) is not None

    # -- properties -------------------------------------------------------------------------
    def create_property(
        self,
        account_id: int,
        name: str,
        currency: str,
        rooms: list[dict[str, Any]],
        webhook: WebhookConfig,
    ) -> Property:
        with self.lock:
            prop = Property(next(self._property_ids), account_id, name, currency, {}, webhook)
            for spec in rooms:
                room_id = next(self._room_ids)
                qty = int(spec.get("qty", 1))
                units = [
                    {"id": i, "name": f"{spec.get('name', 'Room')} {i}"} for i in range(1, qty + 1)
                ]
                room = Room(
                    room_id,
                    prop.id,
                    str(spec.get("name", f"Room {room_id}")),
                    qty,
                    units,
                    min_stay=int(spec.get("minStay", 1)),
                    max_stay=int(spec.get("maxStay", 365)),
                )
                prop.rooms[room_id] = room
                self.rooms[room_id] = room
            self.properties[prop.id] = prop
            return prop

    def properties_of(self, account_id: int) -> list[Property]:
        with self.lock:
            return [p for p in self.properties.values() if p.account_id == account_id]

    def room_of_account(self, room_id: int, account_id: int | None) -> Room | None:
        """The room, if it exists and (when an account is given) belongs to that account."""
        with self.lock:
            room = self.rooms.get(room_id)
            if room is None:
                return None
            owner = self.properties[room.property_id].account_id
            return room if account_id is None or owner == account_id else None

    def next_booking_id(self) -> int:
        with self.lock:
            return next(self._booking_ids)

    def next_info_item_id(self) -> int:
        with self.lock:
            return next(self._info_item_ids)

    def owner_of(self, booking: dict[str, Any]) -> int:
        return self.properties[booking["propertyId"]].account_id

    def log_call(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.calls.append(entry)
