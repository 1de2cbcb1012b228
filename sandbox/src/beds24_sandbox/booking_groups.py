"""Booking groups: bookings sharing a `masterId` (the master's own id). `actions.makeGroup`
joins the new bookings of one POST; `masterId` can be written to join or (null) leave a
group; `bookingGroup {master, ids}` is derived, never stored."""

from __future__ import annotations

from typing import Any

from beds24_sandbox.state import SandboxState


def group_of(state: SandboxState, booking: dict[str, Any]) -> dict[str, Any] | None:
    master = booking.get("masterId")
    if master is None:
        return None
    ids = sorted(
        b["id"] for b in state.bookings.values() if b.get("masterId") == master or b["id"] == master
    )
    return {"master": master, "ids": ids}


def make_group(bookings: list[dict[str, Any]]) -> None:
    """Join these new bookings in one group; the first is the master."""
    if not bookings:
        return
    master = bookings[0]["id"]
    for booking in bookings:
        booking["masterId"] = master


def check_master(
    state: SandboxState, master_id: int | None, owner_of: Any, account_id: int | None
) -> str | None:
    """Why `masterId` cannot name this booking (None when it can, or when it is null)."""
    if master_id is None:
        return None
    master = state.bookings.get(master_id)
    if master is None or (account_id is not None and owner_of(master) != account_id):
        return f"masterId {master_id} is not a booking of this account"
    return None


def adopt_master(state: SandboxState, master_id: int | None) -> None:
    """Joining a group led by a booking not yet in one makes that booking its master."""
    if master_id is not None and state.bookings[master_id].get("masterId") is None:
        state.bookings[master_id]["masterId"] = master_id
