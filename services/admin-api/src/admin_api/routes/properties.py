"""/admin/properties: register with Beds24, list, inspect, replace credentials."""

from __future__ import annotations

from uuid import UUID

from channel_sync.beds24.links import link_of
from starlette.requests import Request
from starlette.responses import Response

from admin_api.audit import audit_of
from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.errors import NotFound, Unprocessable
from admin_api.parsing import parse_query, path_uuid, read_json
from admin_api.queries import properties
from admin_api.schemas.properties import (
    Credentials,
    ListQuery,
    PropertyInfo,
    PropertyList,
    Registered,
    RegisterProperty,
    WebhookSetup,
)
from admin_api.webhook_secret import webhook_url


async def register_property(request: Request) -> Response:
    """Beds24 is asked before anything is stored: credentials it refuses, or a property it
    does not show with them, are a 422 and leave nothing behind."""
    body = await read_json(request, RegisterProperty)
    d = deps(request)
    property_id, secret, secret_id, rooms = await d.onboarding.register(body)
    audit_of(request).property_id = property_id
    info = await _info(request, property_id)
    webhook = WebhookSetup(
        url=webhook_url(d.settings.public_webhook_base_url, property_id),
        custom_header=secret.header_line,
        secret_id=secret_id,
    )
    return answer(Registered(property=info, webhook=webhook, beds24_rooms=rooms), status=201)


async def list_properties(request: Request) -> Response:
    query = parse_query(request, ListQuery)
    found = await deps(request).query(properties.list_page, limit=query.limit, offset=query.offset)
    return answer(PropertyList(properties=found))


async def get_property(request: Request) -> Response:
    return answer(await _info(request, path_uuid(request, "property_id")))


async def replace_credentials(request: Request) -> Response:
    """New Beds24 credentials for a registered property (e.g. its refresh token expired);
    credentials Beds24 refuses, or that do not show the property, are a 422."""
    property_id = path_uuid(request, "property_id")
    body = await read_json(request, Credentials)
    d = deps(request)
    link = await d.query(link_of, property_id)
    if link is None:
        raise NotFound(f"property {property_id} is not registered with Beds24")
    refresh_token, setup = await d.onboarding.credentials(body)
    view = await d.beds24.look_up(
        refresh_token,
        link.beds24_property_id,
        account_id=link.account.account_id,
        setup=setup,
        with_owner=True,
    )
    if view.found is None:
        raise Unprocessable(
            f"Beds24 property {link.beds24_property_id} is not visible with these credentials"
        )
    await d.query(properties.replace_credentials, property_id, refresh_token, view.owner_id)
    return answer(await _info(request, property_id))


async def _info(request: Request, property_id: UUID) -> PropertyInfo:
    info = await deps(request).query(properties.get, property_id)
    if info is None:
        raise NotFound(f"no property {property_id}")
    return info


ENDPOINTS = [
    Endpoint(
        "POST",
        "/admin/properties",
        register_property,
        "Register a property with Beds24 (invite code or refresh token); answers the "
        "webhook URL and header with a new secret, shown once",
        body=RegisterProperty,
        response=Registered,
        status=201,
        errors=(400, 404, 409, 422, 502, 503),
        action="property.register",
    ),
    Endpoint(
        "GET",
        "/admin/properties",
        list_properties,
        "Properties and their Beds24 links",
        query=ListQuery,
        response=PropertyList,
        errors=(400,),
    ),
    Endpoint(
        "GET",
        "/admin/properties/{property_id}",
        get_property,
        "One property",
        response=PropertyInfo,
        errors=(400, 404),
    ),
    Endpoint(
        "PUT",
        "/admin/properties/{property_id}/credentials",
        replace_credentials,
        "Replace the Beds24 credentials of a registered property",
        body=Credentials,
        response=PropertyInfo,
        errors=(400, 404, 422, 502, 503),
        action="property.credentials.replace",
    ),
]
