"""Fixtures every test directory shares: real Postgres and RabbitMQ, isolated per session.

- `database_url`: a database created for this session and migrated to head.
- `db_pool` / `db`: an asyncpg pool on it; `db` also empties the tables after each test.
- `amqp_url`: a RabbitMQ vhost created for this session; `amqp_connection` is connected
  and has the topology declared.
- `settings_env`: environment variables pointing every service at the above.
The Beds24 sandbox fixtures come from the sandbox's pytest plugin.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from channel_sync.amqp.connection import connect
from channel_sync.amqp.topology import declare_topology
from channel_sync.db import create_pool
from channel_sync_testing import infra

pytest_plugins = ["beds24_sandbox.pytest_plugin"]

ADMIN_DSN = os.environ.get(
    "TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BASE_AMQP_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
# Short retry delays keep retry scenarios fast in tests.
TEST_RETRY_DELAYS_MS = [200, 400, 800]

PMS_TABLES = (
    "channel_events, channel_mappings, reservations, rooms, room_types, webhook_secrets, "
    "beds24_properties, beds24_credit_budgets, hotel_settings"
)


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    name, dsn = await infra.create_database(ADMIN_DSN)
    infra.migrate(dsn)
    yield dsn
    await infra.drop_database(ADMIN_DSN, name)


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    vhost = infra.create_vhost()
    if vhost is None:
        yield BASE_AMQP_URL
        return
    yield infra.with_vhost(BASE_AMQP_URL, vhost)
    infra.delete_vhost(vhost)


@pytest.fixture(scope="session")
async def db_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=10)
    yield pool
    await pool.close()


@pytest.fixture
async def db(db_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """The session pool, with every table emptied after the test."""
    yield db_pool
    async with db_pool.acquire() as conn:
        await conn.execute(f"TRUNCATE {PMS_TABLES} CASCADE")


@pytest.fixture
async def amqp_connection(amqp_url: str):  # type: ignore[no-untyped-def]
    connection = await connect(amqp_url, client_name="tests")
    channel = await connection.channel()
    await declare_topology(channel, TEST_RETRY_DELAYS_MS)
    await channel.close()
    yield connection
    await connection.close()


@pytest.fixture
def settings_env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, amqp_url: str
) -> dict[str, str]:
    values = {
        "DATABASE_URL": database_url,
        "RABBITMQ_URL": amqp_url,
        "RETRY_DELAYS_MS": ",".join(str(d) for d in TEST_RETRY_DELAYS_MS),
        "ADMIN_API_TOKEN": "test-admin-token",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


# Fixtures that reach Postgres, RabbitMQ, a running service or the Beds24 sandbox (directly or
# through another fixture). A test using none of them is a unit test: `make test-fast` runs
# those alone (`-m "not infra"`), with both servers' addresses pointed at nothing. A test
# reaching them another way says so itself (`@pytest.mark.infra`).
INFRA_FIXTURES = frozenset(
    {
        "database_url",
        "db_pool",
        "db",
        "amqp_url",
        "amqp_connection",
        "settings_env",
        "beds24_sandbox",
        "beds24_sandbox_server",
        "private_postgres",
        "private_rabbitmq",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INFRA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.infra)
