"""What the route handlers use, built once by the app's lifespan (the composition root)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, TypeVar

import asyncpg
from channel_sync.amqp.link import BrokerLink
from channel_sync.db import Connection
from starlette.requests import Request

from admin_api.auth import Authenticator
from admin_api.beds24_access import Beds24Access
from admin_api.onboarding import Onboarding
from admin_api.queries.events import EventAdmin
from admin_api.requeue import Requeuer
from admin_api.settings import AdminSettings

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Deps:
    settings: AdminSettings
    pool: asyncpg.Pool
    amqp: BrokerLink
    events: EventAdmin
    requeuer: Requeuer
    beds24: Beds24Access
    onboarding: Onboarding
    authenticator: Authenticator

    async def query(
        self,
        query: Callable[Concatenate[Connection, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """One query (a query module's function) on a connection of the pool, released
        at once: routes hold no connection while they build their answer."""
        async with self.pool.acquire() as conn:
            return await query(conn, *args, **kwargs)


def deps(request: Request) -> Deps:
    found: Deps = request.state.deps
    return found
