"""One Beds24 credit budget per account, shared by every replica of every service
(table `beds24_credit_budgets`).

Beds24 grants each account a pool of credits per five-minute window and refuses calls past
it. Each answer reports what is left and when the window resets (a client's `on_credits`
feeds `record`). Before a call, `spend` takes one credit from the shared row; when fewer
than the reserve are left it waits for the reset (up to `max_wait_s`) instead of being
refused. A refusal anyway (`exhausted`) empties the budget until Beds24's reset time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import asyncpg

from channel_sync.beds24.errors import Beds24CreditsExhausted
from channel_sync.beds24.models import CreditStatus
from channel_sync.errors import RetryAfter

logger = logging.getLogger(__name__)

# A small margin past the announced reset, so the first call lands in the new window.
RESET_MARGIN = timedelta(milliseconds=250)
# Credits one call is assumed to cost until Beds24's answer says what is really left.
CALL_ESTIMATE = Decimal(1)

T = TypeVar("T")


class CreditBudget:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        reserve: float,
        max_wait_s: float,
        on_wait: Callable[[], object] | None = None,
    ) -> None:
        """`max_wait_s=0`: never wait, raise RetryAfter at once while low. `on_wait` is
        called each time a call waits for a reset (a metric of the caller's)."""
        self._pool = pool
        self._reserve = Decimal(str(reserve))
        self._max_wait = timedelta(seconds=max_wait_s)
        self._on_wait = on_wait
        self._stopping = asyncio.Event()

    def stop_waiting(self) -> None:
        """The service stops: calls waiting for a reset give up (RetryAfter) at once."""
        self._stopping.set()

    async def call(self, account_id: str, request: Callable[[], Awaitable[T]]) -> T:
        """Make one Beds24 call within the budget; a refusal for credits anyway empties the
        budget until Beds24's reset and is raised (a RetryAfter, not counted as an attempt)."""
        await self.spend(account_id)
        try:
            return await request()
        except Beds24CreditsExhausted as exc:
            await self.exhausted(account_id, exc.not_before)
            raise

    async def spend(self, account_id: str) -> None:
        """Take one call's credits, waiting for the window to reset while too few are left.

        Raises RetryAfter (not counted as an attempt) when the wait would be too long."""
        while True:
            resets_at = await self._try_spend(account_id)
            if resets_at is None:
                return
            wait = resets_at + RESET_MARGIN - datetime.now(UTC)
            low = RetryAfter(
                f"Beds24 credits for account {account_id} low until {resets_at:%H:%M:%S}Z",
                resets_at + RESET_MARGIN,
            )
            if wait > self._max_wait or self._stopping.is_set():
                raise low
            if self._on_wait is not None:
                self._on_wait()
            logger.info(
                "credits low for account %s: waiting %.1f s for the reset",
                account_id,
                wait.total_seconds(),
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait.total_seconds(), 0.05)):
                    await self._stopping.wait()
                    raise low

    async def _try_spend(self, account_id: str) -> datetime | None:
        """None if a call may go now (credits taken); else when the window resets."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                """INSERT INTO beds24_credit_budgets (account_id) VALUES ($1)
                   ON CONFLICT (account_id) DO UPDATE SET account_id = EXCLUDED.account_id
                   RETURNING remaining, resets_at, resets_at <= now() AS expired""",
                account_id,
            )
            assert row is not None
            if row["remaining"] is None or row["resets_at"] is None or row["expired"]:
                # A new window: unknown until Beds24 answers; let this call find out.
                await conn.execute(
                    """UPDATE beds24_credit_budgets SET remaining = NULL, updated_at = now()
                       WHERE account_id = $1""",
                    account_id,
                )
                return None
            if row["remaining"] - CALL_ESTIMATE >= self._reserve:
                await conn.execute(
                    """UPDATE beds24_credit_budgets SET remaining = remaining - $2,
                           updated_at = now() WHERE account_id = $1""",
                    account_id,
                    CALL_ESTIMATE,
                )
                return None
            resets_at: datetime = row["resets_at"]
            return resets_at

    async def record(self, account_id: str, status: CreditStatus) -> None:
        """What Beds24's latest answer says is left (a client's on_credits callback)."""
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
        """Beds24 refused for credits: nothing more until its reset."""
        await self.record(account_id, CreditStatus(remaining=Decimal(0), resets_at=until))

    def recorder(self, account_id: str) -> Callable[[CreditStatus], Awaitable[None]]:
        """An `on_credits` callback recording one account's answers into this budget."""

        async def record(status: CreditStatus) -> None:
            await self.record(account_id, status)

        return record
