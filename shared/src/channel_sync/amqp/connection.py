"""A robust AMQP connection: reconnects by itself and restores channels and consumers."""

from __future__ import annotations

import contextlib
from typing import Any

import aio_pika
from aio_pika.abc import AbstractRobustConnection


class _ClosedOnFailure(aio_pika.RobustConnection):
    """A connection whose first connect, when it fails, closes it before raising:
    `connect_robust` would drop it unclosed, and its finaliser then schedules a close on
    whatever loop happens to collect it (one in another thread never runs it)."""

    async def connect(self, timeout: Any = None) -> None:
        try:
            await super().connect(timeout=timeout)
        except BaseException:
            with contextlib.suppress(Exception):
                await self.close()
            raise


async def connect(url: str, *, client_name: str) -> AbstractRobustConnection:
    return await aio_pika.connect_robust(
        url,
        client_properties={"connection_name": client_name},
        reconnect_interval=2,
        connection_class=_ClosedOnFailure,
    )
