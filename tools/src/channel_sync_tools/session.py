"""One run on its own stack: a database made anew, the sandbox and the four services
started against it, a connection to it and the clients of the stack."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx

from channel_sync_tools.api import StackApi
from channel_sync_tools.stack import (
    BASE_DSN,
    DEFAULT_PORTS,
    Ports,
    Stack,
    fresh_database,
    running_stack,
)


@dataclass(frozen=True)
class Session:
    stack: Stack
    api: StackApi
    db: asyncpg.Connection
    dsn: str


@contextlib.asynccontextmanager
async def stack_session(
    label: str, admin_token: str, ports: Ports = DEFAULT_PORTS, **extra_env: str
) -> AsyncIterator[Session]:
    """Database `channel_sync_<label>` beside DATABASE_URL's, the stack on `ports` (its
    logs `.run/<label>-*.log`), the admin API's token `admin_token`."""
    dsn = await fresh_database(BASE_DSN, f"channel_sync_{label.replace('-', '_')}")
    async with running_stack(label, dsn, ports, ADMIN_API_TOKEN=admin_token, **extra_env) as stack:
        db = await asyncpg.connect(dsn)
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                yield Session(stack, StackApi(http, ports, admin_token), db, dsn)
        finally:
            await db.close()
