"""Guest personal data in event payloads, hidden until the operator asks to see it.

Keys are matched without case, underscores or dashes, at any depth (a Beds24 booking, a
webhook envelope or a PMS reservation alike); whatever sits under such a key (a string, a
list of guests, a whole address object) is hidden.
"""

from __future__ import annotations

from typing import Any

from channel_sync import pms_fields

MASK = "••••••"


def _folded(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


# The PMS reservation's personal fields (channel_sync.pms_fields), and what else a Beds24
# booking or webhook may carry about a guest.
PERSONAL_KEYS = frozenset(_folded(key) for key in pms_fields.PERSONAL_KEYS) | frozenset(
    {
        "name",
        "guestname",
        "fax",
        "state",
        "zip",
        "company",
        "message",
        "guestcomments",
        "guests",
        "custom1",
        "custom2",
        "custom3",
        "custom4",
        "custom5",
        "custom6",
        "custom7",
        "custom8",
        "custom9",
        "custom10",
        "dateofbirth",
        "passport",
        "idnumber",
    }
)


def _personal(key: str) -> bool:
    return _folded(key) in PERSONAL_KEYS


def mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (MASK if _personal(str(k)) and v not in (None, "") else mask(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def has_personal(value: Any) -> bool:
    return bool(mask(value) != value)


def masked_name(first: str | None, last: str | None) -> str | None:
    """A guest's name as a dead letter shows it: each part's first letter, the rest hidden
    (enough to tell two stays apart, not to name anyone)."""
    parts = [p.strip() for p in (first, last) if p and p.strip()]
    return " ".join(p[0] + MASK for p in parts) or None
