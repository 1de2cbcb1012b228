"""Random real PMS changes of a reservation, for loads in tests and benchmarks."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

# Each reservation keeps to its own slot of its room (no overbooking, whatever the changes).
SLOT_DAYS = 4


def change_sql(rng: random.Random, slot_start: date) -> tuple[str, tuple[Any, ...]]:
    """One real PMS change of a reservation (`UPDATE ... WHERE id = $1` and its further
    arguments), its dates kept inside its SLOT_DAYS slot starting at `slot_start`."""
    kind = rng.choices(
        ["adults", "notes", "dates", "email", "cancel", "reinstate"], [30, 20, 20, 14, 8, 8]
    )[0]
    if kind == "adults":
        return "UPDATE reservations SET adults = adults % 4 + 1 WHERE id = $1", ()
    if kind == "notes":
        return "UPDATE reservations SET notes = $2 WHERE id = $1", (f"note {rng.random():.6f}",)
    if kind == "email":
        return "UPDATE reservations SET guest_email = $2 WHERE id = $1", (
            f"guest{rng.randrange(10**6)}@example.org",
        )
    if kind == "dates":
        arrival = slot_start + timedelta(days=rng.randrange(2))
        departure = arrival + timedelta(
            days=1 + rng.randrange(SLOT_DAYS - 1 - (arrival - slot_start).days)
        )
        return "UPDATE reservations SET arrival = $2, departure = $3 WHERE id = $1", (
            arrival,
            departure,
        )
    status = "cancelled" if kind == "cancel" else "confirmed"
    return "UPDATE reservations SET status = $2 WHERE id = $1", (status,)
