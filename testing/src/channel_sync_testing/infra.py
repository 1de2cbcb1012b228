"""Scratch databases and RabbitMQ virtual hosts for tests and benchmarks."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from channel_sync.migrate import alembic_config


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


def with_vhost(amqp_url: str, vhost: str) -> str:
    parts = urlsplit(amqp_url)
    return urlunsplit(parts._replace(path=f"/{vhost}"))


async def create_database(
    admin_dsn: str, prefix: str = "chsync_test", *, name: str | None = None
) -> tuple[str, str]:
    """A new database on `admin_dsn`'s server, `name` or `prefix` and a random suffix:
    (its name, its DSN)."""
    name = name or f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(with_database(admin_dsn, "postgres"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, with_database(admin_dsn, name)


async def drop_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(with_database(admin_dsn, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def migrate(dsn: str, revision: str = "head", *, down: bool = False) -> None:
    from alembic import command

    config = alembic_config(dsn)
    if down:
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)  # noqa: S603, S607


def create_vhost(user: str = "guest") -> str | None:
    """A fresh vhost with full rights for `user`; None where rabbitmqctl is not available."""
    if shutil.which("rabbitmqctl") is None:
        return None
    vhost = f"chsync-test-{uuid.uuid4().hex[:12]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    return vhost


def delete_vhost(vhost: str) -> None:
    _rabbitmqctl("delete_vhost", vhost)
