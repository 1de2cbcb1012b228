"""Marks a transaction's PMS writes as coming from Beds24, so they are not echoed back.

The outbound capture triggers record no booking event for changes made in a transaction where
the setting `channel_sync.origin` is 'beds24' (transaction-local: it ends with the
transaction); they still record the availability change, since the nights a booking frees or
takes in Beds24 must be pushed to every channel.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from channel_sync.db import Connection

ORIGIN_SETTING = "channel_sync.origin"
CAPTURE_DEFERRED_SETTING = "channel_sync.capture_deferred"
BEDS24_ORIGIN = "beds24"


async def mark_beds24_origin(conn: Connection) -> None:
    """Call inside the transaction that applies an inbound booking (no echo back)."""
    await conn.execute("SELECT set_config($1, $2, true)", ORIGIN_SETTING, BEDS24_ORIGIN)


@contextlib.asynccontextmanager
async def pms_origin(conn: Connection) -> AsyncIterator[None]:
    """Inside a Beds24-marked transaction, record what the PMS decided as the PMS's (e.g. the
    PMS's state sent after it won a difference); the mark is restored on the way out."""
    previous = await conn.fetchval("SELECT current_setting($1, true)", ORIGIN_SETTING)
    await conn.execute("SELECT set_config($1, '', true)", ORIGIN_SETTING)
    try:
        yield
    finally:
        await conn.execute("SELECT set_config($1, $2, true)", ORIGIN_SETTING, previous or "")


@contextlib.asynccontextmanager
async def capture_deferred(conn: Connection) -> AsyncIterator[None]:
    """Inside a Beds24-marked transaction: the capture trigger skips the rows written in
    the block (its per-row cost is most of an insert's), and the caller records their
    availability itself (`record_availability_spans`). Only for Beds24's writes, which
    are never echoed as bookings: availability is all the trigger would record for them."""
    await conn.execute("SELECT set_config($1, 'on', true)", CAPTURE_DEFERRED_SETTING)
    try:
        yield
    finally:
        await conn.execute("SELECT set_config($1, '', true)", CAPTURE_DEFERRED_SETTING)
