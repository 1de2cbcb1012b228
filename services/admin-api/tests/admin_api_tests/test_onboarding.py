"""Registering a property against the Beds24 sandbox: invite code or refresh token, the
webhook setup shown once, credentials never shown, the Beds24 room import."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from beds24_sandbox.handle import SandboxHandle
from beds24_sandbox.server import SandboxServer

from .conftest import Admin, admin_settings, serve
from .factories import insert_property, insert_room

ROOMS = [{"name": "Double", "qty": 2}, {"name": "Suite", "qty": 1}]


@pytest.fixture(scope="module")
async def admin_b24(
    database_url: str, amqp_url: str, beds24_sandbox_server: SandboxServer
) -> AsyncIterator[Admin]:
    settings = admin_settings(database_url, amqp_url, beds24_api_url=beds24_sandbox_server.api_url)
    async with serve(settings) as running:
        yield running


@pytest.fixture
async def b24_api(admin_b24: Admin, db: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_b24.client() as client:
        yield client


async def _stored(db: asyncpg.Pool, property_id: str) -> dict[str, Any]:
    async with db.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT beds24_property_id, account_id, refresh_token FROM beds24_properties "
            "WHERE property_id = $1",
            uuid.UUID(property_id),
        )
    assert row is not None
    return dict(row)


async def test_register_with_an_invite_code(
    b24_api: httpx.AsyncClient, db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    seeded = await beds24_sandbox.seed(rooms=ROOMS)
    invite = await beds24_sandbox.new_invite_code(seeded.account.account_id)
    response = await b24_api.post(
        "/admin/properties",
        json={"name": "Hotel Example", "beds24_property_id": seeded.id, "invite_code": invite},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    prop = body["property"]
    assert prop["name"] == "Hotel Example" and prop["beds24_property_id"] == seeded.id
    assert prop["account_id"] == str(seeded.account.account_id)  # from Beds24, not guessed
    assert prop["active_webhook_secrets"] == 1
    hook = body["webhook"]
    assert hook["url"] == f"https://sync.example.com/webhooks/beds24/{prop['property_id']}"
    assert hook["custom_header"].startswith("Authorization: Bearer ")
    secret = hook["custom_header"].removeprefix("Authorization: Bearer ")
    assert {r["name"]: r["qty"] for r in body["beds24_rooms"]} == {"Double": 2, "Suite": 1}

    stored = await _stored(db, prop["property_id"])
    assert stored["refresh_token"] == seeded.account.refresh_token
    assert seeded.account.refresh_token not in response.text
    async with db.acquire() as conn:
        digest = await conn.fetchval("SELECT secret_sha256 FROM webhook_secrets")
    assert digest == hashlib.sha256(secret.encode()).hexdigest()

    # The invite code worked once; the property is now taken.
    again = await b24_api.post(
        "/admin/properties",
        json={"name": "Copy", "beds24_property_id": seeded.id, "invite_code": invite},
    )
    assert again.status_code == 409 and "registered to property" in again.json()["error"]
    listed = (await b24_api.get("/admin/properties")).json()["properties"]
    assert [p["name"] for p in listed] == ["Hotel Example"]


async def test_register_an_existing_property_with_a_refresh_token(
    b24_api: httpx.AsyncClient, db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    seeded = await beds24_sandbox.seed(rooms=ROOMS)
    async with db.acquire() as conn:
        existing = await insert_property(conn, "Already in the PMS")
    response = await b24_api.post(
        "/admin/properties",
        json={
            "property_id": str(existing),
            "beds24_property_id": seeded.id,
            "refresh_token": seeded.account.refresh_token,
            "account_id": "acct-explicit",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["property"]["property_id"] == str(existing)
    assert (await _stored(db, str(existing)))["account_id"] == "acct-explicit"
    twice = await b24_api.post(
        "/admin/properties",
        json={
            "property_id": str(existing),
            "beds24_property_id": seeded.id + 1,
            "refresh_token": seeded.account.refresh_token,
        },
    )
    assert twice.status_code == 409 and "already" in twice.json()["error"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "X", "beds24_property_id": 1}, 400, "exactly one of"),
        (
            {"name": "X", "beds24_property_id": 1, "invite_code": "a", "refresh_token": "b"},
            400,
            "exactly one of",
        ),
        ({"beds24_property_id": 1, "refresh_token": "b"}, 400, "name is required"),
        ({"name": "X", "beds24_property_id": 0, "refresh_token": "b"}, 400, "'beds24_property_id'"),
        # Sent to Beds24 in a header: visible ASCII only (other text was once a 500).
        ({"name": "X", "beds24_property_id": 1, "invite_code": "\u00e9"}, 400, "'invite_code'"),
        ({"name": "X", "beds24_property_id": 1, "refresh_token": "a b"}, 400, "'refresh_token'"),
        (
            {"name": "X", "beds24_property_id": 1, "refresh_token": "b", "colour": "red"},
            400,
            "'colour'",
        ),
        (
            {"property_id": str(uuid.uuid4()), "beds24_property_id": 1, "refresh_token": "b"},
            404,
            "no property",
        ),
    ],
)
async def test_requests_refused_before_asking_beds24(
    b24_api: httpx.AsyncClient,
    beds24_sandbox: SandboxHandle,
    body: dict[str, Any],
    status: int,
    message: str,
) -> None:
    response = await b24_api.post("/admin/properties", json=body)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert await beds24_sandbox.calls() == []


async def test_refused_credentials_and_invisible_properties(
    b24_api: httpx.AsyncClient, db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    seeded = await beds24_sandbox.seed()
    other = await beds24_sandbox.seed()
    bad_invite = await b24_api.post(
        "/admin/properties",
        json={"name": "X", "beds24_property_id": seeded.id, "invite_code": "no-such-code"},
    )
    assert bad_invite.status_code == 422  # well-formed; Beds24 refuses it
    assert "invite code" in bad_invite.json()["error"]
    assert "no-such-code" not in bad_invite.text
    foreign = await b24_api.post(
        "/admin/properties",
        json={
            "name": "X",
            "beds24_property_id": other.id,
            "refresh_token": seeded.account.refresh_token,
        },
    )
    assert foreign.status_code == 422 and "not visible" in foreign.json()["error"]
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM hotel_settings") == 0


async def test_beds24_outage_is_a_502_and_writes_nothing(
    b24_api: httpx.AsyncClient, db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    seeded = await beds24_sandbox.seed()
    await beds24_sandbox.inject_fault("http_500", count=5)
    response = await b24_api.post(
        "/admin/properties",
        json={
            "name": "X",
            "beds24_property_id": seeded.id,
            "refresh_token": seeded.account.refresh_token,
        },
    )
    assert response.status_code == 502 and response.json()["error"].startswith("Beds24")
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM beds24_properties") == 0


async def test_room_import_shows_what_is_mapped(
    b24_api: httpx.AsyncClient, db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    seeded = await beds24_sandbox.seed(rooms=ROOMS)
    registered = (
        await b24_api.post(
            "/admin/properties",
            json={
                "name": "H",
                "beds24_property_id": seeded.id,
                "refresh_token": seeded.account.refresh_token,
            },
        )
    ).json()
    property_id = registered["property"]["property_id"]
    double = next(r for r in seeded.rooms if r["name"] == "Double")
    async with db.acquire() as conn:
        room = await insert_room(conn, uuid.UUID(property_id), "101")
    mapped = await b24_api.put(
        f"/admin/properties/{property_id}/mappings",
        json={
            "mappings": [
                {"mapping_type": "room", "internal_id": str(room), "external_id": str(double["id"])}
            ]
        },
    )
    assert mapped.status_code == 200
    rooms = (await b24_api.get(f"/admin/properties/{property_id}/beds24-rooms")).json()
    assert rooms["beds24_property_id"] == seeded.id
    by_name = {r["name"]: r for r in rooms["rooms"]}
    assert by_name["Double"]["id"] == double["id"] and by_name["Double"]["qty"] == 2
    assert by_name["Double"]["mapped_to"] == [str(room)]
    assert by_name["Suite"]["mapped_to"] == []

    async with db.acquire() as conn:
        unlinked = await insert_property(conn, "No Beds24")
    missing = await b24_api.get(f"/admin/properties/{unlinked}/beds24-rooms")
    assert missing.status_code == 404 and "not registered" in missing.json()["error"]


async def test_replacing_credentials(
    b24_api: httpx.AsyncClient, db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    seeded = await beds24_sandbox.seed()
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        await conn.execute(
            "INSERT INTO beds24_properties (property_id, beds24_property_id, account_id, "
            "refresh_token) VALUES ($1, $2, 'old-account', 'expired-token')",
            prop,
            seeded.id,
        )
    stale = await b24_api.get(f"/admin/properties/{prop}/beds24-rooms")
    assert stale.status_code == 502 and "/credentials" in stale.json()["error"]
    invite = await beds24_sandbox.new_invite_code(seeded.account.account_id)
    replaced = await b24_api.put(
        f"/admin/properties/{prop}/credentials", json={"invite_code": invite}
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["account_id"] == str(seeded.account.account_id)
    assert (await _stored(db, str(prop)))["refresh_token"] == seeded.account.refresh_token
    assert (await b24_api.get(f"/admin/properties/{prop}/beds24-rooms")).status_code == 200


async def _budget(db: asyncpg.Pool, account_id: str) -> float | None:
    async with db.acquire() as conn:
        remaining = await conn.fetchval(
            "SELECT remaining FROM beds24_credit_budgets WHERE account_id = $1", account_id
        )
    return None if remaining is None else float(remaining)


async def test_credits_spent_go_into_the_accounts_shared_budget(
    b24_api: httpx.AsyncClient, db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    seeded = await beds24_sandbox.seed(rooms=ROOMS)
    account_id = str(seeded.account.account_id)
    invite = await beds24_sandbox.new_invite_code(seeded.account.account_id)
    registered = await b24_api.post(
        "/admin/properties",
        json={"name": "H", "beds24_property_id": seeded.id, "invite_code": invite},
    )
    assert registered.status_code == 201, registered.text
    # The account became known from Beds24's answer; the budget holds what Beds24 says is left.
    left = (await beds24_sandbox.credits(seeded.account.account_id))["remaining"]
    assert await _budget(db, account_id) == pytest.approx(left)

    async with db.acquire() as conn:
        await conn.execute("DELETE FROM beds24_credit_budgets")
    property_id = registered.json()["property"]["property_id"]
    rooms = await b24_api.get(f"/admin/properties/{property_id}/beds24-rooms")
    assert rooms.status_code == 200
    left = (await beds24_sandbox.credits(seeded.account.account_id))["remaining"]
    assert await _budget(db, account_id) == pytest.approx(left)
