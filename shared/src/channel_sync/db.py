"""Postgres access: one asyncpg pool per process, JSON codecs, the transaction helper, and
the one place that decides which errors mean "the database is unavailable right now".

Every wait on Postgres has a bound: connecting (CONNECT_TIMEOUT_S), borrowing a pooled
connection (ACQUIRE_TIMEOUT_S, unless the caller passes its own) and each statement
(COMMAND_TIMEOUT_S). After a restart the pool replaces dead connections by itself.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy

from channel_sync.outages import DATABASE_UNAVAILABLE

CONNECT_TIMEOUT_S = 10.0
ACQUIRE_TIMEOUT_S = 30.0
COMMAND_TIMEOUT_S = 30.0
# asyncpg's own default; 0 behind a transaction-mode pooler (`DB_STATEMENT_CACHE_SIZE`).
STATEMENT_CACHE_SIZE = 100

# What means "the database is unavailable right now" is decided in channel_sync.outages,
# the one map of library errors to outages (the HTTP services answer 503, workers retry).
# Unavailable, or Postgres refused the statement: either way the work did not happen.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (*DATABASE_UNAVAILABLE, asyncpg.PostgresError)


def is_database_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, DATABASE_UNAVAILABLE)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def plan_for_these_values(conn: Connection) -> None:
    """For the rest of the caller's transaction, plan each statement for the values it is
    run with. A cached prepared statement is otherwise planned once for good after five
    runs (Postgres's generic plan), for the table sizes of that moment: on tables that grew
    from empty (a new deployment, a backlog) a batch's key lookups (`id = ANY($1)`) stayed
    sequential scans, 5 ms each instead of 0.2 (measured). Worth its planning time for a
    batch's few statements; not set for the many small ones (behind a transaction pooler,
    with no statement cache, every statement is planned this way anyway)."""
    await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")


class BoundedPool(asyncpg.Pool):
    """An asyncpg pool whose `acquire()` never waits without a bound, and which remembers
    its DSN (the relay opens its own LISTEN connection with it)."""

    dsn: str = ""

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        return super().acquire(timeout=ACQUIRE_TIMEOUT_S if timeout is None else timeout)


async def _rollback_if_needed(conn: asyncpg.Connection) -> None:
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    session_state: bool = True,
    statement_cache_size: int = STATEMENT_CACHE_SIZE,
) -> asyncpg.Pool:
    """Open a pool whose connections speak JSON for json/jsonb columns.

    `session_state=False` is for callers that never leave anything on a connection (no
    LISTEN, advisory lock, cursor or SET): a released connection then skips the reset query
    (one round trip and a few statements' work on every release), and is only rolled back
    if a transaction was left open.

    `statement_cache_size=0` when `dsn` is a transaction-mode pooler (PgBouncer): no named
    prepared statement outlives the round trip that uses it."""
    pool = BoundedPool(
        dsn,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        statement_cache_size=statement_cache_size,
        init_size=None,
        min_size=min_size,
        max_size=max_size,
        max_queries=50_000,
        loop=None,
        connect=None,
        setup=None,
        init=_init_connection,
        reset=None if session_state else _rollback_if_needed,
        max_inactive_connection_lifetime=300.0,
        command_timeout=COMMAND_TIMEOUT_S,
        timeout=CONNECT_TIMEOUT_S,
    )
    pool.dsn = dsn
    await pool
    return pool


async def connect(
    dsn: str, *, statement_cache_size: int = STATEMENT_CACHE_SIZE
) -> asyncpg.Connection:
    """A single connection outside any pool (e.g. for LISTEN, which must be given a DSN of
    Postgres itself, not of a transaction pooler), with the same bounds."""
    conn: asyncpg.Connection = await asyncpg.connect(
        dsn,
        timeout=CONNECT_TIMEOUT_S,
        command_timeout=COMMAND_TIMEOUT_S,
        statement_cache_size=statement_cache_size,
    )
    await _init_connection(conn)
    return conn


async def ping(pool: asyncpg.Pool) -> bool:
    try:
        async with pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1", timeout=2)
    except DATABASE_ERRORS:
        return False
    return True


Record = asyncpg.Record
Json = dict[str, Any]
# What repositories accept: a plain connection or one borrowed from the pool.
Connection = asyncpg.Connection | PoolConnectionProxy
