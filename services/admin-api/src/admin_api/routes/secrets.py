"""/admin/properties/{id}/webhook-secrets: rotation without a gap.

Create a new secret (both work), paste it into Beds24, then revoke the old one. At most two
are active at once, and the last active one is revoked only with `force=true` (without a
secret every webhook of the property would be refused).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.errors import Conflict, NotFound
from admin_api.parsing import parse_query, path_uuid
from admin_api.queries import properties, secrets
from admin_api.schemas.properties import (
    NewSecret,
    RevokeOptions,
    SecretInfo,
    SecretList,
    WebhookSetup,
)
from admin_api.webhook_secret import NewSecret as GeneratedSecret
from admin_api.webhook_secret import webhook_url

logger = logging.getLogger(__name__)

MAX_ACTIVE = 2


async def list_secrets(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    async with deps(request).pool.acquire() as conn:
        if await properties.get(conn, property_id) is None:
            raise NotFound(f"no property {property_id}")
        return answer(SecretList(secrets=await secrets.list_for(conn, property_id)))


async def add_secret(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    d = deps(request)
    secret = GeneratedSecret.generate()
    async with d.pool.acquire() as conn, conn.transaction():
        if not await properties.lock(conn, property_id):
            raise NotFound(f"no property {property_id}")
        if await secrets.count_active(conn, property_id) >= MAX_ACTIVE:
            raise Conflict(f"{MAX_ACTIVE} secrets are active already; revoke one first")
        secret_id = await secrets.add(conn, property_id, secret.digest)
        listed = await secrets.list_for(conn, property_id)
    logger.info("webhook secret %s added to property %s", secret_id, property_id)
    webhook = WebhookSetup(
        url=webhook_url(d.settings.public_webhook_base_url, property_id),
        custom_header=secret.header_line,
        secret_id=secret_id,
    )
    return answer(NewSecret(webhook=webhook, secrets=listed), status=201)


async def revoke_secret(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    secret_id = path_uuid(request, "secret_id")
    force = parse_query(request, RevokeOptions).force
    async with deps(request).pool.acquire() as conn, conn.transaction():
        if not await properties.lock(conn, property_id):
            raise NotFound(f"no property {property_id}")
        found = await secrets.get(conn, property_id, secret_id)
        if found is None:
            raise NotFound(f"property {property_id} has no webhook secret {secret_id}")
        if found.revoked_at is None:
            if not force and await secrets.count_active(conn, property_id) <= 1:
                raise Conflict(
                    "this is the last active secret: Beds24 webhooks would be "
                    "refused; add a new one first, or pass force=true"
                )
            await secrets.revoke(conn, property_id, secret_id)
            logger.info("webhook secret %s of property %s revoked", secret_id, property_id)
        revoked = await secrets.get(conn, property_id, secret_id)
    assert revoked is not None
    return answer(revoked)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/admin/properties/{property_id}/webhook-secrets",
        list_secrets,
        "Webhook secrets of a property (ids and dates only)",
        response=SecretList,
        errors=(400, 404),
    ),
    Endpoint(
        "POST",
        "/admin/properties/{property_id}/webhook-secrets",
        add_secret,
        "Add a webhook secret beside the current one (shown once)",
        response=NewSecret,
        status=201,
        errors=(400, 404, 409),
    ),
    Endpoint(
        "DELETE",
        "/admin/properties/{property_id}/webhook-secrets/{secret_id}",
        revoke_secret,
        "Revoke a webhook secret (idempotent)",
        query=RevokeOptions,
        response=SecretInfo,
        errors=(400, 404, 409),
    ),
]
