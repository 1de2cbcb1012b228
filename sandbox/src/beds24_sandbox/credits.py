"""Credits per account: a fixed window (default 100 credits per 300 s) opened by the first
charged call, and the cost model the README documents."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

AUTH_COST = Decimal("1")
READ_BASE = Decimal("1")
READ_PER_RECORD = Decimal("0.005")  # a page of 100 bookings costs 1.5
WRITE_BASE = Decimal("1")
WRITE_PER_ITEM = Decimal("0.01")  # a batch of 100 items costs 2


def read_cost(records: int) -> Decimal:
    return _round(READ_BASE + READ_PER_RECORD * records)


def write_cost(items: int) -> Decimal:
    return _round(WRITE_BASE + WRITE_PER_ITEM * items)


def _round(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class CreditPool:
    limit: Decimal
    window_s: float
    clock: Callable[[], float] = time.monotonic
    used: Decimal = Decimal("0")
    refused: int = 0
    window_start: float | None = None

    def _roll(self) -> None:
        if self.window_start is not None and self.clock() >= self.window_start + self.window_s:
            self.window_start = None
            self.used = Decimal("0")

    @property
    def remaining(self) -> Decimal:
        self._roll()
        return max(self.limit - self.used, Decimal("0"))

    @property
    def resets_in(self) -> float:
        self._roll()
        if self.window_start is None:
            return self.window_s
        return max(self.window_start + self.window_s - self.clock(), 0.0)

    def can_afford(self, cost: Decimal) -> bool:
        return cost <= 0 or self.remaining >= cost

    def refuse(self) -> None:
        self.refused += 1

    def charge(self, cost: Decimal) -> None:
        self._roll()
        if cost <= 0:
            return
        if self.window_start is None:
            self.window_start = self.clock()
        self.used += cost

    def headers(self, cost: Decimal, style: str) -> dict[str, str]:
        """The credit headers: the three seen live (lower-case names), or the four the
        official file names (the limit itself too), or both sets, or none."""
        remaining = f"{self.remaining.normalize():f}"
        resets_in = f"{round(self.resets_in)}"
        spent = f"{cost.normalize():f}"
        out: dict[str, str] = {}
        if style in ("live", "both"):
            out.update(
                {
                    "x-five-min-limit-remaining": remaining,
                    "x-five-min-limit-resets-in": resets_in,
                    "x-request-cost": spent,
                }
            )
        if style in ("openapi", "both"):
            out.update(
                {
                    "X-FiveMinCreditLimit": f"{self.limit.normalize():f}",
                    "X-FiveMinCreditLimit-Remaining": remaining,
                    "X-FiveMinCreditLimit-ResetsIn": resets_in,
                    "X-RequestCost": spent,
                }
            )
        return out
