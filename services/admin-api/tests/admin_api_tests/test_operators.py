"""Named operator accounts: created, listed and revoked through the API and the command line;
each authenticates with its own secret (never stored, never listed); a viewer reads but
changes nothing; the admin token keeps working as its own identity."""

from __future__ import annotations

import asyncio
import os
import re
from importlib.metadata import entry_points
from typing import Any

import asyncpg
import httpx
import pytest
from admin_api.app import ENDPOINTS
from admin_api.operators_cli import main as operators_cli
from channel_sync.events import EventStatus

from .conftest import Admin
from .factories import insert_event, insert_property, make_operator

SECRET = re.compile(r"cs_[a-z0-9]{12}_[A-Za-z0-9_-]{43}")


async def test_accounts_are_created_listed_and_revoked_through_the_api(
    admin: Admin, api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    created = await api.post("/admin/operators", json={"name": "alice", "role": "operator"})
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["secret"]
    assert SECRET.fullmatch(secret)
    assert body["operator"]["name"] == "alice" and body["operator"]["created_by"] == "admin-token"
    async with db.acquire() as conn:
        stored = await conn.fetchval("SELECT secret_hash FROM operators WHERE name = 'alice'")
    assert stored.startswith("$argon2id$") and secret not in stored  # a hash, never the secret

    listed = await api.get("/admin/operators")
    assert [o["name"] for o in listed.json()["operators"]] == ["alice"]
    assert secret not in listed.text and "hash" not in listed.text

    async with admin.client(secret) as alice:
        assert (await alice.get("/admin/stats")).status_code == 200
        assert (await alice.get("/admin/operators")).status_code == 200
    async with admin.client(secret[:-1] + ("A" if secret[-1] != "A" else "B")) as wrong:
        assert (await wrong.get("/admin/stats")).status_code == 401

    revoked = await api.post(f"/admin/operators/{body['operator']['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_by"] == "admin-token"
    again = await api.post(f"/admin/operators/{body['operator']['id']}/revoke")
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]  # idempotent
    async with admin.client(secret) as alice:
        assert (await alice.get("/admin/stats")).status_code == 401  # at once
    active = await api.get("/admin/operators", params={"include_revoked": "false"})
    assert active.json() == {"operators": []}


async def test_bad_accounts_are_refused_and_nothing_is_stored(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    await make_operator(db, "Bob", "viewer")
    for body, status in [
        ({"name": "bob", "role": "operator"}, 409),  # names are unique whatever the case
        ({"name": "Admin-Token", "role": "operator"}, 409),  # the admin token's name
        ({"name": "x", "role": "operator"}, 400),
        ({"name": "has space", "role": "viewer"}, 400),
        ({"name": "carol", "role": "admin"}, 400),
        ({"name": "carol"}, 400),
        ({"name": "carol", "role": "viewer", "secret": "mine"}, 400),
    ]:
        response = await api.post("/admin/operators", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]
    assert (
        await api.post(f"/admin/operators/{'0' * 8}-0000-4000-8000-{'0' * 12}/revoke")
    ).status_code == 404
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT array_agg(name) FROM operators") == ["Bob"]


async def test_a_viewer_can_read_but_every_change_is_refused_and_recorded(
    admin: Admin, api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        hotel = await insert_property(conn)
        failed = await insert_event(conn, hotel, status=EventStatus.FAILED, last_error="boom")
    secret = await make_operator(db, "vera", "viewer")
    changes = [e for e in ENDPOINTS if e.action is not None]
    assert len(changes) >= 14
    async with admin.client(secret) as vera:
        assert (await vera.get("/admin/events")).status_code == 200
        for endpoint in changes:
            path = endpoint.path.replace("{event_id}", str(failed.id))
            path = re.sub(r"{property_id}", str(hotel), path)
            path = re.sub(r"{\w+}", "00000000-0000-4000-8000-000000000000", path)
            response = await vera.request(endpoint.method, path, json={"replay": True})
            assert response.status_code == 403, (endpoint.method, path, response.text)
            assert "viewer" in response.json()["error"]
    async with db.acquire() as conn:
        event = await conn.fetchrow(
            "SELECT status, attempts FROM channel_events WHERE id = $1", failed.id
        )
        assert dict(event) == {"status": "failed", "attempts": 0}
        assert await conn.fetchval("SELECT count(*) FROM operators") == 1
        refused = await conn.fetch(
            "SELECT actor, outcome, status, action FROM audit_log ORDER BY id"
        )
    assert len(refused) == len(changes)
    assert {(r["actor"], r["outcome"], r["status"]) for r in refused} == {("vera", "refused", 403)}
    assert {r["action"] for r in refused} == {e.action for e in changes}


async def test_the_command_line_creates_lists_and_revokes(
    admin: Admin,
    database_url: str,
    db: asyncpg.Pool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scripts = entry_points(group="console_scripts", name="admin-api-operators")
    assert [s.value for s in scripts] == ["admin_api.operators_cli:main"]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("ADMIN_API_TOKEN", raising=False)  # not needed to manage accounts

    async def cli(*args: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(operators_cli, list(args))
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = await cli("create", "carol", "--role", "operator")
    assert code == 0
    secret = next(line for line in out.splitlines() if SECRET.fullmatch(line))
    async with admin.client(secret) as carol:
        assert (await carol.get("/admin/stats")).status_code == 200
    code, _, err = await cli("create", "carol", "--role", "viewer")
    assert code == 1 and "exists" in err
    code, _, err = await cli("create", "c d", "--role", "viewer")
    assert code == 2 and "name" in err
    code, out, _ = await cli("list")
    assert code == 0 and "carol\toperator\tactive" in out and secret not in out
    code, out, _ = await cli("revoke", "carol")
    assert code == 0 and "revoked" in out
    async with admin.client(secret) as carol:
        assert (await carol.get("/admin/stats")).status_code == 401
    code, _, err = await cli("revoke", "nobody")
    assert code == 1 and "no operator" in err
    async with db.acquire() as conn:
        trail = await conn.fetch("SELECT via, action, outcome, actor FROM audit_log ORDER BY id")
    assert [(r["via"], r["action"], r["outcome"]) for r in trail] == [
        ("cli", "operator.create", "success"),
        ("cli", "operator.create", "refused"),
        ("cli", "operator.revoke", "success"),
        ("cli", "operator.revoke", "refused"),
    ]
    assert all(r["actor"].startswith("cli:") for r in trail)
    assert os.environ.get("ADMIN_API_TOKEN") is None


async def test_secrets_never_reach_the_logs(
    admin: Admin, db: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    async with admin.client() as api:
        created = await api.post("/admin/operators", json={"name": "dora", "role": "viewer"})
    secret = created.json()["secret"]
    async with admin.client(secret) as dora:
        await dora.get("/admin/events")
        await dora.post("/admin/dlq/sweep")
    ours: list[Any] = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    token = admin.settings.admin_api_token.get_secret_value()
    assert not [r for r in ours if secret in r.getMessage() or secret in str(r.__dict__)]
    assert not [r for r in ours if token in r.getMessage() or token in str(r.__dict__)]
