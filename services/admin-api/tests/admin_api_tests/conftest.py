"""admin-api under test: the real app in a real uvicorn server on a free port, against the
session's Postgres database and RabbitMQ vhost."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from admin_api.app import create_app
from admin_api.settings import AdminSettings
from channel_sync.health import EmbeddedServer
from channel_sync_testing.waiting import wait_for
from selenium import webdriver
from starlette.applications import Starlette

from .browser import start_chromium

TOKEN = "admin-test-token-0123456789"
# Nothing listens here: Beds24 calls fail fast unless a test points at the sandbox.
NO_BEDS24 = "http://127.0.0.1:9/api/v2"
CLOSED_AMQP = "amqp://guest:guest@127.0.0.1:9/"


@dataclass
class Admin:
    url: str
    app: Starlette
    settings: AdminSettings

    def client(self, token: str | None = TOKEN) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)


def admin_settings(database_url: str, amqp_url: str, **overrides: Any) -> AdminSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "rabbitmq_url": amqp_url,
        "admin_api_token": TOKEN,
        "retry_delays_ms": [200, 400, 800],
        "beds24_api_url": NO_BEDS24,
        "public_webhook_base_url": "https://sync.example.com",
        "beds24_timeout_s": 5.0,
        **overrides,
    }
    return AdminSettings(**values)


@contextlib.asynccontextmanager
async def serve(settings: AdminSettings) -> AsyncIterator[Admin]:
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    server = EmbeddedServer(config)
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: _started(server, task), timeout=15, what="admin-api start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Admin(f"http://127.0.0.1:{port}", app, settings)
    finally:
        server.should_exit = True
        await task


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> bool:
    if task.done():
        task.result()  # raise the start-up error instead of waiting for the deadline
        raise AssertionError("admin-api stopped during start (see its log)")
    return server.started


@pytest.fixture(scope="session")
def chromium() -> Iterator[webdriver.Chrome]:
    """One headless Chromium for the console's browser tests (see browser.py)."""
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
async def admin(database_url: str, amqp_url: str) -> AsyncIterator[Admin]:
    async with serve(admin_settings(database_url, amqp_url)) as running:
        yield running


@pytest.fixture
async def api(admin: Admin, db: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An authorised client; the tables are emptied after the test (via `db`)."""
    async with admin.client() as client:
        yield client


# Tables of this service's own that the shared `db` fixture does not empty.
OWN_TABLES = "audit_log, console_sessions, operators"


@pytest.fixture
async def db(db: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """The shared `db` (PMS tables emptied after the test), and this service's tables too."""
    yield db
    async with db.acquire() as conn:
        await conn.execute(f"TRUNCATE {OWN_TABLES} CASCADE")
