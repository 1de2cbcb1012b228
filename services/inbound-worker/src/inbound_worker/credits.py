"""Beds24 credits are per account and shared with the outbound worker
(`beds24_credit_budgets`): inbound calls report what Beds24 says is left, and hold back
while too few are left, so polling never starves outbound pushes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import asyncpg
from channel_sync.beds24 import CreditStatus
from channel_sync.errors import RetryAfter


class Credits:
    def __init__(self, pool: asyncpg.Pool, *, reserve: float) -> None:
        self._pool = pool
        self._reserve = Decimal(str(reserve))

    async def check(self, account_id: str) -> None:
        """Raise RetryAfter (not counted as an attempt) while the account is low."""
        async with self._pool.acquire() as conn:
            resets_at: datetime | None = await conn.fetchval(
                """SELECT resets_at FROM beds24_credit_budgets
                   WHERE account_id = $1 AND remaining < $2 AND resets_at > now()""",
                account_id,
                self._reserve,
            )
        if resets_at is not None:
            raise RetryAfter(
                f"Beds24 credits for account {account_id} low until {resets_at:%H:%M:%S}Z",
                resets_at,
            )

    async def record(self, account_id: str, status: CreditStatus) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                """INSERT INTO beds24_credit_budgets (account_id, remaining, resets_at)
                   VALUES ($1, $2, $3)
                   ON CONFLICT (account_id) DO UPDATE
                   SET remaining = EXCLUDED.remaining, resets_at = EXCLUDED.resets_at,
                       updated_at = now()""",
                account_id,
                status.remaining,
                status.resets_at,
            )

    async def exhausted(self, account_id: str, until: datetime) -> None:
        await self.record(account_id, CreditStatus(remaining=Decimal(0), resets_at=until))
