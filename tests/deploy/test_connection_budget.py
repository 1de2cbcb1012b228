"""The Postgres connection budget (docs/operations.md, "Postgres connections") holds in the
manifests and the compose file: PgBouncer caps the server connections, every service pools
through it without named prepared statements, LISTEN goes to Postgres itself, and the sum
stays within 40 at the peak (3 replicas of each worker)."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from . import _kustomize as kz
from ._repo import COMPOSE_FILE, DEPLOY, POOLER, SERVICE_BY_NAME, load_yaml

PEAK_LIMIT = 40  # Postgres connections at the peak, all together
WORKER_PEAK_REPLICAS = 3  # the peak: 3 replicas of each worker
POSTGRES_MAX_CONNECTIONS = 100  # Postgres's default max_connections
SUPERUSER_RESERVED = 3  # Postgres's default superuser_reserved_connections (for operators)
MIGRATION = 1  # the migration Job, while it runs (straight to Postgres)
# Direct connections of one replica: the relay's LISTEN in each worker, the secret cache's
# LISTEN in the gateway. The admin API listens to nothing.
LISTEN = {"webhook-gateway": 1, "inbound-worker": 1, "outbound-worker": 1, "admin-api": 0}
WORKERS = ("inbound-worker", "outbound-worker")


def waiting_holders(service: str, pool_max: int) -> int:
    """Transactions of one replica that can hold a server connection while they wait for a
    second one (through PgBouncer both come from the same server pool)."""
    if service == "outbound-worker":
        # One per account in flight (`outbound_worker.app`: (DB_POOL_MAX_SIZE - 2) // 2): its
        # batch holds the entity locks' transaction while it works on other connections.
        return max(1, (pool_max - 2) // 2)
    if service == "inbound-worker":
        return 2  # the poller's and the sync runner's transactions, over their Beds24 calls
    if service == "admin-api":
        return 1  # an operator action, conservatively
    return 0  # the gateway: single statements


def ini(text: str) -> dict[str, str]:
    """`key = value` lines of a PgBouncer ini (comments and sections left out)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("%include"):
            values["%include"] = line.split(None, 1)[1]
        elif line and line[0] not in ";#[" and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@cache
def base() -> tuple[dict[str, Any], ...]:
    return tuple(kz.build(DEPLOY / "base"))


def named(kind: str, name: str) -> dict[str, Any]:
    [found] = [r for r in base() if r["kind"] == kind and r["metadata"]["name"] == name]
    return found


def env(deployment: str) -> dict[str, dict[str, Any]]:
    [container] = kz.containers(named("Deployment", deployment))
    return {e["name"]: e for e in container.get("env", [])}


def pool_max(service: str) -> int:
    return int(env(service)["DB_POOL_MAX_SIZE"]["value"])


def server_cap() -> int:
    return int(
        ini(named("ConfigMap", "pgbouncer-config")["data"]["pgbouncer.ini"])["max_db_connections"]
    )


def replicas_at_most(service: str) -> int:
    if service in WORKERS:
        return int(named("ScaledObject", service)["spec"]["maxReplicaCount"])
    if service == "webhook-gateway":
        return int(named("HorizontalPodAutoscaler", service)["spec"]["maxReplicas"])
    return int(named("Deployment", service)["spec"]["replicas"])


def test_pgbouncer_pools_transactions_alike_in_kubernetes_and_compose() -> None:
    deployed = ini(named("ConfigMap", "pgbouncer-config")["data"]["pgbouncer.ini"])
    composed = ini(load_yaml(COMPOSE_FILE)["configs"]["pgbouncer-ini"]["content"])
    assert deployed == composed
    assert deployed["pool_mode"] == "transaction"
    # One server pool (one database, one user): its size is the cap, no reserve beyond it.
    assert deployed["default_pool_size"] == deployed["max_db_connections"]
    assert deployed["reserve_pool_size"] == "0"
    assert deployed["%include"] == "/etc/pgbouncer/databases.ini"
    # Every client connection at the most replicas finds a place.
    clients = sum(
        replicas_at_most(s) * (pool_max(s) + (2 if s == "webhook-gateway" else 0))
        for s in SERVICE_BY_NAME
    )
    assert clients <= int(deployed["max_client_conn"])


def test_the_services_reach_postgres_through_pgbouncer_and_listen_directly() -> None:
    config = named("ConfigMap", "channel-sync-config")["data"]
    assert config["DB_STATEMENT_CACHE_SIZE"] == "0"  # no named prepared statements
    service = named("Service", POOLER)
    assert [p["port"] for p in service["spec"]["ports"]] == [6432]
    for name in SERVICE_BY_NAME:
        given = env(name)
        assert given["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_URL"
        # Only a service that listens gets the direct DSN.
        assert ("DATABASE_LISTEN_URL" in given) == (LISTEN[name] > 0), name
        # No one process can want more than the whole server pool.
        assert 1 <= pool_max(name) <= server_cap(), name


def postgres_connections(replicas: dict[str, int]) -> int:
    return server_cap() + sum(LISTEN[s] * n for s, n in replicas.items()) + MIGRATION


def test_postgres_connections_at_the_peak_stay_within_the_limit() -> None:
    peak = {s: replicas_at_most(s) for s in SERVICE_BY_NAME} | dict.fromkeys(
        WORKERS, WORKER_PEAK_REPLICAS
    )
    # 22 through PgBouncer + 3 + 3 worker LISTENs + 10 gateway LISTENs + the migration = 39.
    assert postgres_connections(peak) <= PEAK_LIMIT


@pytest.mark.parametrize("service", WORKERS)
def test_the_workers_scale_no_further_than_the_peak(service: str) -> None:
    assert replicas_at_most(service) <= WORKER_PEAK_REPLICAS


def test_at_the_most_replicas_waiting_transactions_leave_a_server_connection_free() -> None:
    # Were every server connection held by a transaction waiting for another one, they
    # would wait on each other until their timeouts: one must stay for the rest.
    waiting = sum(replicas_at_most(s) * waiting_holders(s, pool_max(s)) for s in SERVICE_BY_NAME)
    assert waiting <= server_cap() - 1


def test_at_the_most_replicas_postgres_keeps_its_reserved_connections() -> None:
    most = {s: replicas_at_most(s) for s in SERVICE_BY_NAME}
    assert postgres_connections(most) <= POSTGRES_MAX_CONNECTIONS - SUPERUSER_RESERVED
