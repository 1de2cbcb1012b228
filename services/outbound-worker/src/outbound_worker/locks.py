"""Entity locks across replicas: one worker at a time reads and writes a given reservation
or Beds24 room, so a newer state can never be overtaken by an older one in flight.

Transaction-level advisory locks on a connection held for the whole batch: they lock no
PMS row (PMS writers never wait on us) and vanish if the worker dies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


@asynccontextmanager
async def entity_locks(pool: asyncpg.Pool, keys: list[str]) -> AsyncIterator[set[str]]:
    """Try to lock each key without waiting; yields the keys this worker now holds."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """SELECT key, pg_try_advisory_xact_lock(hashtextextended(key, 0)) AS held
               FROM unnest($1::text[]) AS key""",
            sorted(set(keys)),
        )
        yield {row["key"] for row in rows if row["held"]}


def account_key(account_id: str) -> str:
    """One replica at a time sends an account's batch (`handler`: it takes in the
    account's events other replicas were handed, so replicas batch as one worker does)."""
    return f"outbound:account:{account_id}"


def booking_key(reservation_id: object) -> str:
    return f"outbound:booking:{reservation_id}"


def room_key(beds24_room_id: str) -> str:
    return f"outbound:availability:{beds24_room_id}"


def stay_key(stay_id: object) -> str:
    return f"outbound:stay:{stay_id}"
