"""One Beds24 credit budget per account, shared by every replica of every service
(table `beds24_credit_budgets`).

Beds24 grants each account a pool of credits per five-minute window and refuses calls past
it. Each answer reports what is left and when the window resets (a client's `on_credits`
feeds `record`). Before each HTTP request (a client's `before_send` is `gate`), `spend` takes
the request's estimated cost from the shared row; when that would leave less than the
reserve it waits for the reset (up to `max_wait_s`) instead of being refused. A refusal
anyway (`exhausted`) empties the budget until Beds24's reset time and is counted.
`pause_s` tells a batching caller how long to gather so the credits left last until the
reset, and records it for every replica (`paced_s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg

from channel_sync.beds24.errors import Beds24CreditsExhausted
from channel_sync.beds24.models import CreditStatus
from channel_sync.errors import RetryAfter
from channel_sync.metrics import BEDS24_CREDIT_REFUSALS

logger = logging.getLogger(__name__)

# A small margin past the announced reset, so the first call lands in the new window.
RESET_MARGIN = timedelta(milliseconds=250)
# Credits one request is assumed to cost until Beds24's answer says what is really left
# (docs/beds24.md#credits: about 1 per call, 1.5 for a page of 100 bookings, more for big writes).
CALL_ESTIMATE = Decimal(1)
PAGE_ESTIMATE = Decimal("1.5")
PER_ITEM_ESTIMATE = Decimal("0.01")


def request_cost(method: str, path: str, json: Any = None) -> Decimal:
    """What one request is expected to cost: a read a full page, a write per item."""
    if path == "/authentication/details":
        return Decimal(0)  # free
    if method == "GET":
        return CALL_ESTIMATE if path.startswith("/authentication/") else PAGE_ESTIMATE
    items = len(json) if isinstance(json, list) else 1
    return CALL_ESTIMATE + PER_ITEM_ESTIMATE * items


T = TypeVar("T")


class CreditBudget:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        reserve: float,
        max_wait_s: float,
        on_wait: Callable[[float], object] | None = None,
        on_spend: Callable[[], object] | None = None,
    ) -> None:
        """`max_wait_s=0`: never wait, raise RetryAfter at once while low. `on_wait` is
        called with the seconds each time a call waits for a reset (a caller's metric, and
        its progress record: the wait is known, not a stall); `on_spend` each time a call
        is let through (work moving)."""
        self._pool = pool
        self._reserve = Decimal(str(reserve))
        self._max_wait = timedelta(seconds=max_wait_s)
        self._on_wait = on_wait
        self._on_spend = on_spend
        self._stopping = asyncio.Event()

    def stop_waiting(self) -> None:
        """The service stops: calls waiting for a reset give up (RetryAfter) at once."""
        self._stopping.set()

    async def call(self, account_id: str, request: Callable[[], Awaitable[T]]) -> T:
        """Make Beds24 calls with a client gated by this budget (`gate`, which takes each
        request's credits); a refusal for credits anyway empties the budget until Beds24's
        reset and is raised (a RetryAfter, not counted as an attempt)."""
        try:
            return await request()
        except Beds24CreditsExhausted as exc:
            await self.exhausted(account_id, exc.not_before)
            raise

    def gate(self, account_id: str) -> Callable[[str, str, Any], Awaitable[None]]:
        """A client's `before_send`: each request first takes its estimated credits."""

        async def before_send(method: str, path: str, json: Any) -> None:
            cost = request_cost(method, path, json)
            if cost > 0:
                await self.spend(account_id, cost)

        return before_send

    async def spend(self, account_id: str, cost: Decimal = CALL_ESTIMATE) -> None:
        """Take one request's credits, waiting for the window to reset while too few are
        left.

        Raises RetryAfter (not counted as an attempt) when the wait would be too long."""
        while True:
            resets_at = await self._try_spend(account_id, cost)
            if resets_at is None:
                if self._on_spend is not None:
                    self._on_spend()
                return
            wait = resets_at + RESET_MARGIN - datetime.now(UTC)
            low = RetryAfter(
                f"Beds24 credits for account {account_id} low until {resets_at:%H:%M:%S}Z",
                resets_at + RESET_MARGIN,
            )
            if wait > self._max_wait or self._stopping.is_set():
                raise low
            if self._on_wait is not None:
                self._on_wait(wait.total_seconds())
            logger.info(
                "credits low for account %s: waiting %.1f s for the reset",
                account_id,
                wait.total_seconds(),
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait.total_seconds(), 0.05)):
                    await self._stopping.wait()
                    raise low

    async def _try_spend(self, account_id: str, cost: Decimal) -> datetime | None:
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
            if row["remaining"] - cost >= self._reserve:
                await conn.execute(
                    """UPDATE beds24_credit_budgets SET remaining = remaining - $2,
                           updated_at = now() WHERE account_id = $1""",
                    account_id,
                    cost,
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
        BEDS24_CREDIT_REFUSALS.inc()
        logger.warning("Beds24 refused a call of account %s for credits", account_id)
        await self.record(account_id, CreditStatus(remaining=Decimal(0), resets_at=until))

    def recorder(self, account_id: str) -> Callable[[CreditStatus], Awaitable[None]]:
        """An `on_credits` callback recording one account's answers into this budget."""

        async def record(status: CreditStatus) -> None:
            await self.record(account_id, status)

        return record

    async def pause_s(
        self, account_ids: Collection[str], *, batch_cost: float, short_below: float
    ) -> float:
        """How long a batching caller should gather before its next batch so that, at
        `batch_cost` credits a batch, no account runs dry before its window resets: 0 while
        every account has `short_below` credits or more to spend; else the credits left
        spread evenly over the time left (the most pressed account decides).

        Asked after a batch; the pause is also recorded for the accounts (`paced_until`),
        so that every replica's next batch for them waits as long (`paced_s`)."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT remaining, extract(epoch FROM resets_at - now()) AS left_s
                   FROM beds24_credit_budgets WHERE account_id = ANY($1::text[])
                     AND remaining IS NOT NULL AND resets_at > now()""",
                list(account_ids),
            )
            pause = 0.0
            for row in rows:
                spendable = float(row["remaining"] - self._reserve)
                if spendable >= short_below:
                    continue
                left_s = float(row["left_s"]) + RESET_MARGIN.total_seconds()
                pause = max(
                    pause, left_s if spendable < batch_cost else batch_cost * left_s / spendable
                )
            # A pause of 0 clears an earlier one still running (the credits are back: a new
            # window); with none to clear, the common case writes nothing.
            await conn.execute(
                """UPDATE beds24_credit_budgets
                   SET paced_until = now() + make_interval(secs => $2)
                   WHERE account_id = ANY($1::text[]) AND ($2 > 0 OR paced_until > now())""",
                list(account_ids),
                pause,
            )
        return pause

    async def paced_s(self, account_ids: Collection[str]) -> float:
        """How long a batch for these accounts must still wait for the pause a batch of any
        replica recorded (`pause_s`); 0 when none holds."""
        async with self._pool.acquire() as conn:
            held = await conn.fetchval(
                """SELECT max(extract(epoch FROM paced_until - now()))
                   FROM beds24_credit_budgets
                   WHERE account_id = ANY($1::text[]) AND paced_until > now()""",
                list(account_ids),
            )
        return 0.0 if held is None else float(held)
