"""A hostile run against the webhook gateway and the admin-api (loopback only, bounded).

Serves both apps in this process on free local ports, against a scratch database and
RabbitMQ vhost, with the services' JSON logging at INFO captured to a file. Then sends
HOSTILE_REQUESTS requests (default 6000; seeded, so every run sends the same) of the kinds
hostile clients send: ids and counts past what the PMS columns hold, deep nesting, lone
surrogates, NUL, non-finite and huge numbers, times that overflow in UTC, malformed V1
pings, bad or missing secrets, and hostile admin-api parameters. Every body carries a guest
marker. Prints, and exits non-zero unless all are 0:
  - answers of 5xx,
  - rows stored from unauthenticated requests,
  - guest values in any log: ours, and the local Postgres server log (where readable).

Usage: uv run --frozen python -m channel_sync_tools.hostile_run (`make hostile`)
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from admin_api.app import create_app as create_admin
from admin_api.settings import AdminSettings
from channel_sync.logging import configure_logging
from channel_sync_testing import infra
from webhook_gateway.app import create_app as create_gateway
from webhook_gateway.settings import GatewaySettings

from channel_sync_tools.onboarding import register_directly
from channel_sync_tools.paths import LOGS, ROOT
from channel_sync_tools.stack import SCRATCH_ADMIN_DSN, SCRATCH_AMQP, serve_app

REQUESTS = int(os.environ.get("HOSTILE_REQUESTS", "6000"))
CONCURRENCY = 16
SEED = 13
POSTGRES_LOG = Path("/var/log/postgresql/postgresql-15-main.log")
SECRET = "hostile-run-secret"  # noqa: S105 - a throwaway stack's secret
ADMIN_TOKEN = "hostile-run-admin-token"  # noqa: S105 - a throwaway stack's token
BEDS24_PROPERTY_ID = 4242
GUESTS = ["Qwzrtplk Guestname", "77 Vrexhaven Street", "guest.qwzrtplk@example.invalid", "Vrexhavn"]
UNAUTHENTICATED_IDS = range(8_000_000, 9_000_000)


def booking(
    rng: random.Random, booking_id: int | str | None = None, **fields: Any
) -> dict[str, Any]:
    return {
        "id": booking_id if booking_id is not None else rng.randrange(1, 5_000_000),
        "propertyId": BEDS24_PROPERTY_ID,
        "roomId": 5001,
        "status": "confirmed",
        "arrival": "2031-05-01",
        "departure": "2031-05-04",
        "numAdult": 2,
        "lastName": GUESTS[0],
        "address": GUESTS[1],
        "email": GUESTS[2],
        "modifiedTime": "2031-04-01T10:00:00Z",
        **fields,
    }


def raw_webhook(rng: random.Random, extra: str) -> bytes:
    """A webhook whose booking gets `extra` (raw JSON text) spliced in as more fields, right
    after a short guest value (Postgres quotes the few characters before a JSON error)."""
    text = json.dumps({"booking": booking(rng)})
    return (text[:-2] + f', "city": "{GUESTS[3]}", ' + extra + "}}").encode()


def hostile_body(rng: random.Random) -> bytes:
    kinds: list[Callable[[], bytes]] = [
        lambda: json.dumps(
            {"booking": booking(rng, rng.choice([2**63, 2**64, 10**30, -1, 0]))}
        ).encode(),
        lambda: json.dumps(
            {"booking": booking(rng, numAdult=rng.choice([2**63, 2**31, -1]))}
        ).encode(),
        lambda: json.dumps({"booking": booking(rng, roomId=rng.choice([-5, 2**63]))}).encode(),
        lambda: json.dumps({"booking": booking(rng, str(rng.randrange(1, 999)))}).encode(),
        lambda: raw_webhook(rng, '"x": ' + "[" * rng.randrange(33, 1200) + "]" * 0),
        lambda: raw_webhook(rng, '"x": ' + "[" * (d := rng.randrange(33, 1200)) + "]" * d),
        lambda: raw_webhook(rng, '"firstName": "\\ud800"'),
        lambda: raw_webhook(rng, '"firstName": "a\\udfff' + GUESTS[0] + '"'),
        lambda: raw_webhook(rng, '"\\ud83d": "' + GUESTS[1] + '"'),
        lambda: raw_webhook(rng, '"comments": "' + GUESTS[0] + '\\u0000"'),
        lambda: raw_webhook(rng, '"a\\u0000": 1'),
        lambda: raw_webhook(
            rng, '"price": ' + rng.choice(["1e400", "-1e400", "NaN", "Infinity", "1e12"])
        ),
        lambda: raw_webhook(rng, '"custom": ' + "9" * rng.randrange(20, 6000)),
        lambda: raw_webhook(
            rng,
            '"modifiedTime": "'
            + rng.choice(["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "99999"])
            + '"',
        ),
        lambda: raw_webhook(rng, '"arrival": ' + rng.choice(["63491920", '"10000-01-01"', '"x"'])),
        lambda: raw_webhook(rng, '"lastName": "\xff' + GUESTS[0] + '"').replace(
            b"\xc3\xbf", b"\xff"
        ),
        lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))),
        lambda: json.dumps([{"booking": booking(rng)}] * 101).encode(),
    ]
    return rng.choice(kinds)()


def hostile_ping(rng: random.Random) -> str:
    return "bookid=" + rng.choice(
        ["%20%201", "1_000", "%2B1", "1.0", "%EF%BC%91", "9" * 25, "0", "-3", "", "0x1f", "1e3"]
    )


def hostile_admin(rng: random.Random) -> tuple[str, str, dict[str, str]]:
    return rng.choice(
        [
            ("GET", "/admin/properties", {"offset": str(2**63 + rng.randrange(100))}),
            ("GET", "/admin/properties", {"limit": "1_0"}),
            ("GET", "/admin/events", {"until": str(rng.randrange(10**9))}),
            ("GET", "/admin/events", {"since": "9999-12-31T23:59:59-01:00"}),
            ("GET", "/admin/events", {"event_type": GUESTS[0] + "\x00"}),
            ("GET", "/admin/events", {"property_id": "12345678123456781234567812345678"}),
            ("GET", "/admin/events/not-a-uuid", {}),
            ("OPTIONS", "/admin/properties", {}),
            ("PATCH", "/admin/events", {}),
            ("POST", "/admin/events/retry", {"limit": "99999999999999999999999"}),
        ]
    )


async def main() -> int:
    log_file = LOGS / "hostile-run.log"
    log_file.parent.mkdir(exist_ok=True)
    pg_log_start = _size(POSTGRES_LOG)
    name, dsn = await infra.create_database(SCRATCH_ADMIN_DSN, prefix="chsync_hostile")
    vhost = infra.create_vhost()
    amqp = infra.with_vhost(SCRATCH_AMQP, vhost) if vhost else SCRATCH_AMQP
    try:
        infra.migrate(dsn)
        with log_file.open("w") as log:
            configure_logging("INFO", "hostile-run")
            handler = logging.getLogger().handlers[0]
            assert isinstance(handler, logging.StreamHandler)
            handler.setStream(log)
            property_id = await register_directly(dsn, "Hostile", BEDS24_PROPERTY_ID, SECRET)
            async with (
                serve_app(create_gateway(_gateway_settings(dsn, amqp)), "gateway") as gateway,
                serve_app(create_admin(_admin_settings(dsn, amqp)), "admin-api") as admin,
            ):
                statuses, took = await _attack(gateway, admin, property_id)
            handler.flush()
        unauthenticated_rows = await _unauthenticated_rows(dsn)
    finally:
        await infra.drop_database(SCRATCH_ADMIN_DSN, name)
        if vhost:
            infra.delete_vhost(vhost)
    ours = log_file.read_text(errors="replace")
    theirs = _since(POSTGRES_LOG, pg_log_start)
    in_ours = sum(ours.count(g) for g in GUESTS)
    in_postgres = sum(theirs.count(g) for g in GUESTS)
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    answers = dict(sorted(statuses.items()))
    print(f"hostile run: {sum(statuses.values())} requests in {took:.1f}s, answers {answers}")
    print(f"  answers of 5xx:                     {server_errors}")
    print(f"  rows from unauthenticated requests: {unauthenticated_rows}")
    where = f"{log_file.relative_to(ROOT)}, {len(ours.splitlines())} lines"
    print(f"  guest values in our logs:           {in_ours} ({where})")
    postgres = "not readable" if pg_log_start < 0 else f"{in_postgres}"
    print(f"  guest values in Postgres's log:     {postgres}")
    return 1 if server_errors or unauthenticated_rows or in_ours or in_postgres else 0


async def _attack(gateway: str, admin: str, property_id: UUID) -> tuple[Counter[int], float]:
    rng = random.Random(SEED)
    path = f"/webhooks/beds24/{property_id}"
    good = {"Authorization": f"Bearer {SECRET}"}
    plan: list[tuple[str, str, dict[str, str], bytes | None, dict[str, str] | None]] = []
    for _ in range(REQUESTS):
        roll = rng.random()
        if roll < 0.55:
            plan.append(("POST", gateway + path, good, hostile_body(rng), None))
        elif roll < 0.70:  # a fine body, but no or a wrong secret: must never be stored
            auth = rng.choice([{}, {"Authorization": "Bearer wrong"}, {"Authorization": SECRET}])
            body = json.dumps({"booking": booking(rng, rng.choice(UNAUTHENTICATED_IDS))}).encode()
            plan.append(("POST", gateway + path, auth, body, None))
        elif roll < 0.80:
            plan.append(("GET", f"{gateway}{path}?{hostile_ping(rng)}", good, None, None))
        elif roll < 0.85:
            method = rng.choice(["PUT", "DELETE", "HEAD", "OPTIONS"])
            plan.append((method, gateway + path, good, None, None))
        else:
            method, admin_path, params = hostile_admin(rng)
            auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            plan.append((method, admin + admin_path, auth, None, params))
    statuses: Counter[int] = Counter()
    queue: asyncio.Queue[tuple[str, str, dict[str, str], bytes | None, dict[str, str] | None]]
    queue = asyncio.Queue()
    for item in plan:
        queue.put_nowait(item)

    async def sender(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            method, url, headers, body, params = queue.get_nowait()
            response = await client.request(
                method, url, headers=headers, content=body, params=params
            )
            statuses[response.status_code] += 1

    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(sender(client) for _ in range(CONCURRENCY)))
    return statuses, time.monotonic() - started


async def _unauthenticated_rows(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        count: int = await conn.fetchval(
            """SELECT count(*) FROM channel_events
               WHERE entity_external_id ~ '^[0-9]{1,18}$'
                 AND entity_external_id::bigint BETWEEN $1 AND $2""",
            UNAUTHENTICATED_IDS.start,
            UNAUTHENTICATED_IDS.stop - 1,
        )
    finally:
        await conn.close()
    return count


# Settings as the environment would give them (text, validated by the settings).
def _gateway_settings(dsn: str, amqp: str) -> GatewaySettings:
    values: dict[str, Any] = {"database_url": dsn, "rabbitmq_url": amqp}
    return GatewaySettings(**values)


def _admin_settings(dsn: str, amqp: str) -> AdminSettings:
    values: dict[str, Any] = {
        "database_url": dsn,
        "rabbitmq_url": amqp,
        "admin_api_token": ADMIN_TOKEN,
        "beds24_api_url": "http://127.0.0.1:9/api/v2",
        "public_webhook_base_url": "https://sync.example.com",
    }
    return AdminSettings(**values)


def _size(path: Path) -> int:
    """-1 where the file is not readable."""
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _since(path: Path, offset: int) -> str:
    if offset < 0:
        return ""
    with path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
