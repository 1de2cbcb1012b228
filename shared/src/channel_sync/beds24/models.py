"""Plain values the Beds24 client answers with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from channel_sync.beds24.errors import Beds24Rejected


@dataclass(frozen=True)
class SetupResult:
    """What an invite code is exchanged for; store `refresh_token`, it does not rotate."""

    refresh_token: str
    token: str
    expires_in: int

    def __repr__(self) -> str:  # never print credentials by accident
        return f"SetupResult(expires_in={self.expires_in}, refresh_token=***, token=***)"


@dataclass(frozen=True)
class CreditStatus:
    """The account's credit pool as of the last charged answer (`limit`: the five-minute
    limit itself, sent only under the official header name)."""

    remaining: Decimal
    resets_at: datetime
    request_cost: Decimal | None = None
    limit: Decimal | None = None


@dataclass(frozen=True)
class ItemResult:
    """Beds24's answer for one item of a batched write, in request order.

    `success: false` does not mean nothing changed: `id` is kept whenever Beds24 named one.
    """

    success: bool
    id: int | None
    action: Literal["new", "modified"] | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def raise_for_error(self) -> None:
        """Raise Beds24Rejected with Beds24's messages when the item failed."""
        if not self.success:
            reason = "; ".join(self.errors) or "Beds24 answered success: false without a reason"
            raise Beds24Rejected(f"Beds24 refused the item: {reason}", errors=self.errors)

    @classmethod
    def from_raw(cls, raw: Any) -> ItemResult:
        if not isinstance(raw, dict):
            return cls(False, None, None, [f"unexpected item answer: {raw!r:.200}"], [], {})
        action: Literal["new", "modified"] | None = None
        item_id: int | None = None
        for key in ("new", "modified"):
            part = raw.get(key)
            if isinstance(part, dict):
                action = "new" if key == "new" else "modified"
                item_id = _as_int(part.get("id", part.get("roomId")))
                break
        return cls(
            success=raw.get("success") is True,
            id=item_id,
            action=action,
            errors=_messages(raw.get("errors")),
            warnings=_messages(raw.get("warnings")),
            raw=raw,
        )


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _messages(entries: Any) -> list[str]:
    """Beds24 lists `{action, field, message}` objects (sometimes bare strings)."""
    if not entries:
        return []
    if not isinstance(entries, list):
        entries = [entries]
    out: list[str] = []
    for entry in entries:
        if isinstance(entry, dict):
            message = str(entry.get("message") or entry.get("error") or entry)
            where = entry.get("field")
            out.append(f"{where}: {message}" if where else message)
        else:
            out.append(str(entry))
    return out
