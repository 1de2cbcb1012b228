"""Mapping a property's PMS rooms and room types to Beds24 rooms (onboarding's third step),
and its rate plans to Beds24 price slots, through the same code as
PUT /admin/properties/{id}/mappings."""

from __future__ import annotations

from channel_sync.beds24.errors import Beds24Error
from channel_sync.pms_calendar import PRICE_SLOTS
from starlette.requests import Request
from starlette.responses import Response

from admin_api.console.forms import filled, path_id, validate
from admin_api.console.render import page, redirect
from admin_api.deps import deps
from admin_api.errors import ApiError, NotFound
from admin_api.queries import mappings, properties
from admin_api.room_mapping import beds24_rooms, replace_mappings
from admin_api.schemas.properties import Beds24Room, Mapping

ROOM_FIELD = "b24_room."
UNIT_FIELD = "b24_unit."
RATE_PLANS_LISTED = "rate_plans_listed"


async def mapping_form(request: Request) -> Response:
    property_id = path_id(request.path_params["property_id"], "property")
    d = deps(request)
    async with d.pool.acquire() as conn:
        info = await properties.get(conn, property_id)
        if info is None:
            raise NotFound(f"There is no property {property_id}.")
        units = await mappings.mappable(conn, property_id)
        plans = await mappings.rate_plans(conn, property_id)
        current = {
            (m.mapping_type, m.internal_id): m for m in await mappings.list_for(conn, property_id)
        }
    rooms: list[Beds24Room] | None = None
    problem = None
    if request.query_params.get("beds24") == "1":  # one Beds24 call, when asked
        try:
            rooms = (await beds24_rooms(d.pool, d.beds24, property_id)).rooms
        except (ApiError, Beds24Error) as exc:
            problem = exc.message if isinstance(exc, ApiError) else f"Beds24: {exc}"
    return page(
        request,
        "mappings.html",
        info=info,
        units=units,
        plans=plans,
        slots=PRICE_SLOTS,
        current=current,
        rooms=rooms,
        problem=problem,
    )


async def save_mappings(request: Request) -> Response:
    property_id = path_id(request.path_params["property_id"], "property")
    values = filled(await request.form())
    given = [
        validate(
            Mapping,
            {
                "mapping_type": kind,
                "internal_id": internal_id,
                "external_id": room,
                "external_unit_id": values.get(f"{UNIT_FIELD}{kind}.{internal_id}"),
            },
        )
        for key, room in values.items()
        if key.startswith(ROOM_FIELD)
        for kind, _, internal_id in [key.removeprefix(ROOM_FIELD).partition(".")]
    ]
    # The form lists every rate plan it knew of: an empty slot there unmaps the plan.
    listed = values.get(RATE_PLANS_LISTED) == "1"
    await replace_mappings(
        deps(request).pool, property_id, given, replace_rate_plans=True if listed else None
    )
    return redirect(f"/console/properties/{property_id}?notice=mapped")
