"""Webhook secret rotation: add beside the old one, revoke the old; digests only at rest."""

from __future__ import annotations

import hashlib
import uuid

import asyncpg
import httpx

from .factories import insert_property


async def _digests(db: asyncpg.Pool, property_id: uuid.UUID) -> dict[str, tuple[str, bool]]:
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, secret_sha256, revoked_at IS NULL AS active FROM webhook_secrets "
            "WHERE property_id = $1",
            property_id,
        )
    return {str(r["id"]): (r["secret_sha256"], r["active"]) for r in rows}


async def test_rotation_keeps_a_working_secret_at_every_step(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
    base = f"/admin/properties/{prop}/webhook-secrets"

    first = await api.post(base)
    assert first.status_code == 201
    hook = first.json()["webhook"]
    assert hook["url"] == f"https://sync.example.com/webhooks/beds24/{prop}"
    scheme, _, secret = hook["custom_header"].partition(": Bearer ")
    assert scheme == "Authorization" and len(secret) >= 43
    stored = await _digests(db, prop)
    assert stored == {hook["secret_id"]: (hashlib.sha256(secret.encode()).hexdigest(), True)}

    second = (await api.post(base)).json()["webhook"]
    assert second["custom_header"] != hook["custom_header"]
    third = await api.post(base)
    assert third.status_code == 409 and "revoke one first" in third.json()["error"]

    revoked = await api.delete(f"{base}/{hook['secret_id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    again = await api.delete(f"{base}/{hook['secret_id']}")  # idempotent
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]

    last = await api.delete(f"{base}/{second['secret_id']}")
    assert last.status_code == 409 and "last active secret" in last.json()["error"]
    forced = await api.delete(f"{base}/{second['secret_id']}", params={"force": "true"})
    assert forced.status_code == 200
    assert {active for _, active in (await _digests(db, prop)).values()} == {False}

    listed = (await api.get(base)).json()["secrets"]
    assert [s["id"] for s in listed] == [hook["secret_id"], second["secret_id"]]
    assert all(set(s) == {"id", "created_at", "revoked_at"} for s in listed)  # no digests


async def test_secrets_of_another_or_unknown_property(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        mine = await insert_property(conn, "Mine")
        theirs = await insert_property(conn, "Theirs")
    theirs_secret = (await api.post(f"/admin/properties/{theirs}/webhook-secrets")).json()
    secret_id = theirs_secret["webhook"]["secret_id"]
    response = await api.delete(
        f"/admin/properties/{mine}/webhook-secrets/{secret_id}", params={"force": "true"}
    )
    assert response.status_code == 404
    assert (await _digests(db, theirs))[secret_id][1] is True
    assert (await api.post(f"/admin/properties/{uuid.uuid4()}/webhook-secrets")).status_code == 404
    assert (await api.get(f"/admin/properties/{uuid.uuid4()}/webhook-secrets")).status_code == 404
    assert (await api.get("/admin/properties/zzz/webhook-secrets")).status_code == 400
