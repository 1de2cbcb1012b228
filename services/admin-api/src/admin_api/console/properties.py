"""Properties: health at a glance, room and rate plan mappings, the mapped Beds24 rooms (each
with its calendar page), the live inventory holds (read-only), webhook secret rotation, and
onboarding a new property step by step; all through the code the /admin/properties routes
use."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin_api.console.forms import filled, path_id, validate
from admin_api.console.render import page, redirect
from admin_api.deps import deps
from admin_api.errors import BadRequest, NotFound
from admin_api.queries import calendar, health, holds, mappings, properties, secrets
from admin_api.rotation import add_secret, revoke_secret
from admin_api.schemas.properties import PropertyInfo, RegisterProperty
from admin_api.webhook_secret import webhook_url

# Live holds shown on the property page, oldest first (the total is always shown); the
# JSON route /admin/properties/{id}/holds lists more.
HOLDS_SHOWN = 100


async def list_properties(request: Request) -> Response:
    found = await deps(request).query(health.list_health)
    return page(request, "properties.html", properties=found)


async def show_property(request: Request) -> Response:
    property_id = path_id(request.path_params["property_id"], "property")
    d = deps(request)
    async with d.pool.acquire() as conn:
        found = await health.health_of(conn, property_id)
        if found is None:
            raise NotFound(f"There is no property {property_id}.")
        room_mappings = await mappings.list_for(conn, property_id)
        listed = await secrets.list_for(conn, property_id)
        rooms = await calendar.mapped_rooms(conn, property_id)
        live_holds, holds_total = await holds.live(conn, property_id, HOLDS_SHOWN)
    return page(
        request,
        "property.html",
        p=found,
        mappings=room_mappings,
        rooms=rooms,
        holds=live_holds,
        holds_total=holds_total,
        secrets=listed,
        webhook_url=webhook_url(d.settings.public_webhook_base_url, property_id),
        notice=request.query_params.get("notice"),
    )


async def rotate_secret(request: Request) -> Response:
    """A new secret beside the current one, shown this once."""
    property_id = path_id(request.path_params["property_id"], "property")
    d = deps(request)
    secret, secret_id, _ = await add_secret(d.pool, property_id)
    return page(
        request,
        "new_secret.html",
        property_id=property_id,
        url=webhook_url(d.settings.public_webhook_base_url, property_id),
        header=secret.header_line,
        secret_id=secret_id,
    )


async def revoke(request: Request) -> Response:
    property_id = path_id(request.path_params["property_id"], "property")
    secret_id = path_id(request.path_params["secret_id"], "secret")
    force = (await request.form()).get("force") == "1"
    await revoke_secret(deps(request).pool, property_id, secret_id, force=force)
    return redirect(f"/console/properties/{property_id}?notice=revoked")


async def onboarding_form(request: Request) -> Response:
    return page(request, "onboard.html", values={}, step=1, unconnected=await _unconnected(request))


async def _unconnected(request: Request) -> list[PropertyInfo]:
    """PMS properties not registered with Beds24 yet: onboarding may pick one of them."""
    listed = await deps(request).query(properties.list_page, limit=1000, offset=0)
    return [p for p in listed if p.beds24_property_id is None]


async def onboard(request: Request) -> Response:
    """Step 1 done: Beds24 is asked, the property stored; step 2 shows the webhook set-up."""
    form = await request.form()
    values = filled(form, skip=frozenset({"csrf_token"}))
    kind = values.pop("credential_kind", "invite_code")
    secret = values.pop("credential", None)
    if kind not in ("invite_code", "refresh_token"):
        raise BadRequest("Choose an invite code or a refresh token.")
    values["poll_enabled"] = "true" if values.pop("poll_enabled", None) == "1" else "false"
    shown = {k: v for k, v in values.items()}  # re-filled on error; never the credential
    try:
        body = validate(RegisterProperty, {**values, kind: secret})
        d = deps(request)
        property_id, new_secret, secret_id, rooms = await d.onboarding.register(body)
    except BadRequest as exc:
        unconnected = await _unconnected(request)
        return page(
            request,
            "onboard.html",
            400,
            values=shown,
            step=1,
            error=exc.message,
            unconnected=unconnected,
        )
    return page(
        request,
        "onboarded.html",
        step=2,
        property_id=property_id,
        url=webhook_url(d.settings.public_webhook_base_url, property_id),
        header=new_secret.header_line,
        secret_id=secret_id,
        rooms=rooms,
    )
