"""Creates whose answer was lost, resolved for a whole batch at once: did Beds24 make them?

Every booking a lost create made was modified in Beds24 after the create was noted. So ONE
search per Beds24 property (bookings modified since the oldest note of the batch, minus a
margin for clocks, every status, with info items, all pages) is matched against every
pending reference of the batch: a reference found names its booking, one not found was not
created. A 200-item batch costs about two or three pages (1.5 credits each). Only a note
older than the bulk look-back (the search would list too much) is looked up on its own.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from channel_sync.beds24 import Beds24Client
from channel_sync.beds24.credit_budget import CreditBudget
from channel_sync.references import (
    REFERENCE_INFO_CODE,
    reservation_of_info_items,
    reservation_of_reference,
    reservation_reference,
)

logger = logging.getLogger(__name__)

# Beds24's clock against ours, and a note committed a moment before its create was sent.
CLOCK_MARGIN = timedelta(minutes=2)
# Notes older than this are looked up one by one: a bulk search would list too many bookings.
BULK_LOOKBACK = timedelta(days=1)


@dataclass(frozen=True)
class UnknownCreate:
    """A reservation whose earlier create may or may not have made a Beds24 booking."""

    reservation_id: UUID
    beds24_property_id: int
    noted_at: datetime


async def resolve(
    budget: CreditBudget, account_id: str, client: Beds24Client, unknown: Iterable[UnknownCreate]
) -> dict[UUID, int | None]:
    """The Beds24 booking each earlier create made (None: it made none). Raises the
    Beds24Error or RetryAfter of a search that failed: then nothing is decided."""
    now = datetime.now(UTC)
    in_bulk: dict[int, list[UnknownCreate]] = defaultdict(list)
    one_by_one: list[UnknownCreate] = []
    for create in unknown:
        if create.noted_at >= now - BULK_LOOKBACK:
            in_bulk[create.beds24_property_id].append(create)
        else:
            one_by_one.append(create)
    made: dict[UUID, int | None] = {}
    for property_id, creates in in_bulk.items():
        since = min(c.noted_at for c in creates) - CLOCK_MARGIN
        search = partial(
            client.get_bookings,
            property_ids=[property_id],
            statuses="all",
            modified_from=since,
            include_info_items=True,
        )
        found = await budget.call(account_id, search)
        carrying = _bookings_by_reservation(found)
        for create in creates:
            made[create.reservation_id] = _pick(create.reservation_id, carrying)
        logger.info(
            "resolved %d creates of unknown outcome with one search (%d found made)",
            len(creates),
            sum(1 for c in creates if made[c.reservation_id] is not None),
        )
    for create in one_by_one:
        reference = reservation_reference(create.reservation_id)
        look_up = partial(
            client.find_bookings_by_reference,
            reference,
            property_id=create.beds24_property_id,
            info_code=REFERENCE_INFO_CODE,
            info_since=create.noted_at - CLOCK_MARGIN,
        )
        found = await budget.call(account_id, look_up)
        made[create.reservation_id] = _pick(create.reservation_id, _bookings_by_reservation(found))
    return made


def _bookings_by_reservation(bookings: list[dict[str, Any]]) -> dict[UUID, list[int]]:
    """Our bookings among `bookings`, by the reservation their apiReference or info item
    names (Beds24 may drop apiReference on API writes: the info item carries it too)."""
    carrying: dict[UUID, list[int]] = defaultdict(list)
    for booking in bookings:
        booking_id = booking.get("id")
        if not isinstance(booking_id, int):
            continue
        reservation = reservation_of_reference(
            booking.get("apiReference")
        ) or reservation_of_info_items(booking.get("infoItems"))
        if reservation is not None:
            carrying[reservation].append(booking_id)
    return carrying


def _pick(reservation_id: UUID, carrying: dict[UUID, list[int]]) -> int | None:
    ids = sorted(set(carrying.get(reservation_id, [])))
    if len(ids) > 1:
        logger.warning(
            "%d Beds24 bookings carry the reference of reservation %s; adopting %d",
            len(ids),
            reservation_id,
            ids[0],
        )
    return ids[0] if ids else None
