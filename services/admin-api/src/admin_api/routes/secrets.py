"""/admin/properties/{id}/webhook-secrets: rotation without a gap (see admin_api.rotation)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin_api import rotation
from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.errors import NotFound
from admin_api.parsing import parse_query, path_uuid
from admin_api.queries import properties, secrets
from admin_api.schemas.properties import (
    NewSecret,
    RevokeOptions,
    SecretInfo,
    SecretList,
    WebhookSetup,
)
from admin_api.webhook_secret import webhook_url


async def list_secrets(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    async with deps(request).pool.acquire() as conn:
        if await properties.get(conn, property_id) is None:
            raise NotFound(f"no property {property_id}")
        return answer(SecretList(secrets=await secrets.list_for(conn, property_id)))


async def add_secret(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    d = deps(request)
    secret, secret_id, listed = await rotation.add_secret(d.pool, property_id)
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
    revoked = await rotation.revoke_secret(deps(request).pool, property_id, secret_id, force=force)
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
        action="property.webhook_secret.add",
    ),
    Endpoint(
        "DELETE",
        "/admin/properties/{property_id}/webhook-secrets/{secret_id}",
        revoke_secret,
        "Revoke a webhook secret (idempotent)",
        query=RevokeOptions,
        response=SecretInfo,
        errors=(400, 404, 409),
        action="property.webhook_secret.revoke",
    ),
]
