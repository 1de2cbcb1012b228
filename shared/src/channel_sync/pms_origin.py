"""Marks a transaction's PMS writes as coming from Beds24, so they are not echoed back.

The outbound capture triggers record no booking event for changes made in a transaction where
the setting `channel_sync.origin` is 'beds24' (transaction-local: it ends with the
transaction); they still record the availability change, since the nights a booking frees or
takes in Beds24 must be pushed to every channel.
"""

from __future__ import annotations

from channel_sync.db import Connection

ORIGIN_SETTING = "channel_sync.origin"
BEDS24_ORIGIN = "beds24"


async def mark_beds24_origin(conn: Connection) -> None:
    """Call inside the transaction that applies an inbound booking (no echo back)."""
    await conn.execute("SELECT set_config($1, $2, true)", ORIGIN_SETTING, BEDS24_ORIGIN)
