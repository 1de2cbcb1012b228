"""Wait for a condition with a deadline: tests never sleep a fixed time and hope."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_for(
    probe: Callable[[], Awaitable[T]],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Call `probe` until it returns something truthy; raise AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)  # sleep-ok: polling interval under a deadline
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


@contextlib.asynccontextmanager
async def sampled_while(
    sample: Callable[[], Awaitable[None]], interval: float
) -> AsyncIterator[None]:
    """Call `sample` every `interval` seconds while the block runs, and once more at its end
    (peaks of what a run holds: connections, servers)."""
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            await sample()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await stop.wait()

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        stop.set()
        await task
        await sample()
