"""Postgres through PgBouncer in transaction pooling, as deployed: the OS package's pgbouncer
runs the deployment's own pgbouncer.ini (deploy/base/pgbouncer.yaml) with a small cap, in
front of a database of its own (so that every connection Postgres sees for it is counted).

- A named prepared statement does not outlive its transaction there, which is why the
  services run with DB_STATEMENT_CACHE_SIZE=0.
- The shared pool runs many concurrent transactions holding advisory locks on no more
  server connections than the cap, whatever its own size.
- The gateway and both workers, pooled through it (LISTEN on Postgres itself), carry a
  booking each way; Postgres never sees more than the cap plus their LISTEN connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from beds24_sandbox.handle import SandboxHandle
from channel_sync.db import connect as connect_db
from channel_sync.db import create_pool
from channel_sync_testing import infra
from channel_sync_testing.pgbouncer import PrivatePgBouncer, deployed_ini, pgbouncer_binary
from channel_sync_testing.waiting import sampled_while, wait_for

from tests.conftest import book, connect, ours, stack

pytestmark = pytest.mark.infra

DEPLOYED = Path(__file__).resolve().parent.parent / "deploy" / "base" / "pgbouncer.yaml"
CAP = 4  # max_db_connections here: far fewer than the clients below
USER, PASSWORD = "postgres", "pooled-test"  # the test server trusts loopback logins
ARRIVAL = date.today() + timedelta(days=50)


@dataclass
class Pooled:
    bouncer: PrivatePgBouncer
    database: str
    direct: str  # Postgres itself
    admin: str  # Postgres's `postgres` database, to watch pg_stat_activity

    @property
    def pooled(self) -> str:
        return self.bouncer.dsn(self.database)


@pytest.fixture
async def pooled(database_url: str) -> AsyncIterator[Pooled]:
    binary = pgbouncer_binary()
    if binary is None:
        reason = "pgbouncer is not installed (make setup installs it: scripts/ensure-infra.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    admin = infra.with_database(database_url, "postgres")
    name, direct = await infra.create_database(admin, prefix="chsync_pgbouncer")
    try:
        await asyncio.to_thread(infra.migrate, direct)
        host = f"host=127.0.0.1 port={urlsplit(direct).port or 5432} dbname={name}"
        bouncer = PrivatePgBouncer(
            binary,
            deployed_ini(DEPLOYED),
            databases={
                name: host,
                "single": f"{host} pool_size=1",
                "pair": f"{host} pool_size=2",
            },
            users={USER: PASSWORD},
            settings={"max_db_connections": str(CAP), "default_pool_size": str(CAP)},
        )
        try:
            bouncer.start()
            await wait_for(lambda: _quiet(admin, name), what="the migration's backend gone")
            yield Pooled(bouncer, name, direct, admin)
        finally:
            bouncer.remove()
    finally:
        await infra.drop_database(admin, name)


@dataclass
class Peaks:
    backends: int = 0  # connections Postgres has for the database (pg_stat_activity)
    servers: int = 0  # PgBouncer's server connections
    samples: int = 0
    listening: list[asyncpg.Record] = field(default_factory=list)


@contextlib.asynccontextmanager
async def watching(pooled: Pooled) -> AsyncIterator[Peaks]:
    """Peaks of what Postgres and PgBouncer hold for the database, sampled while the block
    runs (and once more at its end)."""
    peaks = Peaks()
    admin = await asyncpg.connect(pooled.admin)

    async def sample() -> None:
        backends = await admin.fetch(
            """SELECT pid, client_port, query FROM pg_stat_activity
               WHERE datname = $1 AND backend_type = 'client backend'""",
            pooled.database,
        )
        pools = await pooled.bouncer.show("POOLS")
        [pool] = [p for p in pools if p["database"] == pooled.database]
        servers = sum(pool[k] for k in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login"))
        peaks.backends = max(peaks.backends, len(backends))
        peaks.servers = max(peaks.servers, servers)
        peaks.samples += 1
        peaks.listening = [b for b in backends if b["query"].startswith("LISTEN ")]

    try:
        async with sampled_while(sample, 0.02):
            yield peaks
    finally:
        await admin.close()


async def test_a_named_prepared_statement_does_not_outlive_its_transaction(
    pooled: Pooled,
) -> None:
    async def second_use(cache: int) -> object:
        """A statement used, its server then taken by another client's transaction, and the
        statement used again (on the other server of `pair`)."""
        pair = pooled.bouncer.dsn("pair")
        client = await connect_db(pair, statement_cache_size=cache)
        other = await connect_db(pair, statement_cache_size=cache)
        try:
            await client.fetchval("SELECT $1::int", 1)
            async with other.transaction():
                await other.execute("SELECT 1")  # holds the server the first use ran on
                return await client.fetchval("SELECT $1::int", 2)
        finally:
            await client.close()
            await other.close()

    with pytest.raises(asyncpg.InvalidSQLStatementNameError):
        await second_use(100)  # asyncpg's default: "prepared statement ... does not exist"
    assert await second_use(0) == 2  # the services' setting: unnamed statements

    # Two clients, one server connection (`single`): pooling, not one server per client.
    single = pooled.bouncer.dsn("single")
    first = await connect_db(single, statement_cache_size=0)
    second = await connect_db(single, statement_cache_size=0)
    try:
        pids = {await c.fetchval("SELECT pg_backend_pid()") for c in (first, second)}
        assert len(pids) == 1
        assert await second.fetchval("SELECT $1::jsonb", {"a": 1}) == {"a": 1}
    finally:
        await first.close()
        await second.close()


async def test_the_shared_pool_runs_many_transactions_on_few_server_connections(
    pooled: Pooled,
) -> None:
    direct = await asyncpg.connect(pooled.direct)
    try:
        await direct.execute(
            "CREATE TABLE pool_probe (id int PRIMARY KEY, n int NOT NULL, seen jsonb NOT NULL)"
        )
        await direct.execute("INSERT INTO pool_probe VALUES (1, 0, '[]')")
    finally:
        await direct.close()  # from here on, only PgBouncer's connections reach the database
    await wait_for(lambda: _quiet(pooled.admin, pooled.database), what="the backend gone")
    pool = await create_pool(pooled.pooled, min_size=1, max_size=20, statement_cache_size=0)
    tasks = 120

    async def increment(i: int) -> None:
        # Read, then write: without the transaction's advisory lock, increments would be
        # lost; it lasts exactly as long as the transaction, the pooler's unit.
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('pool_probe'))")
            row = await conn.fetchrow("SELECT n, seen FROM pool_probe WHERE id = 1")
            await conn.execute(
                "UPDATE pool_probe SET n = $1, seen = $2 WHERE id = 1",
                row["n"] + 1,
                [*row["seen"], i][-5:],
            )

    try:
        async with watching(pooled) as peaks:
            await asyncio.gather(*(increment(i) for i in range(tasks)))
        clients = pool.get_size()
        async with pool.acquire() as conn:
            n, seen = await conn.fetchrow("SELECT n, seen FROM pool_probe WHERE id = 1")
    finally:
        await pool.close()

    assert n == tasks  # every transaction ran whole, one at a time
    assert len(seen) == 5 and set(seen) <= set(range(tasks))  # JSON both ways
    assert clients > CAP, f"the pool opened {clients} client connections"
    assert peaks.samples > 1
    assert 1 <= peaks.servers <= CAP
    assert 1 <= peaks.backends <= CAP


async def test_the_services_carry_bookings_both_ways_within_the_cap(
    pooled: Pooled,
    amqp_url: str,
    beds24_sandbox: SandboxHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in {
        "DATABASE_URL": pooled.pooled,
        "DATABASE_LISTEN_URL": pooled.direct,
        "DB_STATEMENT_CACHE_SIZE": "0",
        "RABBITMQ_URL": amqp_url,
        "RETRY_DELAYS_MS": "200,400,800",
        "ADMIN_API_TOKEN": "test-admin-token",
    }.items():
        monkeypatch.setenv(key, value)
    pool = await create_pool(pooled.pooled, min_size=1, max_size=4, statement_cache_size=0)
    try:
        # The outbound relay polls once a minute here: only its NOTIFY, on the direct
        # LISTEN connection, can wake it in time for the PMS booking below.
        async with (
            watching(pooled) as peaks,
            stack(beds24_sandbox, relay_poll_interval_s=60.0) as gateway_url,
        ):
            site = await connect(pool, beds24_sandbox, gateway_url, name="Pooled Hotel")
            # Beds24 -> PMS: webhook, gateway (group commit), inbound worker (advisory locks).
            made = await beds24_sandbox.guest_booking(
                site.room_id, ARRIVAL, ARRIVAL + timedelta(days=2)
            )
            await wait_for(
                lambda: _reservation(pool, made["id"]),
                timeout=30,
                what="the Beds24 booking in the PMS",
            )
            # PMS -> Beds24: trigger, NOTIFY, relay, outbound worker (advisory locks).
            reservation = await book(pool, site.property_id, ARRIVAL + timedelta(days=5), "Hopper")
            await wait_for(
                lambda: ours(beds24_sandbox, reservation),
                timeout=30,
                what="the PMS booking in Beds24",
            )
            await wait_for(lambda: _all_done(pool), timeout=30, what="every event done")
            servers = {s["local_port"] for s in await pooled.bouncer.show("SERVERS")}
            listening = list(peaks.listening)
    finally:
        await pool.close()

    # The gateway's secret cache and the two relays listen on Postgres itself.
    assert len(listening) == 3, listening
    assert not {b["client_port"] for b in listening} & servers
    assert 1 <= peaks.servers <= CAP
    assert peaks.backends <= CAP + len(listening)


async def _quiet(admin_dsn: str, database: str) -> bool:
    """No client connection to `database` left (a closed one's backend exits shortly after)."""
    admin = await asyncpg.connect(admin_dsn)
    try:
        count = await admin.fetchval(
            """SELECT count(*) FROM pg_stat_activity
               WHERE datname = $1 AND backend_type = 'client backend'""",
            database,
        )
    finally:
        await admin.close()
    return count == 0


async def _reservation(pool: asyncpg.Pool, booking_id: int) -> asyncpg.Record | None:
    async with pool.acquire() as conn:
        row: asyncpg.Record | None = await conn.fetchrow(
            "SELECT * FROM reservations WHERE beds24_booking_id = $1", booking_id
        )
        return row


async def _all_done(pool: asyncpg.Pool) -> bool:
    async with pool.acquire() as conn:
        statuses = {r["status"] for r in await conn.fetch("SELECT status FROM channel_events")}
    return statuses == {"done"}
