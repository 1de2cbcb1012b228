"""Onboarding end to end: a property registered through the admin API with a Beds24 invite
code; the webhook URL and header it answers are pasted into Beds24 (the sandbox); a guest
booking then reaches the webhook-gateway, is accepted and shows in the admin event listing.
Rotating the secret keeps webhooks accepted; the revoked secret is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from admin_api.app import create_app as create_admin_app
from admin_api.settings import AdminSettings
from beds24_sandbox.handle import SandboxHandle
from channel_sync_testing.waiting import wait_for
from webhook_gateway.app import create_app as create_gateway_app
from webhook_gateway.settings import GatewaySettings

from tests.conftest import Running, serving

TOKEN = "e2e-admin-token"
ARRIVAL = date.today() + timedelta(days=20)


@pytest.fixture
async def gateway(settings_env: dict[str, str], db: asyncpg.Pool) -> AsyncIterator[Running]:
    async with serving(create_gateway_app(GatewaySettings()), {}) as running:
        yield running


@pytest.fixture
async def admin(
    settings_env: dict[str, str], beds24_sandbox: SandboxHandle, gateway: Running
) -> AsyncIterator[httpx.AsyncClient]:
    settings = AdminSettings(
        admin_api_token=TOKEN,
        beds24_api_url=beds24_sandbox.url,
        public_webhook_base_url=gateway.url,
    )
    async with serving(create_admin_app(settings), {"Authorization": f"Bearer {TOKEN}"}) as a:
        yield a.client


async def _inbound_events(admin: httpx.AsyncClient, property_id: str) -> list[dict[str, Any]]:
    body = (
        await admin.get(
            "/admin/events", params={"property_id": property_id, "direction": "inbound"}
        )
    ).json()
    return list(body["events"])


async def test_onboarded_property_receives_webhooks_with_the_returned_header(
    admin: httpx.AsyncClient, gateway: Running, beds24_sandbox: SandboxHandle
) -> None:
    seeded = await beds24_sandbox.seed(rooms=[{"name": "Double", "qty": 2}])
    invite = await beds24_sandbox.new_invite_code(seeded.account.account_id)
    registered = await admin.post(
        "/admin/properties",
        json={"name": "Webhook Hotel", "beds24_property_id": seeded.id, "invite_code": invite},
    )
    assert registered.status_code == 201, registered.text
    hook = registered.json()["webhook"]
    property_id = registered.json()["property"]["property_id"]
    assert hook["url"] == f"{gateway.url}/webhooks/beds24/{property_id}"

    # What the operator pastes into Beds24.
    await beds24_sandbox.update_property(
        seeded.id,
        webhook={
            "urls": [hook["url"]],
            "custom_header": hook["custom_header"],
            "version": "twoWithPersonalData",
        },
    )
    booking = await beds24_sandbox.guest_booking(
        seeded.room_ids[0], ARRIVAL, ARRIVAL + timedelta(days=2), lastName="Guest"
    )

    [event] = await wait_for(
        lambda: _inbound_events(admin, property_id), timeout=15, what="the webhook stored"
    )
    assert event["entity_external_id"] == str(booking["id"])
    # The sandbox logs a delivery once it has read the answer, a moment after the row commits.
    deliveries = await wait_for(
        lambda: beds24_sandbox.webhooks(booking_id=booking["id"]), what="the delivery logged"
    )
    assert {d["status_code"] for d in deliveries} == {200}

    # Rotation: a second secret works beside the first; once the first is revoked, it fails.
    rotated = (await admin.post(f"/admin/properties/{property_id}/webhook-secrets")).json()
    new_header = rotated["webhook"]["custom_header"]
    old_auth = {"Authorization": hook["custom_header"].removeprefix("Authorization: ")}
    new_auth = {"Authorization": new_header.removeprefix("Authorization: ")}
    ping = f"/webhooks/beds24/{property_id}"
    params = {"bookid": str(booking["id"]), "status": "modify"}
    assert (await gateway.client.get(ping, params=params, headers=old_auth)).status_code == 200
    assert (await gateway.client.get(ping, params=params, headers=new_auth)).status_code == 200
    revoked = await admin.delete(
        f"/admin/properties/{property_id}/webhook-secrets/{hook['secret_id']}"
    )
    assert revoked.status_code == 200

    async def old_refused() -> bool:
        answer = await gateway.client.get(ping, params=params, headers=old_auth)
        return answer.status_code == 401

    # The gateway caches secrets and drops them on Postgres's change notice: moments.
    await wait_for(old_refused, timeout=3, what="the revoked secret refused")
    assert (await gateway.client.get(ping, params=params, headers=new_auth)).status_code == 200
