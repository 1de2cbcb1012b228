"""A robust AMQP connection: reconnects by itself and restores channels and consumers."""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractRobustConnection


async def connect(url: str, *, client_name: str) -> AbstractRobustConnection:
    return await aio_pika.connect_robust(
        url, client_properties={"connection_name": client_name}, reconnect_interval=2
    )
