"""A PMS property's Beds24 side (its `beds24_properties` row): the one model and the one
query every service reads it with."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from channel_sync.beds24.accounts import Account
from channel_sync.db import Connection


@dataclass(frozen=True)
class PropertyLink:
    """A PMS property's Beds24 side: its Beds24 property id and the account it draws on."""

    beds24_property_id: int
    account: Account


async def links_of(conn: Connection, property_ids: list[UUID]) -> dict[UUID, PropertyLink]:
    """The Beds24 side of each connected property among `property_ids`."""
    rows = await conn.fetch(
        # One token per account (the latest stored), so its client is not swapped back
        # and forth between properties sharing the account.
        """SELECT property_id, beds24_property_id, account_id, refresh_token FROM (
               SELECT property_id, beds24_property_id, account_id,
                      first_value(refresh_token) OVER (
                          PARTITION BY account_id ORDER BY updated_at DESC, property_id
                      ) AS refresh_token
               FROM beds24_properties) accounts
           WHERE property_id = ANY($1::uuid[])""",
        property_ids,
    )
    return {
        r["property_id"]: PropertyLink(
            r["beds24_property_id"], Account(r["account_id"], r["refresh_token"])
        )
        for r in rows
    }


async def link_of(conn: Connection, property_id: UUID) -> PropertyLink | None:
    """The property's Beds24 side; None while it is not connected."""
    return (await links_of(conn, [property_id])).get(property_id)
