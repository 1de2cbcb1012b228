"""The admin-api Starlette app: routes, middleware, error mapping, and the lifespan that
opens (and closes) the Postgres pool, the RabbitMQ link and the Beds24 HTTP client."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from channel_sync.amqp.link import BrokerLink
from channel_sync.beds24.credit_budget import CreditBudget
from channel_sync.db import create_pool, ping
from channel_sync.health import health_routes
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from admin_api.auth import AdminAuthMiddleware, Authenticator
from admin_api.beds24_access import Beds24Access
from admin_api.console import console_routes
from admin_api.deps import Deps
from admin_api.endpoint import Endpoint
from admin_api.endpoint import routes as endpoint_routes
from admin_api.errors import EXCEPTION_HANDLERS
from admin_api.limits import BodyLimitMiddleware
from admin_api.onboarding import Onboarding
from admin_api.openapi import openapi_route
from admin_api.queries.events import EventAdmin
from admin_api.requeue import Requeuer
from admin_api.routes import (
    audit,
    calendar,
    dead_letters,
    dlq,
    events,
    health,
    holds,
    mappings,
    operators,
    properties,
    secrets,
    stats,
    stays,
    sync,
)
from admin_api.settings import AdminSettings
from admin_api.telemetry import RequestMetricsMiddleware

ENDPOINTS: list[Endpoint] = [
    *events.ENDPOINTS,
    *stats.ENDPOINTS,
    *dlq.ENDPOINTS,
    *dead_letters.ENDPOINTS,
    *properties.ENDPOINTS,
    *secrets.ENDPOINTS,
    *mappings.ENDPOINTS,
    *calendar.ENDPOINTS,
    *sync.ENDPOINTS,
    *stays.ENDPOINTS,
    *holds.ENDPOINTS,
    *health.ENDPOINTS,
    *operators.ENDPOINTS,
    *audit.ENDPOINTS,
]


def create_app(settings: AdminSettings) -> Starlette:
    holder: dict[str, Deps] = {}

    async def readiness() -> dict[str, bool]:
        d = holder.get("deps")
        if d is None:
            return {"postgres": False, "rabbitmq": False}
        return {"postgres": await ping(d.pool), "rabbitmq": d.amqp.connected}

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Deps]]:
        async with _open_deps(settings) as d:
            holder["deps"] = d
            yield {"deps": d}
            holder.clear()

    routes: list[BaseRoute] = [
        *endpoint_routes(ENDPOINTS),
        *health_routes(readiness),
        openapi_route(ENDPOINTS, max_body_bytes=settings.max_body_bytes),
        *console_routes(settings),  # HTML pages; not in the JSON API's OpenAPI document
    ]
    middleware = [
        Middleware(RequestMetricsMiddleware),
        Middleware(AdminAuthMiddleware),
        Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=dict(EXCEPTION_HANDLERS),
        lifespan=lifespan,
    )


@contextlib.asynccontextmanager
async def _open_deps(settings: AdminSettings) -> AsyncIterator[Deps]:
    pool = await create_pool(
        settings.dsn,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        statement_cache_size=settings.db_statement_cache_size,
    )
    link = BrokerLink(
        settings.rabbitmq_url,
        client_name="admin-api",
        retry_delays_ms=settings.retry_delays_ms,
        publish_timeout_s=settings.amqp_publish_timeout_s,
    )
    http = httpx.AsyncClient()
    try:
        await link.start(wait_s=settings.amqp_start_wait_s)
        repository = EventAdmin()
        # Records only: an operator's call is never held back for credits.
        budget = CreditBudget(pool, reserve=0, max_wait_s=0)
        beds24 = Beds24Access(
            settings.beds24_api_url, budget, http=http, timeout_s=settings.beds24_timeout_s
        )
        yield Deps(
            settings=settings,
            pool=pool,
            amqp=link,
            events=repository,
            requeuer=Requeuer(pool, link, repository, hold_s=settings.retry_publish_hold_s),
            beds24=beds24,
            onboarding=Onboarding(pool, beds24),
            authenticator=Authenticator(settings.admin_api_token.get_secret_value()),
        )
    finally:
        await http.aclose()
        await link.close()
        await pool.close()
